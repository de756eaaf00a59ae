"""Database ids from requests: what fits the id columns or nothing.

The id columns are SQLAlchemy ``Integer``: 64-bit in SQLite but 32-bit (INTEGER) in PostgreSQL, so the largest
id either database can hold is 2^31 - 1. A larger integer reached the driver as an OverflowError (SQLite, past
2^63) or a DataError (PostgreSQL, past 2^31) and became a 500; a body field is checked here instead (a 400 from
the caller), a URL part by routes/converters.py (a 404)."""
from __future__ import annotations

from typing import Any

MAX_ID = 2**31 - 1


def as_id(value: Any) -> int | None:
    """``value`` as a positive id (an int, or a string of digits), or ``None`` when it cannot name a row."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip()
        if not text.isascii() or not text.isdigit() or len(text) > 10:
            return None
        value = int(text)
    if not isinstance(value, int) or not 1 <= value <= MAX_ID:
        return None
    return value
