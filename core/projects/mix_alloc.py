"""Integer arithmetic of a mix: share a whole number of rows among weighted sources, exactly and repeatably."""
from __future__ import annotations

from collections.abc import Sequence

# Fractional parts are compared after rounding so that float noise (0.1 + 0.2) never decides who gets a row.
_TIE_DIGITS = 9


def largest_remainder(weights: Sequence[float], total: int) -> list[int]:
    """Integers proportional to ``weights`` that add up to exactly ``total`` (Hamilton's method).

    Each gets the floor of its quota; the rows left go to the largest
    fractional parts, ties to the earlier weight, so the result depends only on
    the inputs. All-zero weights get nothing.
    """
    if total < 0 or any(w < 0 for w in weights):
        raise ValueError("weights and total must not be negative")
    whole = float(sum(weights))
    if total == 0 or whole <= 0:
        return [0] * len(weights)
    quotas = [w * total / whole for w in weights]
    counts = [int(q) for q in quotas]
    left = total - sum(counts)
    order = sorted(range(len(weights)), key=lambda i: (-round(quotas[i] - counts[i], _TIE_DIGITS), i))
    for i in order[:left]:
        counts[i] += 1
    return counts


def normalised(weights: Sequence[float]) -> list[float]:
    """Weights scaled to sum to 1 (all zeros stay zeros)."""
    whole = float(sum(weights))
    return [w / whole if whole > 0 else 0.0 for w in weights]


def row_weights(shares: Sequence[float], tokens_per_row: Sequence[float] | None) -> list[float]:
    """What the row counts must be proportional to for the shares to hold in rows, or in tokens.

    In tokens, a source whose rows are twice as long needs half the rows for
    the same share: ``rows_i ∝ share_i / mean_tokens_i``.
    """
    if tokens_per_row is None:
        return list(shares)
    if any(t <= 0 for t in tokens_per_row):
        raise ValueError("tokens per row must be positive")
    return [s / t for s, t in zip(shares, tokens_per_row)]
