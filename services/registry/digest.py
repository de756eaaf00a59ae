"""Content addresses: which files of a trained folder are its weights, and one SHA-256 over them.

Only weights count (plus what defines them: adapter and model configs, a RAG index's documents), so two
runs that produced the same weights share a digest even though their logs, trainer state and timestamps
differ. Each weight file is hashed on its own and the digest is taken over "relative name, file hash" lines
in name order: sharded weights stay in their order, and a file's hash doubles as its checksum in the lineage.
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from core.checksums import file_sha256

WEIGHT_SUFFIXES = (".safetensors", ".gguf", ".faiss", ".bin", ".pt")
DEFINING_FILES = ("adapter_config.json", "config.json", "documents.json", "rag_config.json")
NOT_WEIGHTS = ("training_args.bin", "optimizer.pt", "scheduler.pt", "rng_state.pth", "scaler.pt")


def _is_weight(path: Path) -> bool:
    if path.name in NOT_WEIGHTS:
        return False
    return path.suffix in WEIGHT_SUFFIXES or path.name in DEFINING_FILES


def weight_files(path: Path) -> list[Path]:
    """The files that make up the weights at ``path`` (a folder, or one .gguf file); checkpoints excluded."""
    if path.is_file():
        return [path]
    return sorted(p for p in path.rglob("*")
                  if p.is_file() and not p.is_symlink() and "checkpoints" not in p.relative_to(path).parts
                  and _is_weight(p))


def content_digest(path: Path) -> tuple[str, list[dict[str, Any]], int]:
    """``("sha256:<hex>", files, total bytes)``: ``files`` lists every weight file with its size and hash."""
    files = weight_files(path)
    if not files:
        raise FileNotFoundError(f"No weight files under {path.name}.")
    root = path.parent if path.is_file() else path
    listed = [{"name": p.relative_to(root).as_posix(), "size": p.stat().st_size, "sha256": file_sha256(p)}
              for p in files]
    overall = hashlib.sha256("".join(f"{f['name']}\0{f['sha256']}\n" for f in listed).encode())
    return f"sha256:{overall.hexdigest()}", listed, sum(f["size"] for f in listed)
