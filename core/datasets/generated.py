"""The sampling loop both built-in generators share: distinct rows of one split, drawn from a seed."""
from __future__ import annotations

import random
import zlib
from collections.abc import Callable

SPLITS = ("train", "test")


def split_of(text: str) -> str:
    """A row's split depends on its text alone, so the splits can never overlap (10 % held out)."""
    return "test" if zlib.crc32(text.encode()) % 10 == 0 else "train"


def distinct_rows(make_row: Callable[[random.Random], dict], key: str, split: str, n: int, seed: int) -> list[dict]:
    """``n`` rows of ``split`` whose ``key`` texts are all different, the same for the same seed."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; use 'train' or 'test'")
    rng = random.Random(seed)
    rows: list[dict] = []
    seen: set[str] = set()
    for _ in range(200 * n + 1000):
        if len(rows) >= n:
            break
        row = make_row(rng)
        if row[key] not in seen and split_of(row[key]) == split:
            seen.add(row[key])
            rows.append(row)
    if len(rows) < n:
        raise ValueError(f"only {len(rows)} distinct {split} rows can be generated, {n} asked")
    return rows
