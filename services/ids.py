"""Database ids from requests: what fits the id columns (64-bit signed) or nothing.

An integer past 2^63 - 1 reaches the database driver as an OverflowError (SQLite) and became a 500; a body
field is checked here instead (a 400 from the caller), a URL part by routes/converters.py (a 404)."""
from __future__ import annotations

from typing import Any

MAX_ID = 2**63 - 1


def as_id(value: Any) -> int | None:
    """``value`` as a positive id (an int, or a string of digits), or ``None`` when it cannot name a row."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip()
        if not text.isascii() or not text.isdigit() or len(text) > 19:
            return None
        value = int(text)
    if not isinstance(value, int) or not 1 <= value <= MAX_ID:
        return None
    return value
