"""Saved training configs: pretty JSON files in ``configs/`` (users keep them in git), metadata in the database,
and the shipped read-only presets listed first.

Names are checked, not silently rewritten: a name that would need changing to be a safe file name is refused
with the safe spelling as a hint, so ``../x`` never quietly becomes ``x``.

Each user has their own namespace: files in ``configs/u<id>/`` (``configs/`` itself in single mode), metadata
rows keyed by (owner, name), so two users may both keep a "baseline". The files the single-user studio left in
``configs/`` belong to the first account, as everything else it left does (their rows moved to that account
on its registration; the files stay where the user keeps them in git).
"""
from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import func, select

from core.config_presets import load_presets
from core.training_config import ConfigValidationError, TrainingConfig, parse_config
from extensions import db
from services.auth.folders import owner_folder
from services.auth.scope import new_owner_id
from services.errors import ConflictError, NotFoundError, ServiceError
from services.models.base import utcnow
from services.models.wizard import SavedConfigMeta
from services.storage import resolve_inside, safe_filename
from services.auth import audit

NAME_RULE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
MAX_IMPORT_BYTES = 1_000_000


def _root() -> Path:
    return Path(current_app.config["CONFIG_FOLDER"])


def _owner() -> int | None:
    return new_owner_id()


def _folders() -> list[Path]:
    """Where the caller's configs live, the one new files go to first."""
    owner = _owner()
    folders = [owner_folder(_root(), owner)]
    if owner is not None and owner == _first_account_id():
        folders.append(_root())  # the single-user studio's files
    return folders


def _first_account_id() -> int | None:
    from services.models.auth import User

    return db.session.scalar(select(func.min(User.id)))


def _mine():
    """The caller's metadata rows: their own in accounts mode (what ``owned`` gives), the rows of no owner in
    single mode, whose files are the ones in ``configs/`` (``owned`` would add rows whose files are elsewhere)."""
    owner = _owner()
    return SavedConfigMeta.owner_id.is_(None) if owner is None else SavedConfigMeta.owner_id == owner


def _meta(name: str) -> SavedConfigMeta | None:
    """The caller's metadata row of ``name`` (another user's "baseline" is another row)."""
    return db.session.scalars(select(SavedConfigMeta).where(_mine(), SavedConfigMeta.name == name).limit(1)).first()


def check_name(name: Any) -> str:
    """The name as given if it is a safe file stem (letters, digits, '.', '_', '-'; at most 100), else a 400."""
    text = name if isinstance(name, str) else ""
    if NAME_RULE.match(text) and ".." not in text and not text.lower().endswith(".json"):
        return text
    suggestion = safe_filename(text.replace("\x00", ""), fallback="my-config")[:100].strip("._-") or "my-config"
    raise ServiceError("A config name may hold letters, digits, '.', '_' and '-' (1 to 100 characters, no '..').",
                       details=[{"path": "name", "message": "not a valid config name",
                                 "hint": f"Try {suggestion!r}."}])


def _path(name: str) -> Path:
    """The caller's file of ``name``: where it exists, else where a new one goes (always inside its folder)."""
    candidates = [resolve_inside(folder, check_name(name) + ".json") for folder in _folders()]
    return next((path for path in candidates if path.is_file()), candidates[0])


def _invalid(name: str, exc: ConfigValidationError) -> ServiceError:
    count = len(exc.errors)
    return ServiceError(f"Config {name!r} has {count} problem{'s' if count != 1 else ''}; each is listed with its "
                        "field path.", details=exc.errors)


def validate(name: str, raw: Any) -> TrainingConfig:
    """Every problem of a loaded or posted config with its path; unknown keys (e.g. from an older version) are
    reported by the schema's ``extra="forbid"``, never dropped."""
    try:
        return parse_config(raw)
    except ConfigValidationError as exc:
        raise _invalid(name, exc) from None


def _read_file(name: str, path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ServiceError(f"Config file {name}.json is not valid JSON: {exc}.",
                           details=[{"path": "", "message": str(exc), "hint": "Fix the file or delete it."}]) from None


def load(name: str, mark_used: bool = False) -> dict[str, Any]:
    """The validated config (defaults filled in) of a preset or saved file."""
    presets = load_presets()
    if isinstance(name, str) and name in presets:
        return validate(name, presets[name]["config"]).model_dump(mode="json")
    path = _path(name)
    if not path.is_file():
        raise NotFoundError(f"No saved config named {name!r}.")
    config = validate(name, _read_file(name, path)).model_dump(mode="json")
    if mark_used:
        meta = _meta(name)
        if meta is None:
            meta = SavedConfigMeta(name=name, owner_id=_owner(), created_at=_mtime(path), updated_at=_mtime(path))
            db.session.add(meta)
        meta.last_used_at = utcnow()
        db.session.commit()
    return config


def save(name: Any, raw: Any, description: str | None = None, overwrite: bool = True) -> dict[str, Any]:
    name = check_name(name)
    if name in load_presets():
        raise ConflictError(f"{name!r} is a shipped preset and read-only; save under another name.",
                            details=[{"path": "name", "message": "read-only preset", "hint": "Pick another name."}])
    if isinstance(raw, dict):
        raw = {**raw, "name": name}
    config = validate(name, raw).model_dump(mode="json")
    path = _path(name)
    if path.exists() and not overwrite:
        raise ConflictError(f"A config named {name!r} exists already.",
                            details=[{"path": "name", "message": "name taken", "hint": "Pick another name."}])
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(path)
    now = utcnow()
    meta = _meta(name)
    if meta is None:
        meta = SavedConfigMeta(name=name, owner_id=_owner(), created_at=now)
        db.session.add(meta)
    meta.updated_at = now
    if description is not None:
        meta.description = str(description)[:2000]
    db.session.commit()
    return entry(name, config, meta, path)


def delete(name: str) -> None:
    if isinstance(name, str) and name in load_presets():
        raise ConflictError(f"{name!r} is a shipped preset and cannot be deleted.")
    path = _path(name)
    if not path.is_file():
        raise NotFoundError(f"No saved config named {name!r}.")
    path.unlink()
    meta = _meta(name)
    if meta is not None:
        db.session.delete(meta)
    audit.record("config.deleted", target=f"config:{name}", commit=False)
    db.session.commit()


def _mtime(path: Path) -> datetime:
    return datetime.fromtimestamp(path.stat().st_mtime, tz=timezone.utc)


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:  # SQLite hands back naive datetimes
        value = value.replace(tzinfo=timezone.utc)
    return value.isoformat()


def entry(name: str, config: dict | None, meta: SavedConfigMeta | None, path: Path | None,
          preset: dict | None = None) -> dict[str, Any]:
    config = config or {}
    model = (config.get("model") or {}).get("name") if isinstance(config.get("model"), dict) else None
    return {
        "name": name, "read_only": preset is not None,
        "description": preset["description"] if preset else (meta.description if meta else None),
        "model": model, "method": config.get("method", "grpo"),
        "algorithm": (config.get("grpo") or {}).get("algorithm") if isinstance(config.get("grpo"), dict) else None,
        "created_at": _iso(meta.created_at if meta else (_mtime(path) if path else None)),
        "updated_at": _iso(meta.updated_at if meta else (_mtime(path) if path else None)),
        "last_used_at": _iso(meta.last_used_at if meta else None),
    }


def list_configs() -> list[dict[str, Any]]:
    """Presets first, then the caller's files (hand-copied files included) newest first."""
    rows = [entry(name, p["config"], None, None, preset=p) for name, p in load_presets().items()]
    metas = {m.name: m for m in db.session.execute(select(SavedConfigMeta).where(_mine())).scalars()}
    saved, seen = [], set()
    for path in (p for folder in _folders() for p in sorted(folder.glob("*.json"))):
        if not NAME_RULE.match(path.stem) or path.stem in seen or not path.is_file():
            continue
        seen.add(path.stem)
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raw = None
        row = entry(path.stem, raw if isinstance(raw, dict) else None, metas.get(path.stem), path)
        row["readable"] = isinstance(raw, dict)
        saved.append(row)
    saved.sort(key=lambda r: r["updated_at"] or "", reverse=True)
    return rows + saved


def export_text(name: str) -> tuple[str, str]:
    """(file name, pretty JSON) for a download."""
    config = load(name)
    return f"{name}.json", json.dumps(config, indent=2, ensure_ascii=False) + "\n"


def parse_upload(filename: str, data: bytes) -> Any:
    """A JSON or YAML file's content as Python data (YAML through PyYAML's safe loader: no object tags)."""
    if len(data) > MAX_IMPORT_BYTES:
        raise ServiceError(f"A config file may be at most {MAX_IMPORT_BYTES // 1000} KB.")
    suffix = Path(filename or "").suffix.lower()
    if suffix not in (".json", ".yaml", ".yml"):
        raise ServiceError("Import a .json, .yaml or .yml file.",
                           details=[{"path": "file", "message": f"unsupported file type {suffix or '(none)'}",
                                     "hint": "Export a config as JSON or YAML first."}])
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ServiceError("The config file is not UTF-8 text.") from None
    if suffix == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise ServiceError(f"The file is not valid JSON: {exc}.",
                               details=[{"path": "file", "message": str(exc), "hint": "Fix the syntax."}]) from None
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ServiceError(f"The file is not valid YAML: {exc}.",
                           details=[{"path": "file", "message": str(exc).splitlines()[0], "hint": "Fix the syntax."}]
                           ) from None


def import_file(filename: str, data: bytes, name: str | None = None, overwrite: bool = False) -> dict[str, Any]:
    raw = parse_upload(filename, data)
    if name in (None, ""):
        stem = Path(filename or "").stem
        name = raw.get("name") if isinstance(raw, dict) and isinstance(raw.get("name"), str) \
            and NAME_RULE.match(raw["name"]) else stem
    return save(name, raw, overwrite=overwrite)
