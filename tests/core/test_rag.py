"""RAG core: chunking, the FAISS store (build, search, add, reload) and the RAG method on the tiny model."""
from __future__ import annotations

import json
import os

import pytest

from core.model_tags import UnknownModelName, resolve_model_name
from core.rag.chunking import chunk_text, row_text
from core.rag.embeddings import bundled_model_dir, resolve_embedding_model
from core.rag import store as store_module
from core.rag.store import FILES, RAGStore, build_store, choose_index_type
from tests.core.test_methods import files_in, run_method
from tests.rag_fixtures import ADDED_FACT, ADDED_QUESTION, CAPITAL_QUESTION, FACT_ROWS

SETTINGS = {"chunk_size": 200, "chunk_overlap": 30, "text_field": None, "embedding_model": "all-MiniLM-L6-v2",
            "index_type": "auto", "index_threshold": 10_000, "top_k": 3, "batch_size": 4}


def test_chunks_respect_size_and_overlap_and_never_cut_words():
    text = " ".join(f"word{i}" for i in range(200))
    chunks = chunk_text(text, 60, 15)
    assert all(len(c) <= 60 for c in chunks)
    assert " ".join(chunks).split() != text.split()  # overlap repeats words...
    assert set(" ".join(chunks).split()) == set(text.split())  # ...and loses none
    for left, right in zip(chunks, chunks[1:]):
        assert right.split()[0] in left.split()  # neighbours share a word
    assert chunk_text("", 60, 10) == [] and chunk_text("one", 60, 10) == ["one"]
    assert chunk_text("x" * 80 + " y", 60, 10) == ["x" * 80, "y"]  # a long word is kept whole
    with pytest.raises(ValueError):
        chunk_text("a b", 10, 10)


def test_row_text_uses_a_chosen_field_or_instruction_and_response():
    row = {"instruction": "Q?", "response": "A.", "context": "ctx"}
    assert row_text(row, None) == "Q?\nA." and row_text(row, "context") == "ctx"
    with pytest.raises(KeyError):
        row_text(row, "missing")


def test_bundled_embedding_model_is_used_offline():
    assert bundled_model_dir() is not None
    assert resolve_embedding_model("all-MiniLM-L6-v2") == str(bundled_model_dir())
    assert resolve_embedding_model("/some/folder") == "/some/folder"


def test_index_type_is_flat_below_the_threshold_and_hnsw_above():
    assert choose_index_type("auto", 99, 100) == "flat" and choose_index_type("auto", 100, 100) == "hnsw"
    assert choose_index_type("ivf", 5, 100) == "ivf"


@pytest.mark.parametrize("index_type", ["flat", "hnsw", "ivf"])
def test_store_finds_the_fact_first_grows_and_survives_reload(tmp_path, index_type):
    store = build_store(tmp_path, FACT_ROWS, {**SETTINGS, "index_type": index_type})
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(FILES)
    assert store.config["index_type"] == index_type and store.size == len(FACT_ROWS)
    hits = store.search(CAPITAL_QUESTION)
    assert "Quelmont" in hits[0]["text"] and hits[0]["score"] > hits[1]["score"]
    assert store.search(ADDED_QUESTION)[0]["text"] != ADDED_FACT

    added = store.add([ADDED_FACT], source="notes")
    assert [d["id"] for d in added] == [len(FACT_ROWS)]
    reloaded = RAGStore.load(tmp_path)  # what a restarted server sees
    assert reloaded.size == len(FACT_ROWS) + 1 and reloaded.index.ntotal == reloaded.size
    top = reloaded.search(ADDED_QUESTION, top_k=2)[0]
    assert top["text"] == ADDED_FACT and top["source"] == "notes"
    assert "Quelmont" in reloaded.search(CAPITAL_QUESTION, top_k=1)[0]["text"]
    metadata = json.loads((tmp_path / "embeddings_metadata.json").read_text())
    assert metadata["dimension"] == 384 and metadata["count"] == reloaded.size and metadata["normalized"]


def _pair(folder):
    """What a reader gets: the index size, and the documents (which must be that many)."""
    loaded = RAGStore.load(folder)
    assert loaded.index.ntotal == loaded.size
    return loaded.size, [d["text"] for d in loaded.documents]


def test_a_save_that_fails_before_its_documents_are_written_leaves_the_old_index_whole(tmp_path, monkeypatch):
    store = build_store(tmp_path, FACT_ROWS, SETTINGS)
    before = _pair(tmp_path)
    real = store_module.json.dumps

    def fail_on_documents(data, *args, **kwargs):
        if isinstance(data, list):  # documents.json is the one list the store writes
            raise OSError("disk full")
        return real(data, *args, **kwargs)

    monkeypatch.setattr(store_module.json, "dumps", fail_on_documents)
    with pytest.raises(OSError):
        store.add([ADDED_FACT], source="notes")
    monkeypatch.undo()
    assert _pair(tmp_path) == before  # the previous index with its own documents: retrieval still works
    assert "Quelmont" in RAGStore.load(tmp_path).search(CAPITAL_QUESTION, top_k=1)[0]["text"]
    RAGStore.load(tmp_path).add([ADDED_FACT], source="notes")  # and the next save goes through
    assert _pair(tmp_path)[0] == before[0] + 1


def test_a_save_that_crashes_between_its_renames_is_completed_by_the_next_load(tmp_path, monkeypatch):
    store = build_store(tmp_path, FACT_ROWS, SETTINGS)
    real = os.replace

    def crash_before_the_index(src, dst):
        if str(dst).endswith(store_module.INDEX_FILE):
            raise KeyboardInterrupt  # the process dies with the new documents in place, the old index not
        return real(src, dst)

    monkeypatch.setattr(store_module.os, "replace", crash_before_the_index)
    with pytest.raises(KeyboardInterrupt):
        store.add([ADDED_FACT], source="notes")
    monkeypatch.undo()
    size, texts = _pair(tmp_path)
    assert size == len(FACT_ROWS) + 1 and texts[-1] == ADDED_FACT
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(FILES)  # nothing staged is left over


@pytest.mark.slow
def test_rag_method_writes_exactly_its_four_files_and_reports_progress(tiny_model_dir, tmp_path):
    outcome, events = run_method("rag", tiny_model_dir, tmp_path, rows=FACT_ROWS,
                                 rag={"chunk_size": 200, "chunk_overlap": 20, "batch_size": 4})
    assert outcome == "completed"
    assert files_in(tmp_path) == set(f"rag_model/{name}" for name in FILES)
    assert [e["step"] for e in events if e["type"] == "progress"] == [1, 2]
    assert events[-1]["metrics"]["documents"] == len(FACT_ROWS)
    store = RAGStore.load(tmp_path / "rag_model")
    assert store.config["model_path"] == str(tiny_model_dir) and store.config["generator"] is None
    assert "Quelmont" in store.search(CAPITAL_QUESTION)[0]["text"]


@pytest.mark.slow
def test_rag_then_sft_adds_a_generator_adapter(tiny_model_dir, tmp_path):
    outcome, _ = run_method("rag", tiny_model_dir, tmp_path, rows=FACT_ROWS, rag={"then_sft": True})
    assert outcome == "completed"
    assert (tmp_path / "rag_model" / "generator" / "adapter_model.safetensors").is_file()
    assert RAGStore.load(tmp_path / "rag_model").config["generator"] == "generator"


def test_rag_stop_before_the_index_is_complete_writes_nothing(tiny_model_dir, tmp_path):
    outcome, _ = run_method("rag", tiny_model_dir, tmp_path, rows=FACT_ROWS, stop=lambda: True)
    assert outcome == "stopped" and not (tmp_path / "rag_model").exists()


@pytest.mark.parametrize("name, expected, via", [
    ("llama3.2:3b", "meta-llama/Llama-3.2-3B-Instruct", "ollama"),
    ("qwen3:1.7b", "Qwen/Qwen3-1.7B", "ollama"),
    ("mistral", "mistralai/Mistral-7B-Instruct-v0.3", "ollama"),
    ("Mistral:latest", "mistralai/Mistral-7B-Instruct-v0.3", "ollama"),
    ("qwen/qwen3-4b", "Qwen/Qwen3-4B", "catalogue"),
    ("someorg/some-model", "someorg/some-model", "hub"),
    ("/models/mine", "/models/mine", "path"),
])
def test_model_names_resolve_through_the_catalogue(name, expected, via):
    resolved = resolve_model_name(name)
    assert (resolved.model, resolved.via) == (expected, via)


def test_unknown_model_names_get_close_matches():
    with pytest.raises(UnknownModelName) as info:
        resolve_model_name("llama3.3:3b")
    assert "llama3.2:3b" in info.value.suggestions and "llama3.2:3b" in str(info.value)
    with pytest.raises(UnknownModelName) as info:
        resolve_model_name("zzzzqqq")
    assert info.value.suggestions == []
