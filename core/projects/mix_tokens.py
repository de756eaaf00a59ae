"""Mean tokens per row of a dataset, which a mix in tokens needs to turn token shares into row counts."""
from __future__ import annotations

import math
from collections.abc import Callable

from core.datasets.loader import iter_examples, seeded_sample
from core.datasets.spec import DatasetSpec

CHARS_PER_TOKEN = 4  # the usual English rule of thumb, for when no tokenizer can be loaded


def approx_token_count(text: str) -> int:
    """Tokens guessed from length (about four characters each): the fallback ``count_tokens``."""
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def estimate_tokens_per_row(spec: DatasetSpec, count_tokens: Callable[[str], int], sample: int = 1000,
                            seed: int = 3407) -> float:
    """Mean tokens of instruction + response over a seeded sample of ``sample`` rows (every row when fewer).

    The two fields are counted separately, as a chat template tokenises them
    in separate turns. One streaming pass; memory holds the sample only.
    An empty dataset gives 0.0.
    """
    rows = seeded_sample(iter_examples(spec), sample, seed)
    if not rows:
        return 0.0
    total = sum(count_tokens(row["instruction"]) + count_tokens(row.get("response", "")) for row in rows)
    return total / len(rows)
