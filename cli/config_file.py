"""Read a training config file (JSON or YAML) onto the one schema, ``core.training_config``.

Three shapes are accepted:
- our saved-config JSON (or the same sections written in YAML);
- the saved-config wrapper ``{"name": ..., "config": {...}}``;
- the short form many fine-tuning scripts use (``model_name``, ``learning_rate``, ``lora: {r, alpha}``,
  ``train_file``...), whose keys are mapped onto our sections. Each mapped key leaves a note saying where it
  went, so nothing is silently reinterpreted; short keys may be mixed with full sections.

Every problem is collected (with its path in the file) before anything runs: a bad file lists them all at
once. No Flask here: the file is checked before the app is built.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.training_config import ConfigValidationError, TrainingConfig, parse_config

# Where ``train_file`` points until the CLI registers it as a dataset and knows its ``dataset:<id>``.
PENDING_SOURCE = "builtin:arithmetic"


@dataclass
class LoadedConfig:
    """A validated config, plus what the CLI must still do: register ``train_file``, copy to ``output_dir``."""

    config: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    train_file: Path | None = None
    output_dir: Path | None = None


class ConfigFileError(ValueError):
    """Every problem of a config file: ``errors`` holds ``{"path", "message", "hint"}`` dicts."""

    def __init__(self, errors: list[dict[str, str]]):
        super().__init__("; ".join(f"{e['path'] or '(file)'}: {e['message']}" for e in errors))
        self.errors = errors


def _error(path: str, message: str, hint: str = "") -> dict[str, str]:
    return {"path": path, "message": message, "hint": hint}


# short key -> [(section, field), ...] and the note that explains the mapping
SHORT_KEYS: dict[str, tuple[list[tuple[str, str]], str]] = {
    "model_name": ([("model", "name")], "model.name"),
    "per_device_train_batch_size": ([("training", "batch_size"), ("pre_training", "batch_size")],
                                    "training.batch_size (GRPO prompts per step) and pre_training.batch_size (SFT)"),
    "learning_rate": ([("training", "learning_rate"), ("pre_training", "learning_rate")],
                      "training.learning_rate (GRPO) and pre_training.learning_rate (SFT)"),
    "num_train_epochs": ([("training", "num_epochs"), ("pre_training", "epochs")],
                         "training.num_epochs (GRPO) and pre_training.epochs (SFT)"),
    "max_seq_length": ([("training", "max_sequence_length")], "training.max_sequence_length"),
}
LORA_KEYS = {"r": "lora_rank", "alpha": "lora_alpha", "dropout": "lora_dropout", "target_modules": "target_modules"}
OTHER_SHORT_KEYS = ("output_dir", "train_file", "lora")


def read_file(path: Path) -> Any:
    """The parsed document; raises ConfigFileError for a missing or unparsable file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigFileError([_error("", f"cannot read {path}: {exc.strerror or exc}")]) from None
    if path.suffix.lower() == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigFileError([_error("", f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})")
                                   ]) from None
    import yaml  # YAML 1.1 via PyYAML; JSON documents parse as YAML too

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise ConfigFileError([_error("", f"not valid YAML: {getattr(exc, 'problem', None) or exc}{where}")]
                              ) from None


def _set(config: dict, section: str, name: str, value: Any, source: str, errors: list,
         origin: dict[str, str]) -> None:
    target = config.setdefault(section, {})
    if not isinstance(target, dict):
        errors.append(_error(section, "must be a mapping of fields", "Write it as 'section: {field: value}'."))
        return
    if name in target and target[name] != value:
        errors.append(_error(source, f"conflicts with {section}.{name} given in the file",
                             "Give the value once, either in the short form or in its section."))
        return
    target[name] = value
    origin[f"{section}.{name}"] = source


def _map_short_form(data: dict, base: Path, errors: list,
                    origin: dict[str, str]) -> tuple[dict, list[str], Path | None, Path | None]:
    """Move the short-form keys of ``data`` into our sections; returns (config, notes, train_file, output_dir)."""
    config = {k: v for k, v in data.items() if k not in SHORT_KEYS and k not in OTHER_SHORT_KEYS}
    notes: list[str] = []
    for key, (targets, where) in SHORT_KEYS.items():
        if key in data:
            for section, name in targets:
                _set(config, section, name, data[key], key, errors, origin)
            notes.append(f"{key} -> {where}")
    lora = data.get("lora")
    if lora is not None:
        if not isinstance(lora, dict):
            errors.append(_error("lora", "must be a mapping such as {enabled: true, r: 16, alpha: 32}"))
        else:
            if lora.get("enabled", True) is not True:
                errors.append(_error("lora.enabled", "training without LoRA (full fine-tuning) is not offered by "
                                     "this engine yet", "Set lora.enabled to true or leave it out."))
            for key, value in lora.items():
                if key == "enabled":
                    continue
                if key not in LORA_KEYS:
                    errors.append(_error(f"lora.{key}", "unknown LoRA key", f"Use: enabled, {', '.join(LORA_KEYS)}."))
                    continue
                _set(config, "model", LORA_KEYS[key], value, f"lora.{key}", errors, origin)
                notes.append(f"lora.{key} -> model.{LORA_KEYS[key]}")
    train_file = output_dir = None
    if "train_file" in data:
        value = data["train_file"]
        if not isinstance(value, str) or not value.strip():
            errors.append(_error("train_file", "must be the path of a JSONL/JSON/CSV/Parquet file"))
        else:
            train_file = (base / value).expanduser().resolve()
            if not train_file.is_file():
                errors.append(_error("train_file", f"no file at {train_file}",
                                     "Paths are relative to the config file's folder."))
            if "source" in (config.get("dataset") or {}):
                errors.append(_error("train_file", "conflicts with dataset.source given in the file",
                                     "Name the data once."))
            notes.append(f"train_file -> registered as a dataset (like an upload) and used as dataset.source; "
                         f"each epoch reads all its rows (training.samples_per_epoch and pre_training.max_samples: "
                         f"null)")
            if isinstance(config.setdefault("training", {}), dict):
                config["training"].setdefault("samples_per_epoch", None)
            if isinstance(config.setdefault("pre_training", {}), dict):
                config["pre_training"].setdefault("max_samples", None)
    if "output_dir" in data:
        value = data["output_dir"]
        if not isinstance(value, str) or not value.strip():
            errors.append(_error("output_dir", "must be a folder path"))
        else:
            output_dir = (base / value).expanduser().resolve()
            notes.append(f"output_dir -> the run trains in the session folder (outputs/<session id>/, where the "
                         f"studio and `sessions` see it); its final adapter is copied to {output_dir}")
    return config, notes, train_file, output_dir


def load_config(path: str | Path, overrides: dict[str, Any] | None = None) -> LoadedConfig:
    """Read, map and validate ``path``. ``overrides`` (e.g. ``{"name": "x"}``) apply on top.

    Raises :class:`ConfigFileError` with every problem found.
    """
    path = Path(path)
    data = read_file(path)
    if not isinstance(data, dict):
        raise ConfigFileError([_error("", "the file must hold a mapping of sections (or short-form keys)")])
    notes: list[str] = []
    if isinstance(data.get("config"), dict) and set(data) <= {"name", "config"}:
        notes.append("saved-config wrapper {name, config}: using its config")
        data = {**data["config"], **({"name": data["name"]} if data.get("name") else {})}
    errors: list[dict[str, str]] = []
    origin: dict[str, str] = {}  # "section.field" -> the short key it came from, to report errors where written
    config, short_notes, train_file, output_dir = _map_short_form(data, path.parent, errors, origin)
    notes += short_notes
    if train_file is not None:
        config.setdefault("dataset", {})
        if isinstance(config["dataset"], dict):
            config["dataset"]["source"] = PENDING_SOURCE
    config.setdefault("name", path.stem)
    for key, value in (overrides or {}).items():
        config[key] = value
    try:
        validated: TrainingConfig | None = parse_config(config)
    except ConfigValidationError as exc:
        validated = None
        errors += [{**e, "path": f"{origin[e['path']]} (as {e['path']})"} if e["path"] in origin else e
                   for e in exc.errors]
    if errors:
        raise ConfigFileError(_dedupe(errors))
    assert validated is not None
    return LoadedConfig(validated.model_dump(mode="json"), notes, train_file, output_dir)


def _dedupe(errors: list[dict[str, str]]) -> list[dict[str, str]]:
    seen, unique = set(), []
    for error in errors:
        key = (error["path"].split(" (as ")[0], error["message"])
        if key not in seen:
            seen.add(key)
            unique.append(error)
    return unique


def format_errors(errors: list[dict[str, str]]) -> str:
    """One line per error: ``path: message (hint)``."""
    lines = []
    for error in errors:
        hint = f" ({error['hint']})" if error.get("hint") else ""
        lines.append(f"  {error.get('path') or '(file)'}: {error['message']}{hint}")
    return "\n".join(lines)
