"""Validate what a finished training run left on disk, before anyone downloads, exports or deploys it.

A run can report "completed" and still leave an output nobody can use: a weight file lost in a copy, a header
cut short by a full disk, an adapter for another base model, an index whose vectors no longer match its
chunks. :func:`validate_output` runs four checks in order - ``files``, ``formats``, ``load``, ``generate`` -
each recorded with a one-line detail; a failed check marks the ones after it as skipped, because each builds
on the one before (no point loading a model whose weights are missing).

The expected files follow what each method's ``run`` writes (``core/methods/``): a full model for Standard,
a LoRA adapter for GRPO, QLoRA and Unsloth, a FAISS index (plus an optional ``generator/`` adapter) for RAG.
Pure core: no Flask, and torch/transformers/faiss load only when a check needs them.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.methods import get_method
from core.rag import store as rag_store

FULL, ADAPTER, RAG = "full", "adapter", "rag"
KINDS = {"standard": FULL, "grpo": ADAPTER, "qlora": ADAPTER, "unsloth": ADAPTER, "rag": RAG}

WEIGHTS = "model.safetensors"
WEIGHTS_INDEX = "model.safetensors.index.json"
ADAPTER_CONFIG = "adapter_config.json"
ADAPTER_WEIGHTS = "adapter_model.safetensors"
TOKENIZER_CONFIG = "tokenizer_config.json"
# A fast tokenizer saves tokenizer.json; a slow one its SentencePiece model or BPE vocabulary instead.
VOCABULARIES = ("tokenizer.json", "tokenizer.model", "vocab.json")
CONFIG_JSONS = ("config.json", "generation_config.json", ADAPTER_CONFIG, TOKENIZER_CONFIG, WEIGHTS_INDEX)

PROMPT = "What is 2 + 3?"
QUERY = "What is this document about?"
MAX_NEW_TOKENS = 8
MAX_DETAIL = 300


class CheckFailed(Exception):
    """A check found a problem; its message is the detail shown to the user as is."""


@dataclass
class _Run:
    """What the checks learn as they go: each one hands the next what it loaded."""
    run_dir: Path
    folder: Path
    kind: str
    base_model_path: str | None
    safetensors: dict[Path, set[str]] = field(default_factory=dict)
    loaded: list[tuple[str, Any, Any]] = field(default_factory=list)  # (label, model, tokenizer)
    store: Any = None


def validate_output(method: str, run_dir: Path, base_model_path: str | None, *, generate: bool = True) -> dict:
    """Check ``run_dir``'s output for ``method``: ``{"passed": bool, "checks": [{name, passed, detail}]}``.

    ``base_model_path`` is the model an adapter was trained on (for an adapter without it, the base its
    ``adapter_config.json`` names). Raises ValueError for an unknown method: that is a caller's mistake, not a
    broken output.
    """
    run_dir = Path(run_dir)
    run = _Run(run_dir, run_dir / get_method(method).outputs[0], KINDS[method], base_model_path)
    steps: list[tuple[str, Callable[[_Run], str]]] = [("files", _check_files), ("formats", _check_formats),
                                                      ("load", _check_load)]
    if generate:
        steps.append(("generate", _check_generate))
    checks: list[dict] = []
    failed: str | None = None
    for name, check in steps:
        if failed:
            checks.append({"name": name, "passed": False, "detail": f"skipped: {failed} failed"})
            continue
        passed, detail = _attempt(check, run)
        checks.append({"name": name, "passed": passed, "detail": detail})
        if not passed:
            failed = name
    return {"passed": all(c["passed"] for c in checks), "checks": checks}


def _attempt(check: Callable[[_Run], str], run: _Run) -> tuple[bool, str]:
    try:
        return True, check(run)
    except CheckFailed as exc:
        return False, _shorten(str(exc))
    except Exception as exc:  # noqa: BLE001 - any error is a verdict on the output, reported briefly
        return False, brief_error(exc)


def brief_error(exc: BaseException) -> str:
    return _shorten(f"{type(exc).__name__}: {exc}")


def _shorten(text: str) -> str:
    """One line of at most MAX_DETAIL characters: library errors can span a page."""
    text = " ".join(text.split())
    return text if len(text) <= MAX_DETAIL else text[:MAX_DETAIL - 1] + "…"


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


# files ---------------------------------------------------------------------------------------------------


def _check_files(run: _Run) -> str:
    if not run.folder.is_dir():
        raise CheckFailed(f"missing: {_rel(run, run.folder)}/")
    expected = expected_files(run.kind, run.folder)
    missing = [_rel(run, p) for p in expected if not p.is_file()]
    missing += _missing_vocabularies(run)
    if missing:
        raise CheckFailed(f"missing: {', '.join(missing)}")
    return f"{len(expected)} expected files present in {_rel(run, run.folder)}/"


def expected_files(kind: str, folder: Path) -> list[Path]:
    """The files a method's ``run`` writes that a loader needs (READMEs and checkpoints are not required)."""
    if kind == FULL:
        return [folder / "config.json", *_weight_files(folder), folder / TOKENIZER_CONFIG]
    if kind == ADAPTER:
        return [folder / ADAPTER_CONFIG, folder / ADAPTER_WEIGHTS, folder / TOKENIZER_CONFIG]
    files = [folder / name for name in rag_store.FILES]
    generator = _rag_generator(folder)
    return files + (expected_files(ADAPTER, generator) if generator else [])


def _weight_files(folder: Path) -> list[Path]:
    """``model.safetensors``, or every shard a ``model.safetensors.index.json`` names (an unreadable index is
    left to the formats check, which reports why)."""
    index = folder / WEIGHTS_INDEX
    if not index.is_file():
        return [folder / WEIGHTS]
    try:
        shards = sorted(set(_read_json(index)["weight_map"].values()))
    except (ValueError, KeyError, TypeError, AttributeError):
        return [index]
    return [index, *(folder / shard for shard in shards)]


def _rag_generator(folder: Path) -> Path | None:
    """The generator adapter a RAG run with ``then_sft`` names in its config (None without one)."""
    try:
        name = _read_json(folder / rag_store.CONFIG_FILE).get("generator")
    except (OSError, ValueError, AttributeError):
        return None
    return folder / name if name else None


def _model_folders(run: _Run) -> list[Path]:
    """The folders holding a model and its tokenizer: the output itself, or a RAG run's generator."""
    if run.kind != RAG:
        return [run.folder]
    generator = _rag_generator(run.folder)
    return [generator] if generator else []


def _missing_vocabularies(run: _Run) -> list[str]:
    return [f"{_rel(run, folder)}/{' or '.join(VOCABULARIES)}" for folder in _model_folders(run)
            if not any((folder / name).is_file() for name in VOCABULARIES)]


def _rel(run: _Run, path: Path) -> str:
    return path.relative_to(run.run_dir).as_posix()


# formats -------------------------------------------------------------------------------------------------


def _check_formats(run: _Run) -> str:
    parsed = {path: _parse_json(run, path) for path in _json_files(run)}
    for folder in _model_folders(run):
        _check_adapter_config(run, folder / ADAPTER_CONFIG, parsed)
        for path in _safetensors_in(folder):
            run.safetensors[path] = _safetensors_keys(run, path)
        _check_shard_map(run, folder, parsed)
    notes = [f"JSON files parsed: {len(parsed)}", f"safetensors headers valid: {len(run.safetensors)}"]
    if run.kind == RAG:
        notes.append(_check_rag_index(run, parsed))
    return "; ".join(notes)


def _json_files(run: _Run) -> list[Path]:
    paths = [folder / name for folder in _model_folders(run) for name in CONFIG_JSONS]
    if run.kind == RAG:
        paths += [run.folder / name for name in rag_store.FILES if name.endswith(".json")]
    return [p for p in paths if p.is_file()]


def _parse_json(run: _Run, path: Path) -> Any:
    try:
        return _read_json(path)
    except (ValueError, UnicodeDecodeError) as exc:
        raise CheckFailed(f"{_rel(run, path)} is not valid JSON: {brief_error(exc)}") from None


def _check_adapter_config(run: _Run, path: Path, parsed: dict[Path, Any]) -> None:
    if path in parsed and not (isinstance(parsed[path], dict) and "peft_type" in parsed[path]):
        raise CheckFailed(f"{_rel(run, path)} names no peft_type: not a PEFT adapter config")


def _safetensors_in(folder: Path) -> list[Path]:
    if (folder / ADAPTER_CONFIG).is_file():
        return [folder / ADAPTER_WEIGHTS]
    return [p for p in _weight_files(folder) if p.suffix == ".safetensors"]


def _safetensors_keys(run: _Run, path: Path) -> set[str]:
    """The tensor names in a safetensors header. ``safe_open`` parses the header and checks its offsets
    against the file's size, so a cut or overwritten header fails here, before any weight is read."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as handle:
            keys = set(handle.keys())
    except Exception as exc:  # noqa: BLE001 - the Rust side raises its own SafetensorError
        raise CheckFailed(f"{_rel(run, path)}: invalid safetensors header ({brief_error(exc)})") from None
    if not keys:
        raise CheckFailed(f"{_rel(run, path)} holds no tensors")
    return keys


def _check_shard_map(run: _Run, folder: Path, parsed: dict[Path, Any]) -> None:
    """Every tensor the shard index lists is in the shard it points to."""
    index = folder / WEIGHTS_INDEX
    if index not in parsed:
        return
    weight_map = parsed[index].get("weight_map") if isinstance(parsed[index], dict) else None
    if not isinstance(weight_map, dict) or not weight_map:
        raise CheckFailed(f"{_rel(run, index)} has no weight_map")
    lost = [name for name, shard in weight_map.items() if name not in run.safetensors.get(folder / shard, set())]
    if lost:
        raise CheckFailed(f"{_rel(run, index)}: {len(lost)} tensors not in their shard, e.g. {lost[0]}")


def _check_rag_index(run: _Run, parsed: dict[Path, Any]) -> str:
    """The index file FAISS reads back holds one vector per stored chunk, of the recorded dimension."""
    import faiss

    documents_path = run.folder / rag_store.DOCUMENTS_FILE
    documents = parsed[documents_path]
    if not isinstance(documents, list) or not all(isinstance(d, dict) and "text" in d for d in documents):
        raise CheckFailed(f"{_rel(run, documents_path)} is not a list of chunks with text")
    index_path = run.folder / rag_store.INDEX_FILE
    try:
        index = faiss.read_index(str(index_path))
    except Exception as exc:  # noqa: BLE001 - FAISS raises RuntimeError with a C++ trace
        raise CheckFailed(f"{_rel(run, index_path)} is not a FAISS index: {brief_error(exc)}") from None
    if index.ntotal != len(documents):
        raise CheckFailed(f"{_rel(run, index_path)} holds {index.ntotal} vectors for {len(documents)} stored chunks")
    metadata = parsed[run.folder / rag_store.METADATA_FILE]
    dimension = metadata.get("dimension") if isinstance(metadata, dict) else None
    if dimension is not None and dimension != index.d:
        raise CheckFailed(f"{_rel(run, index_path)} has {index.d}-dimensional vectors, the metadata says {dimension}")
    return f"FAISS index readable: {index.ntotal} vectors for {len(documents)} chunks"


# load ----------------------------------------------------------------------------------------------------


def _check_load(run: _Run) -> str:
    if run.kind == FULL:
        model = _load_model(run.folder)
        run.loaded.append((_rel(run, run.folder), model, _load_tokenizer(run.folder)))
        return f"model loaded: {_parameters(model)}"
    notes = [_load_rag(run)] if run.kind == RAG else []
    notes += [_load_adapter(run, folder) for folder in _model_folders(run)]
    return "; ".join(notes)


def _load_model(path: str | Path):
    """float32 on the CPU: a validation must work where no GPU is, and bf16 matmuls are slow there."""
    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(str(path), dtype=torch.float32, device_map={"": "cpu"})
    return model.eval()


def _load_tokenizer(folder: Path):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(folder))


def _load_adapter(run: _Run, folder: Path) -> str:
    """The base first (a wrong base is the usual fault, so it is named), then the adapter on top of it; every
    tensor the adapter holds must land in a module of that base."""
    from peft import PeftModel
    from peft.utils import get_peft_model_state_dict

    base = _adapter_base(run, folder)
    if _missing_local_path(base):
        raise CheckFailed(f"base model {base} does not exist")
    try:
        model = _load_model(base)
    except Exception as exc:  # noqa: BLE001
        raise CheckFailed(f"base model {base} did not load: {brief_error(exc)}") from None
    try:
        model = PeftModel.from_pretrained(model, str(folder)).eval()
    except Exception as exc:  # noqa: BLE001
        raise CheckFailed(f"adapter {_rel(run, folder)}/ does not fit base {base}: {brief_error(exc)}") from None
    stray = run.safetensors[folder / ADAPTER_WEIGHTS] - set(get_peft_model_state_dict(model))
    if stray:
        raise CheckFailed(f"adapter {_rel(run, folder)}/ has {len(stray)} tensors no module of base {base} takes, "
                          f"e.g. {sorted(stray)[0]}")
    run.loaded.append((_rel(run, folder), model, _load_tokenizer(folder)))
    return f"adapter {_rel(run, folder)}/ loaded on base {base}"


def _adapter_base(run: _Run, folder: Path) -> str:
    """The caller's base path; else the one the output records (adapter config, or a RAG run's config)."""
    if run.base_model_path:
        return run.base_model_path
    recorded = _read_json(folder / ADAPTER_CONFIG).get("base_model_name_or_path")
    if run.kind == RAG:
        recorded = _read_json(run.folder / rag_store.CONFIG_FILE).get("model_path") or recorded
    if not recorded:
        raise CheckFailed(f"no base model path given and {_rel(run, folder / ADAPTER_CONFIG)} names none")
    return recorded


def _missing_local_path(name: str) -> bool:
    """A path (not a Hub id) that is not there: transformers would report it as a malformed repo id."""
    path = Path(name).expanduser()
    return (path.is_absolute() or name.startswith(".")) and not path.exists()


def _load_rag(run: _Run) -> str:
    """The index as the studio loads it (which, like the studio, completes a save cut off after its commit
    point), and the embedder its queries need, with matching dimensions."""
    from core.rag.embeddings import load_embedder

    run.store = rag_store.RAGStore.load(run.folder)
    name = run.store.config["embedding_model"]
    dimension = load_embedder(name).get_sentence_embedding_dimension()
    if dimension != run.store.index.d:
        raise CheckFailed(f"embedder {name} gives {dimension}-dimensional vectors, the index holds {run.store.index.d}")
    return f"index of {run.store.size} chunks and embedder {name} loaded"


def _parameters(model) -> str:
    return f"{model.num_parameters() / 1e6:.1f} M parameters"


# generate ------------------------------------------------------------------------------------------------


def _check_generate(run: _Run) -> str:
    notes = []
    if run.store is not None:
        hits = run.store.search(QUERY)
        if not hits:
            raise CheckFailed(f"retrieval of {QUERY!r} returned no chunk")
        notes.append(f"retrieved {len(hits)} chunks (best score {hits[0]['score']:.2f})")
    for label, model, tokenizer in run.loaded:
        text = greedy_answer(model, tokenizer, PROMPT)
        if not text.strip():
            raise CheckFailed(f"{label}/ generated no text for {PROMPT!r}")
        notes.append(f"{label}/ answered {text.strip()!r}")
    return "; ".join(notes)


def greedy_answer(model, tokenizer, prompt: str, max_new_tokens: int = MAX_NEW_TOKENS) -> str:
    """A few greedy tokens: deterministic, and enough to show the weights produce words, not just load."""
    import torch

    if tokenizer.chat_template:
        inputs = tokenizer.apply_chat_template([{"role": "user", "content": prompt}], add_generation_prompt=True,
                                               return_tensors="pt", return_dict=True)
    else:
        inputs = tokenizer(prompt, return_tensors="pt")
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    with torch.inference_mode():
        output = model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=pad)
    return tokenizer.decode(output[0, inputs["input_ids"].shape[1]:], skip_special_tokens=True)


def main(argv: list[str]) -> int:
    """``python -m core.projects.validate_output METHOD RUN_DIR [BASE_MODEL]``: the result as one JSON line on
    stdout (the studio runs the checks in a child process: loading a model never touches the server's memory).
    Exit code 0 when every check passed, 1 when one failed."""
    import logging
    import sys

    logging.disable(logging.WARNING)  # stdout carries the result; library chatter goes nowhere
    method, run_dir = argv[0], Path(argv[1])
    base = argv[2] if len(argv) > 2 and argv[2] else None
    result = validate_output(method, run_dir, base)
    sys.stdout.write(json.dumps(result) + "\n")
    return 0 if result["passed"] else 1


if __name__ == "__main__":
    import sys

    raise SystemExit(main(sys.argv[1:]))
