"""A RAG index on disk: ``rag_model/`` with ``rag_config.json``, ``vector_index.faiss``, ``documents.json`` and
``embeddings_metadata.json``. Built from dataset rows, searched by meaning, grown without a rebuild.

Vectors are unit-length sentence embeddings, so FAISS's inner product is the cosine similarity (the score a
search returns, in [-1, 1]). Small indexes are exact (``IndexFlatIP``); from ``index_threshold`` vectors on,
``auto`` picks HNSW (no training step, and it accepts later additions unchanged); IVF is there for very large
sets where its training pays off.
"""
from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.rag.chunking import chunk_text, row_text
from core.rag.embeddings import embed, resolve_embedding_model

if TYPE_CHECKING:  # numpy loads with the first index built or searched, not with the app
    import numpy as np

CONFIG_FILE = "rag_config.json"
INDEX_FILE = "vector_index.faiss"
DOCUMENTS_FILE = "documents.json"
METADATA_FILE = "embeddings_metadata.json"
FILES = (CONFIG_FILE, INDEX_FILE, DOCUMENTS_FILE, METADATA_FILE)
# Written once every new file is staged: from then on the new generation is the index (see RAGStore.save).
COMMIT_FILE = "commit.json"
HNSW_NEIGHBOURS = 32
HNSW_EF_SEARCH = 64
IVF_POINTS_PER_LIST = 39  # FAISS warns below 39 training points per list

Progress = Callable[[int, int], None]


def choose_index_type(requested: str, count: int, threshold: int) -> str:
    if requested != "auto":
        return requested
    return "flat" if count < threshold else "hnsw"


def new_index(kind: str, vectors: np.ndarray):
    """An empty-or-trained FAISS index of ``kind`` for these vectors (IVF trains on them)."""
    import faiss

    dim = vectors.shape[1]
    if kind == "flat":
        return faiss.IndexFlatIP(dim)
    if kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, HNSW_NEIGHBOURS, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efSearch = HNSW_EF_SEARCH
        return index
    if kind == "ivf":
        nlist = max(1, min(int(4 * math.sqrt(len(vectors))), len(vectors) // IVF_POINTS_PER_LIST))
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT)
        index.train(vectors)
        return index
    raise ValueError(f"unknown index type {kind!r}")


def _tune(index, config: dict) -> None:
    """Search-time settings FAISS does not keep in the file for every index type."""
    import faiss

    if isinstance(index, faiss.IndexIVF):
        index.nprobe = min(index.nlist, config.get("nprobe", 8))
    if isinstance(index, faiss.IndexHNSW):
        index.hnsw.efSearch = config.get("ef_search", HNSW_EF_SEARCH)


def _staged(path: Path) -> Path:
    return path.with_name(path.name + ".tmp")


def _write_staged(path: Path, data: Any) -> None:
    """``data`` as JSON in the staged (``.tmp``) file beside ``path``, on disk before it returns."""
    with open(_staged(path), "w", encoding="utf-8") as handle:
        handle.write(json.dumps(data, ensure_ascii=False, indent=1))
        handle.flush()
        os.fsync(handle.fileno())


def _write_json(path: Path, data: Any) -> None:
    _write_staged(path, data)
    os.replace(_staged(path), path)  # readers never see half a file


def _fsync(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def finish_commit(folder: Path) -> bool:
    """Move the staged files of a save that reached its commit point into place (again: idempotent). A save
    stopped before that point left only ``.tmp`` files, which are ignored: the previous files stay a whole
    index. True when there was a commit to finish."""
    marker = folder / COMMIT_FILE
    try:
        names = json.loads(marker.read_text(encoding="utf-8"))["files"]
    except FileNotFoundError:
        return False
    for name in names:
        try:
            os.replace(_staged(folder / name), folder / name)
        except FileNotFoundError:
            pass  # moved already, by the save itself or an earlier reader
    marker.unlink(missing_ok=True)
    return True


@dataclass
class RAGStore:
    folder: Path
    config: dict
    documents: list[dict]
    index: Any
    metadata: dict = field(default_factory=dict)

    @classmethod
    def load(cls, folder: str | os.PathLike) -> "RAGStore":
        import faiss

        folder = Path(folder)
        for _attempt in range(3):
            finish_commit(folder)  # a save interrupted after its commit point (a crash): completed here
            missing = [name for name in FILES if not (folder / name).is_file()]
            if missing:
                raise FileNotFoundError(f"{folder} is not a RAG index: missing {', '.join(missing)}")
            config = json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8"))
            index = faiss.read_index(str(folder / INDEX_FILE))
            documents = json.loads((folder / DOCUMENTS_FILE).read_text(encoding="utf-8"))
            metadata = json.loads((folder / METADATA_FILE).read_text(encoding="utf-8"))
            if not (folder / COMMIT_FILE).exists():
                break  # no save committed while these were read: they belong together
        _tune(index, config)
        if index.ntotal != len(documents):
            raise ValueError(f"{folder}: the index holds {index.ntotal} vectors for {len(documents)} documents")
        return cls(folder, config, documents, index, metadata)

    @property
    def size(self) -> int:
        return len(self.documents)

    def search(self, query: str, top_k: int | None = None) -> list[dict]:
        """The ``top_k`` chunks nearest to ``query``, best first, each with its cosine ``score``."""
        if not query.strip() or not self.documents:
            return []
        k = min(top_k or self.config.get("top_k", 4), len(self.documents))
        vector = embed(self.config["embedding_model"], [query])
        scores, ids = self.index.search(vector, k)
        hits = []
        for rank, (score, doc_id) in enumerate(zip(scores[0], ids[0]), start=1):
            if doc_id < 0:
                continue  # FAISS pads with -1 when an approximate index finds fewer than k
            doc = self.documents[int(doc_id)]
            hits.append({"rank": rank, "score": round(float(score), 6), **doc})
        return hits

    def add(self, texts: Iterable[str], source: str = "added", batch_size: int = 64) -> list[dict]:
        """Chunk, embed and append new documents; the index is extended, not rebuilt. Returns the new chunks."""
        new_docs = []
        for n, text in enumerate(texts):
            for c, chunk in enumerate(chunk_text(text, self.config["chunk_size"], self.config["chunk_overlap"])):
                new_docs.append({"id": self.size + len(new_docs), "text": chunk, "source": source,
                                 "item": n, "chunk": c})
        if not new_docs:
            return []
        vectors = embed(self.config["embedding_model"], [d["text"] for d in new_docs], batch_size)
        self.index.add(vectors)
        self.documents.extend(new_docs)
        self.metadata.update(count=self.size, updated_at=time.time())
        self.save()
        return new_docs

    def save(self) -> None:
        """Replace the index and its documents together. Every file is first staged (``.tmp``); the commit
        marker then makes the new set the index, and the renames follow. A crash before the marker leaves
        the previous files whole; one after it is finished by the next :meth:`load` - a reader never pairs
        an index with documents of another generation."""
        import faiss

        self.folder.mkdir(parents=True, exist_ok=True)
        finish_commit(self.folder)
        index_path = self.folder / INDEX_FILE
        faiss.write_index(self.index, str(_staged(index_path)))
        _fsync(_staged(index_path))
        _write_staged(self.folder / DOCUMENTS_FILE, self.documents)
        _write_staged(self.folder / METADATA_FILE, self.metadata)
        _write_staged(self.folder / CONFIG_FILE, self.config)
        _write_json(self.folder / COMMIT_FILE, {"files": [DOCUMENTS_FILE, METADATA_FILE, CONFIG_FILE, INDEX_FILE]})
        finish_commit(self.folder)


def build_store(folder: str | os.PathLike, rows: list[dict], settings: dict, *,
                progress: Progress | None = None, should_stop: Callable[[], bool] = lambda: False,
                extra_config: dict | None = None) -> RAGStore | None:
    """Index ``rows`` into ``folder``; ``settings`` is the config's ``rag`` section as a dict.

    Returns None when stopped before the index was complete (nothing is written then).
    """
    import faiss

    started = time.monotonic()
    docs = []
    for n, row in enumerate(rows):
        try:
            text = row_text(row, settings.get("text_field"))
        except KeyError:
            raise ValueError(f"the rows have no field {settings['text_field']!r}; fields: "
                             f"{', '.join(sorted(row))}") from None
        for c, chunk in enumerate(chunk_text(text, settings["chunk_size"], settings["chunk_overlap"])):
            docs.append({"id": len(docs), "text": chunk, "source": "dataset", "item": n, "chunk": c})
    if not docs:
        raise ValueError("the dataset gave no text to index")
    batch = settings.get("batch_size", 64)
    parts = []
    for start in range(0, len(docs), batch):
        if should_stop():
            return None
        parts.append(embed(settings["embedding_model"], [d["text"] for d in docs[start:start + batch]], batch))
        if progress:
            progress(min(len(docs), start + batch), len(docs))
    import numpy as np

    vectors = np.concatenate(parts)
    kind = choose_index_type(settings.get("index_type", "auto"), len(docs), settings.get("index_threshold", 10_000))
    index = new_index(kind, vectors)
    index.add(vectors)
    config = {"format": 1, "index_type": kind, "metric": "cosine (inner product of unit vectors)",
              **{k: settings.get(k) for k in ("embedding_model", "chunk_size", "chunk_overlap", "text_field",
                                               "top_k", "index_threshold")},
              **(extra_config or {})}
    if kind == "hnsw":
        config["ef_search"] = HNSW_EF_SEARCH
    if kind == "ivf":
        config["nprobe"] = 8
    metadata = {"embedding_model": settings["embedding_model"],
                "resolved_model": resolve_embedding_model(settings["embedding_model"]),
                "dimension": int(vectors.shape[1]), "count": len(docs), "rows": len(rows), "normalized": True,
                "dtype": "float32", "faiss_version": faiss.__version__, "created_at": time.time(),
                "updated_at": time.time(), "build_seconds": round(time.monotonic() - started, 3)}
    store = RAGStore(Path(folder), config, docs, index, metadata)
    _tune(index, config)
    store.save()
    return store
