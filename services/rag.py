"""RAG over a finished session's index: retrieve, add documents, and answer with retrieved context.

Indexes are loaded lazily from ``outputs/<id>/rag_model/`` (so they survive restarts) and cached per session
(reloaded when the files change); one lock per index serialises additions with searches. Generation loads
a transformers model in the web process, kept in a one-entry cache: fine for small models and for checking an
index; heavy serving belongs to the inference worker (the Test step's issue).
"""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from flask import current_app

from core.methods.rag import GENERATOR, OUTPUT
from core.rag.store import INDEX_FILE, RAGStore
from services.errors import ConflictError, ServiceError
from services.storage import resolve_inside
from services.training import get_training_service
from services.training.status import ACTIVE, Status

MAX_QUERY_CHARS = 4000
MAX_TOP_K = 100
MAX_DOCUMENTS_PER_CALL = 1000
MAX_DOCUMENT_CHARS = 200_000
ANSWER_SYSTEM_PROMPT = ("Answer the question using the numbered context passages. If they do not contain the "
                        "answer, say so.")

_lock = threading.Lock()
_stores: dict[str, tuple[float, RAGStore, threading.Lock]] = {}
_generator: dict[str, Any] = {}


def _field_error(path: str, message: str, hint: str = "") -> ServiceError:
    return ServiceError(f"{path}: {message}", details=[{"path": path, "message": message, "hint": hint}])


def _folder(session_id: str) -> Path:
    session = get_training_service().get(session_id)
    if (session.config or {}).get("method") != "rag":
        raise ServiceError(f"Session {session_id} was trained with {session.config.get('method', 'grpo')}, "
                           "not rag: it has no retrieval index.")
    folder = resolve_inside(current_app.config["OUTPUT_FOLDER"], session.id, OUTPUT)
    if not (folder / INDEX_FILE).is_file():
        raise ConflictError(f"Session {session_id} is {session.status}: its index is not built yet.")
    return folder


def _store(session_id: str) -> tuple[RAGStore, threading.Lock]:
    folder = _folder(session_id)
    stamp = (folder / INDEX_FILE).stat().st_mtime
    key = str(folder)  # the folder, not the id: several apps (tests) may share this process
    with _lock:
        cached = _stores.get(key)
        if cached is None or (cached[0] != stamp and not cached[2].locked()):
            cached = (stamp, RAGStore.load(folder), cached[2] if cached else threading.Lock())
            _stores[key] = cached
    return cached[1], cached[2]


def _query(data: dict) -> tuple[str, int | None]:
    query = data.get("query")
    if not isinstance(query, str) or not query.strip():
        raise _field_error("query", "send the question as a non-empty string")
    if len(query) > MAX_QUERY_CHARS:
        raise _field_error("query", f"at most {MAX_QUERY_CHARS} characters")
    top_k = data.get("top_k")
    if top_k is not None and (not isinstance(top_k, int) or isinstance(top_k, bool) or not 1 <= top_k <= MAX_TOP_K):
        raise _field_error("top_k", f"must be a whole number from 1 to {MAX_TOP_K}")
    return query, top_k


def retrieve(session_id: str, data: dict) -> dict:
    query, top_k = _query(data)
    store, lock = _store(session_id)
    with lock:
        documents = store.search(query, top_k)
    return {"session_id": session_id, "query": query, "documents": documents, "index_size": store.size}


def add_documents(session_id: str, data: dict) -> dict:
    """Append ``documents`` (strings or ``{"text"}`` objects) to the index without rebuilding it."""
    session = get_training_service().get(session_id)
    if Status(session.status) in ACTIVE:
        raise ConflictError(f"Session {session_id} is {session.status}: add documents once its index is built.")
    raw = data.get("documents")
    if not isinstance(raw, list) or not raw:
        raise _field_error("documents", "send a non-empty list of texts", 'e.g. {"documents": ["some text"]}')
    if len(raw) > MAX_DOCUMENTS_PER_CALL:
        raise _field_error("documents", f"at most {MAX_DOCUMENTS_PER_CALL} per call", "Send them in batches.")
    texts = []
    for i, item in enumerate(raw):
        text = item.get("text") if isinstance(item, dict) else item
        if not isinstance(text, str) or not text.strip():
            raise _field_error(f"documents.{i}", "each document needs some text")
        if len(text) > MAX_DOCUMENT_CHARS:
            raise _field_error(f"documents.{i}", f"at most {MAX_DOCUMENT_CHARS} characters")
        texts.append(text)
    source = str(data.get("source") or "added")[:200]
    store, lock = _store(session_id)
    with lock:
        added = store.add(texts, source=source)
    return {"session_id": session_id, "added": len(added), "documents": added, "index_size": store.size}


def _load_generator(model_path: str, adapter: str | None):
    key = f"{model_path}|{adapter}"
    if key not in _generator:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(adapter or model_path)
        model = AutoModelForCausalLM.from_pretrained(model_path)
        if adapter:
            from peft import PeftModel

            model = PeftModel.from_pretrained(model, adapter)
        model.eval()
        _generator.clear()  # one model at a time: memory stays bounded
        _generator[key] = (model, tokenizer, threading.Lock())
    return _generator[key]


def ask(session_id: str, data: dict) -> dict:
    """Retrieve, then generate an answer from the context with the base model or the trained generator."""
    query, top_k = _query(data)
    choice = data.get("model", "base")
    if choice not in ("base", "trained"):
        raise _field_error("model", "must be 'base' or 'trained'", "'trained' needs rag.then_sft.")
    max_new_tokens = data.get("max_new_tokens", 128)
    if not isinstance(max_new_tokens, int) or isinstance(max_new_tokens, bool) or not 1 <= max_new_tokens <= 2048:
        raise _field_error("max_new_tokens", "must be a whole number from 1 to 2048")
    store, lock = _store(session_id)
    with lock:
        documents = store.search(query, top_k)
    adapter = None
    if choice == "trained":
        adapter_dir = store.folder / GENERATOR
        if not (adapter_dir / "adapter_config.json").is_file():
            raise _field_error("model", "this index has no trained generator",
                               "Train with rag.then_sft set, or ask with model 'base'.")
        adapter = str(adapter_dir)
    model_path = store.config.get("model_path") or store.config.get("base_model")
    if not model_path:
        raise ServiceError("This index does not name a generator model.")
    context = "\n\n".join(f"[{d['rank']}] {d['text']}" for d in documents)
    messages = [{"role": "system", "content": ANSWER_SYSTEM_PROMPT},
                {"role": "user", "content": f"Context:\n{context}\n\nQuestion: {query}"}]
    answer = _generate(model_path, adapter, messages, max_new_tokens)
    return {"session_id": session_id, "query": query, "answer": answer, "documents": documents, "model": choice}


def _generate(model_path: str, adapter: str | None, messages: list[dict], max_new_tokens: int) -> str:
    import torch

    model, tokenizer, lock = _load_generator(model_path, adapter)
    with lock, torch.inference_mode():
        inputs = tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt",
                                               return_dict=True)
        output = model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False,
                                pad_token_id=tokenizer.pad_token_id or tokenizer.eos_token_id)
    return tokenizer.decode(output[0, inputs["input_ids"].shape[1]:], skip_special_tokens=True).strip()
