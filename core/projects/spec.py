"""The project body and its trait rules: one validator that the JSON API and the wizard (through
``POST /api/projects/check``) both use, reporting every violation at once.

The schema is pydantic like ``core.training_config`` (unknown keys refused, NaN refused, every error with its
path). The trait rules need to know about datasets (Ready? the caller's?), which core cannot look up: the
caller passes ``dataset_problem``, a function that says what is wrong with one dataset reference, or None.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from core.default_model import DEFAULT_MODEL_ID
from core.projects.mix_plan import TRAITS

TraitType = Literal["reasoning", "coding", "general"]
TRAIT_TYPES: tuple[str, ...] = TRAITS  # the mix planner's order; a test asserts the Literal lists the same
TRAIT_LABELS = {"reasoning": "reasoning", "coding": "coding", "general": "general/tools"}
TrainingType = Literal["qlora", "unsloth", "rag", "standard", "grpo"]
MAX_ROWS_PRESETS = (50_000, 100_000, 250_000, 500_000, 1_000_000)
MAX_ROWS_LIMIT = MAX_ROWS_PRESETS[-1]
# Percentages are entered with two decimals: a sum off by less than half a hundredth is rounding, not a mistake
# (33.33 + 33.33 + 33.34 is exactly 100 anyway; 99.9 is 0.1 short).
SUM_TOLERANCE = 0.005
MAX_DATASETS_PER_TRAIT = 32


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class DatasetShare(_Strict):
    dataset_id: int | None = Field(None, ge=1, le=2**31 - 1, description="An uploaded or added dataset's id.")
    source: str | None = Field(None, pattern=r"^builtin:[a-z0-9_-]{1,64}$",
                               description="A built-in dataset instead of an id, e.g. builtin:arithmetic.")
    percentage: float = Field(..., gt=0, le=100, description="Share of its trait, in % (shares of the final mix).")

    @model_validator(mode="after")
    def _one_reference(self) -> "DatasetShare":
        if (self.dataset_id is None) == (self.source is None):
            raise ValueError("give either dataset_id or source (builtin:<name>), not both or neither")
        return self

    @property
    def key(self) -> str:
        """The reference as one string: ``dataset:<id>`` or ``builtin:<name>`` (training configs' form too)."""
        return f"dataset:{self.dataset_id}" if self.dataset_id is not None else str(self.source)


class Trait(_Strict):
    trait_type: TraitType
    datasets: list[DatasetShare] = Field(..., max_length=MAX_DATASETS_PER_TRAIT)


class MixOptions(_Strict):
    unit: Literal["rows", "tokens"] = Field("rows", description="What the percentages are shares of.")
    seed: int = Field(3407, ge=0, le=2**32 - 1, description="Seed of the sampling: same seed, same mix.")
    upsample: bool = Field(False, description="Repeat rows of a dataset smaller than its share (warned above 3x).")
    trait_weights: dict[TraitType, float] | None = Field(
        None, description="Relative weight of each trait in max_rows; None: the present traits share it equally.")
    eval_rows_per_trait: int = Field(16, ge=0, le=10_000, description="Held-out rows per trait for per-trait "
                                                                      "eval loss; 0: none.")

    @model_validator(mode="after")
    def _positive_weights(self) -> "MixOptions":
        for trait, weight in (self.trait_weights or {}).items():
            if not weight > 0:
                raise ValueError(f"the weight of {trait} must be above 0")
        return self


class ProjectBody(_Strict):
    name: str = Field(..., min_length=1, max_length=200)
    description: str = Field("", max_length=2000)
    base_model: str = Field(DEFAULT_MODEL_ID, min_length=1, max_length=500,
                            description="Hub id, catalogue id or local folder of the base model.")
    training_type: TrainingType = Field("standard", description="The training method.")
    max_rows: int = Field(..., ge=1, le=MAX_ROWS_LIMIT,
                          description=f"Rows in the mix: {', '.join(f'{n:,}' for n in MAX_ROWS_PRESETS)}, or any "
                                      "smaller number.")
    output_dir: str | None = Field(None, max_length=1000, description="Folder under the Output Directory Base; "
                                                                      "empty: a folder named after the project.")
    traits: list[Trait] = Field(..., max_length=len(TRAIT_TYPES))
    mix: MixOptions = Field(default_factory=MixOptions)
    config: dict[str, Any] = Field(default_factory=dict, description="Training settings (the training config's "
                                   "sections, partial); model, method and dataset come from the project.")


def _error(path: str, message: str, hint: str = "") -> dict[str, str]:
    return {"path": path, "message": message, "hint": hint}


def _count_rule(trait: Trait, index: int) -> list[dict[str, str]]:
    """Reasoning and coding take exactly one dataset at 100 %; general/tools one or more summing to 100."""
    label, path = TRAIT_LABELS[trait.trait_type], f"traits.{index}.datasets"
    if not trait.datasets:
        return [_error(path, f"{label} needs at least one dataset", "Pick a dataset or remove the trait.")]
    if trait.trait_type in ("reasoning", "coding"):
        errors = []
        if len(trait.datasets) != 1:
            errors.append(_error(path, f"{label} takes exactly one dataset, not {len(trait.datasets)}",
                                 "Keep one dataset; mix several under general/tools."))
        for j, share in enumerate(trait.datasets):
            if not math.isclose(share.percentage, 100.0, abs_tol=SUM_TOLERANCE):
                errors.append(_error(f"{path}.{j}.percentage", f"the {label} dataset must be 100 %, not "
                                     f"{share.percentage:g} %", "Set it to 100."))
        return errors
    total = sum(share.percentage for share in trait.datasets)
    if abs(total - 100.0) > SUM_TOLERANCE:
        off = round(abs(total - 100.0), 4)
        side = "short of" if total < 100 else "over"
        return [_error(path, f"the {label} percentages sum to {round(total, 4):g}, {off:g} {side} 100",
                       "Adjust the percentages so that they add up to exactly 100.")]
    return []


def trait_errors(traits: list[Trait], dataset_problem: Callable[[str], str | None]) -> list[dict[str, str]]:
    """Every broken trait rule at once (see the module docstring for ``dataset_problem``)."""
    errors: list[dict[str, str]] = []
    seen_types: dict[str, int] = {}
    used: dict[str, str] = {}
    for i, trait in enumerate(traits):
        label = TRAIT_LABELS[trait.trait_type]
        if trait.trait_type in seen_types:
            errors.append(_error(f"traits.{i}.trait_type", f"{label} appears twice",
                                 "List each trait once; put several datasets under general/tools."))
        seen_types.setdefault(trait.trait_type, i)
        errors += _count_rule(trait, i)
        for j, share in enumerate(trait.datasets):
            path = f"traits.{i}.datasets.{j}"
            if share.key in used:
                where = "twice in " + label if used[share.key] == label else f"in {used[share.key]} and {label}"
                errors.append(_error(path, f"{share.key} is used {where}",
                                     "Use each dataset once in a project."))
                continue
            used[share.key] = label
            problem = dataset_problem(share.key)
            if problem:
                errors.append(_error(path, problem, ""))
    if "reasoning" not in seen_types:
        errors.append(_error("traits", "a reasoning trait is required", "Add a reasoning dataset."))
    return errors


def _weight_errors(body: ProjectBody) -> list[dict[str, str]]:
    present = {trait.trait_type for trait in body.traits}
    extra = sorted(set(body.mix.trait_weights or {}) - present)
    return [_error(f"mix.trait_weights.{name}", f"{TRAIT_LABELS[name]} has a weight but no datasets",
                   "Remove the weight or add the trait.") for name in extra]


class ProjectValidationError(ValueError):
    """Every problem of a project body at once, each with its field path and a hint."""

    def __init__(self, errors: list[dict[str, str]]):
        super().__init__("; ".join(f"{e['path']}: {e['message']}" for e in errors))
        self.errors = errors


def parse_body(data: Any) -> ProjectBody:
    """The body's shape and ranges (every schema error at once); the rules need a body of the right shape."""
    if not isinstance(data, dict):
        raise ProjectValidationError([_error("", "the project must be a JSON object")])
    try:
        return ProjectBody.model_validate(data)
    except ValidationError as exc:
        raise ProjectValidationError([
            _error(".".join(str(p) for p in e["loc"]), e["msg"]) for e in exc.errors(include_url=False)]) from None


def rule_errors(body: ProjectBody, dataset_problem: Callable[[str], str | None]) -> list[dict[str, str]]:
    """Every broken trait and weight rule of a well-shaped body."""
    return trait_errors(body.traits, dataset_problem) + _weight_errors(body)


def parse_project(data: Any, dataset_problem: Callable[[str], str | None]) -> ProjectBody:
    """The validated body, or ProjectValidationError listing every problem."""
    body = parse_body(data)
    errors = rule_errors(body, dataset_problem)
    if errors:
        raise ProjectValidationError(errors)
    return body
