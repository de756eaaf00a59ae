"""Split texts into overlapping chunks of at most ``size`` characters, cut between words.

Hand-written (a dozen lines) rather than pulling a text-splitter framework for one function: a chunk never
cuts a word (a single word longer than ``size`` becomes a chunk of its own), and neighbours share up to
``overlap`` characters of whole words, so a fact at a boundary is whole in at least one chunk.
"""
from __future__ import annotations

import re

_WORD = re.compile(r"\S+")


def chunk_text(text: str, size: int, overlap: int) -> list[str]:
    if overlap >= size:
        raise ValueError("chunk overlap must be smaller than the chunk size")
    words = [(m.start(), m.end()) for m in _WORD.finditer(text or "")]
    chunks: list[str] = []
    i = 0
    while i < len(words):
        start = words[i][0]
        j = i + 1
        while j < len(words) and words[j][1] - start <= size:
            j += 1
        chunks.append(" ".join(text[s:e] for s, e in words[i:j]))
        if j == len(words):
            break
        end = words[j - 1][1]
        k = j  # step back over the words that fit in the overlap, always moving forward
        while k - 1 > i and words[k - 1][0] >= end - overlap:
            k -= 1
        i = k
    return chunks


def row_text(row: dict, text_field: str | None) -> str:
    """The text of one dataset row to index: a chosen field, or the instruction and response together."""
    if text_field:
        if text_field not in row:
            raise KeyError(text_field)
        return str(row[text_field] or "")
    parts = [str(row.get("instruction") or "").strip(), str(row.get("response") or "").strip()]
    return "\n".join(p for p in parts if p)
