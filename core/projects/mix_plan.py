"""Plan a project's dataset mix: how many training and eval rows each source gives, before any row is read.

Percentages are shares of the final mix (as in oumi): the traits split
``max_rows`` (equally, or by ``trait_weights``), each source takes its
percentage of its trait's part. A source too small for its part gives what it
has and the shortfall is reported; nothing is silently refilled from the
others. Planning is pure arithmetic on counts, so the service can show it
before building.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

from core.datasets.loader import iter_examples
from core.datasets.spec import DatasetSpec
from core.projects.mix_alloc import largest_remainder, normalised, row_weights

TRAITS = ("reasoning", "coding", "general")
UNITS = ("rows", "tokens")
DUPLICATION_WARNING = 3.0  # above this many copies per distinct row on average, upsampling is called out
EVAL_MAX_FRACTION = 5  # a source holds out at most 1/5 of its rows for eval (but one when it has two)
PERCENT_TOLERANCE = 0.01


class MixError(ValueError):
    """The mix cannot be planned or built as asked (bad shares, unknown trait, a plan that does not match)."""


@dataclass(frozen=True)
class MixSource:
    key: str  # "dataset:12" or "builtin:arithmetic": the stable id the manifest records
    trait: str  # one of TRAITS
    label: str  # display name
    percentage: float  # share within its trait, 0-100
    spec: DatasetSpec  # how to read the rows
    rows_available: int | None = None  # usable rows when known (the dataset profile); None: counted
    checksum: str | None = None  # sha256 of the source file (None for built-ins and the Hub)


@dataclass(frozen=True)
class SourcePlan:
    """One source's part of the mix; ``rows`` are training rows, ``eval_rows`` are held out beside them."""

    key: str
    trait: str
    label: str
    percentage: float
    requested_rows: int
    rows: int
    eval_rows: int
    available_rows: int
    shortfall: int
    duplication_factor: float  # contributed rows / distinct rows used (1.0 without repeats)
    share_of_rows: float
    share_of_tokens: float | None
    tokens_per_row: float | None

    @property
    def distinct_rows(self) -> int:
        return min(self.rows, max(0, self.available_rows - self.eval_rows))

    def to_dict(self) -> dict:
        data = asdict(self)
        data["duplication_factor"] = round(self.duplication_factor, 4)
        data["share_of_rows"] = round(self.share_of_rows, 6)
        if self.share_of_tokens is not None:
            data["share_of_tokens"] = round(self.share_of_tokens, 6)
        return data


@dataclass(frozen=True)
class MixPlan:
    sources: tuple[SourcePlan, ...]
    max_rows: int
    unit: str
    trait_shares: dict[str, float]  # normalised weight of each present trait
    upsample: bool
    eval_rows_per_trait: int
    warnings: tuple[str, ...]

    @property
    def total_rows(self) -> int:
        return sum(s.rows for s in self.sources)

    @property
    def total_eval_rows(self) -> int:
        return sum(s.eval_rows for s in self.sources)

    def source(self, key: str) -> SourcePlan:
        return next(s for s in self.sources if s.key == key)

    def traits(self) -> dict[str, dict]:
        """Per-trait totals, in TRAITS order."""
        out = {}
        for trait, share in self.trait_shares.items():
            members = [s for s in self.sources if s.trait == trait]
            tokens = [s.share_of_tokens for s in members]
            out[trait] = {
                "share": round(share, 6),
                "requested_rows": sum(s.requested_rows for s in members),
                "rows": sum(s.rows for s in members), "eval_rows": sum(s.eval_rows for s in members),
                "shortfall": sum(s.shortfall for s in members),
                "share_of_rows": round(sum(s.share_of_rows for s in members), 6),
                "share_of_tokens": None if None in tokens else round(sum(tokens), 6)}
        return out

    def to_dict(self) -> dict:
        return {"max_rows": self.max_rows, "unit": self.unit, "upsample": self.upsample,
                "eval_rows_per_trait": self.eval_rows_per_trait, "total_rows": self.total_rows,
                "total_eval_rows": self.total_eval_rows, "traits": self.traits(),
                "sources": [s.to_dict() for s in self.sources], "warnings": list(self.warnings)}


def count_rows(spec: DatasetSpec) -> int:
    """Usable rows of a dataset: one streaming pass, nothing kept."""
    return sum(1 for _ in iter_examples(spec))


def plan_mix(sources: Sequence[MixSource], max_rows: int, *, unit: str = "rows",
             trait_weights: Mapping[str, float] | None = None, tokens_per_row: Mapping[str, float] | None = None,
             upsample: bool = False, eval_rows_per_trait: int = 16) -> MixPlan:
    """How many rows each source gives to a mix of ``max_rows`` training rows (plus the eval slices).

    ``tokens_per_row`` (mean tokens of a source's rows, by key) is required for
    ``unit="tokens"`` and optional otherwise (it then fills ``share_of_tokens``).
    Sources with ``rows_available=None`` are counted here (one pass each).
    """
    _check(sources, max_rows, unit, eval_rows_per_trait)
    trait_shares = _trait_shares(sources, trait_weights)
    tokens = _tokens(sources, tokens_per_row, required=unit == "tokens")
    available = [s.rows_available if s.rows_available is not None else count_rows(s.spec) for s in sources]
    shares = [trait_shares[s.trait] * s.percentage / _trait_percent(sources, s.trait) for s in sources]
    requested = largest_remainder(row_weights(shares, tokens if unit == "tokens" else None), max_rows)
    held_out = _eval_rows(sources, available, eval_rows_per_trait)
    parts = [_contribution(want, have - held, upsample) for want, have, held in zip(requested, available, held_out)]
    row_shares, token_shares = _shares([rows for rows, _ in parts], tokens)
    plans = tuple(SourcePlan(
        key=s.key, trait=s.trait, label=s.label, percentage=s.percentage, requested_rows=requested[i],
        rows=parts[i][0], eval_rows=held_out[i], available_rows=available[i], shortfall=requested[i] - parts[i][0],
        duplication_factor=parts[i][1], share_of_rows=row_shares[i], share_of_tokens=token_shares[i],
        tokens_per_row=tokens[i] if tokens else None) for i, s in enumerate(sources))
    return MixPlan(sources=plans, max_rows=max_rows, unit=unit, trait_shares=trait_shares, upsample=upsample,
                   eval_rows_per_trait=eval_rows_per_trait, warnings=tuple(plan_warnings(plans)))


def _shares(rows: Sequence[int], tokens: Sequence[float] | None) -> tuple[list[float], list[float | None]]:
    """Each source's share of the mix's rows, and of its tokens when the tokens per row are known."""
    row_shares = normalised(rows)
    if tokens is None:
        return row_shares, [None] * len(rows)
    return row_shares, normalised([n * t for n, t in zip(rows, tokens)])


def plan_warnings(plans: Sequence[SourcePlan]) -> list[str]:
    """Shortfalls and heavy repetition, one line each, for the user to read."""
    warnings = []
    for s in plans:
        if s.shortfall:
            warnings.append(f"{s.label} ({s.key}) is short by {s.shortfall} rows: it gives {s.rows} of the "
                            f"{s.requested_rows} asked for ({s.available_rows} available, {s.eval_rows} held out "
                            "for eval); the other sources are not used to make up the difference")
        if s.duplication_factor > DUPLICATION_WARNING:
            warnings.append(f"{s.label} ({s.key}) is repeated {s.duplication_factor:.1f}x: {s.rows} rows from "
                            f"{s.distinct_rows} distinct ones")
    return warnings


def _contribution(requested: int, for_training: int, upsample: bool) -> tuple[int, float]:
    """(rows given, duplication factor) of a source with ``for_training`` rows left after its eval slice."""
    for_training = max(0, for_training)
    if requested <= for_training or not upsample or for_training == 0:
        return min(requested, for_training), 1.0
    return requested, requested / for_training


def _eval_rows(sources: Sequence[MixSource], available: Sequence[int], per_trait: int) -> list[int]:
    """Each trait's eval slice split over its sources by percentage, within what each source can spare."""
    counts = [0] * len(sources)
    if per_trait <= 0:
        return counts
    for trait in TRAITS:
        members = [i for i, s in enumerate(sources) if s.trait == trait]
        split = largest_remainder([sources[i].percentage for i in members], per_trait)
        for i, want in zip(members, split):
            counts[i] = 0 if available[i] < 2 else max(1, min(want, available[i] // EVAL_MAX_FRACTION))
    return counts


def _trait_percent(sources: Sequence[MixSource], trait: str) -> float:
    return sum(s.percentage for s in sources if s.trait == trait)


def _trait_shares(sources: Sequence[MixSource], weights: Mapping[str, float] | None) -> dict[str, float]:
    present = [t for t in TRAITS if any(s.trait == t for s in sources)]
    if weights is None:
        return dict(zip(present, normalised([1.0] * len(present))))
    unknown = set(weights) - set(TRAITS)
    missing = [t for t in present if t not in weights]
    if unknown or missing:
        raise MixError(f"trait weights: unknown {sorted(unknown)}, missing {missing}")
    values = [float(weights[t]) for t in present]
    if any(not math.isfinite(v) or v < 0 for v in values) or sum(values) <= 0:
        raise MixError("trait weights must be finite, not negative, and not all zero")
    return dict(zip(present, normalised(values)))


def _tokens(sources: Sequence[MixSource], tokens_per_row: Mapping[str, float] | None,
            required: bool) -> list[float] | None:
    if tokens_per_row is None or any(s.key not in tokens_per_row for s in sources):
        if required:
            raise MixError("a mix in tokens needs the mean tokens per row of every source")
        return None
    values = [float(tokens_per_row[s.key]) for s in sources]
    if any(not math.isfinite(v) or v <= 0 for v in values):
        raise MixError("tokens per row must be positive")
    return values


def _check(sources: Sequence[MixSource], max_rows: int, unit: str, eval_rows_per_trait: int) -> None:
    if not sources:
        raise MixError("a mix needs at least one source")
    if len({s.key for s in sources}) != len(sources):
        raise MixError("each source may appear once in a mix")
    if isinstance(max_rows, bool) or not isinstance(max_rows, int) or max_rows < 1:
        raise MixError("max_rows must be a positive whole number")
    if unit not in UNITS:
        raise MixError(f"unit must be one of {', '.join(UNITS)}")
    if eval_rows_per_trait < 0:
        raise MixError("eval_rows_per_trait must not be negative")
    for s in sources:
        if s.trait not in TRAITS:
            raise MixError(f"{s.key}: unknown trait {s.trait!r}; use one of {', '.join(TRAITS)}")
        if not 0 < s.percentage <= 100:
            raise MixError(f"{s.key}: a percentage must be above 0 and at most 100")
        if s.rows_available is not None and s.rows_available < 0:
            raise MixError(f"{s.key}: rows_available must not be negative")
    for trait in {s.trait for s in sources}:
        if abs(_trait_percent(sources, trait) - 100) > PERCENT_TOLERANCE:
            raise MixError(f"the {trait} percentages add up to {_trait_percent(sources, trait):g}, not 100")
