"""The base model as an F16 GGUF for the llama.cpp rollout engine: converted once per model, then reused.

The conversion is llama.cpp's own ``convert_hf_to_gguf.py`` (:func:`core.gguf_tools.convert_hf_to_gguf`,
~7 s for 135 M parameters). The file is keyed by the model folder's weights (names, sizes, modification
times), so a re-prepared or different model never reuses a stale file, and a lock keeps two sessions that
start together from converting the same model twice.
"""
from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

from filelock import FileLock

from core.gguf_tools import convert_hf_to_gguf, local_model_dir

log = logging.getLogger(__name__)

WEIGHT_SUFFIXES = (".safetensors", ".bin", ".json", ".model")


def model_fingerprint(model_dir: Path) -> str:
    digest = hashlib.sha256(str(model_dir).encode())
    for path in sorted(model_dir.iterdir()):
        if path.suffix in WEIGHT_SUFFIXES and path.is_file():
            stat = path.stat()
            digest.update(f"{path.name}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:16]


def default_cache_root(model_dir: Path) -> Path:
    """A ``gguf-cache`` folder beside the model folder: for the bundled model that is inside the model cache
    (``MODEL_CACHE/gguf-cache``); a Hub snapshot gets it inside the Hub cache's ``snapshots`` folder."""
    return model_dir.parent / "gguf-cache"


def base_gguf(model_path: str, cache_root: str | os.PathLike | None = None) -> Path:
    """The cached F16 GGUF of ``model_path``, converting it first if needed."""
    model_dir = local_model_dir(model_path)
    root = Path(cache_root) if cache_root else default_cache_root(model_dir)
    target = root / f"{model_dir.name}-{model_fingerprint(model_dir)}" / "base-f16.gguf"
    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target) + ".lock"):
        if not target.is_file():
            log.info("converting %s to GGUF for the llama.cpp rollout engine (once per model)", model_dir.name)
            partial = target.with_name("partial-" + target.name)
            convert_hf_to_gguf(model_dir, partial, "f16")
            os.replace(partial, target)
    return target
