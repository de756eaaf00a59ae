"""Which rows of one source a mix takes: a seeded permutation of its row indices, eval first, training after.

The permutation depends only on the build seed and the source key, so a
source keeps its order when other sources are added or resized, and a larger
mix of the same source takes a superset of a smaller one's rows.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Selection:
    """Row indices to read, and the eval and training rows as positions ("ranks") into them.

    ``wanted`` is sorted, so one streaming pass finds every row; the ranks keep
    the seeded order (training ranks repeat, tiled, when upsampled).
    """

    wanted: np.ndarray
    eval_ranks: np.ndarray
    train_ranks: np.ndarray
    distinct: int  # the first ``distinct`` training ranks are all different; the rest repeat them


def source_rng(key: str, seed: int) -> np.random.Generator:
    """The generator of one source: the seed plus a stable offset from its key (never Python's ``hash``)."""
    offset = int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:4], "big")
    return np.random.default_rng((seed + offset) % 2 ** 63)


def select_rows(key: str, seed: int, available: int, eval_rows: int, rows: int) -> Selection:
    """The first ``eval_rows`` of the source's seeded order for eval, the next ones for training.

    When ``rows`` exceeds what is left (upsampling), the distinct training rows
    are repeated in the same order until there are ``rows`` of them.
    """
    order = source_rng(key, seed).permutation(available)
    eval_rows = min(eval_rows, available)
    distinct = min(rows, available - eval_rows)
    taken = order[:eval_rows + distinct]
    wanted = np.sort(taken)
    ranks = np.searchsorted(wanted, taken)
    pool = ranks[eval_rows:]
    train = np.resize(pool, rows) if rows > distinct and distinct else pool
    return Selection(wanted=wanted, eval_ranks=ranks[:eval_rows], train_ranks=train, distinct=distinct)
