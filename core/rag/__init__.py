"""Retrieval-augmented generation: chunk a dataset, embed the chunks, search them with FAISS."""
from core.rag.chunking import chunk_text, row_text
from core.rag.store import RAGStore, build_store

__all__ = ["chunk_text", "row_text", "RAGStore", "build_store"]
