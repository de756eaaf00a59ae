"""The reward-component contract: one scorer, typed parameters, the fields it needs, a one-line summary.

A component scores one completion at a time (``score``), or a whole batch
(``score_batch``, for scorers that pay a fixed cost per call such as the
sandbox). :class:`ComponentReward` turns a component plus its parameters into
TRL's reward function (``fn(prompts, completions, **columns) -> list[float |
None]``); it is a plain class carrying ``__name__`` so it pickles into the
training child. The same objects score the Rewards step's tests and evaluations.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict

from core.datasets.prompts import DEFAULT_MARKERS, Markers
from core.training.prompts import completion_text

Score = float | None
Scored = tuple[Score, str]  # (score, why): the note is what the Rewards step shows beside the number


class RewardAborted(RuntimeError):
    """A reward failed so often in a row that the run must stop (the trainer's per-batch guard re-raises it)."""


class Params(BaseModel):
    """Base for component parameters: unknown keys are errors, like the rest of the config schema."""

    model_config = ConfigDict(extra="forbid")


class NoParams(Params):
    pass


@dataclass(frozen=True)
class Sample:
    prompt: str
    completion: str
    fields: Mapping[str, Any] = field(default_factory=dict)
    tokens: int | None = None  # completion length in tokens when the trainer gives it

    def field_text(self, name: str) -> str | None:
        value = self.fields.get(name)
        if value is None:
            return None
        text = str(value)
        return text if text.strip() else None


@dataclass(frozen=True)
class Context:
    markers: Markers = DEFAULT_MARKERS


@dataclass(frozen=True)
class Component:
    """A registry entry. ``score`` returns a score or (score, note); scores are in [0, 1] unless ``bounds``
    says otherwise; ``None`` means not applicable (a needed field is missing, no parser for the language)."""

    name: str
    family: str
    summary: str
    params: type[Params] = NoParams
    needs: tuple[str, ...] = ()
    score: Callable[[Sample, Any, Context], Score | Scored] | None = None
    score_batch: Callable[[Sequence[Sample], Any, Context], list[Scored]] | None = None
    bounds: tuple[float, float] = (0.0, 1.0)

    def parse_params(self, raw: Mapping[str, Any] | None) -> Params:
        return self.params.model_validate(dict(raw or {}))

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "family": self.family, "summary": self.summary, "needs": list(self.needs),
                "bounds": list(self.bounds), "params": self.params.model_json_schema()}

    def needed(self, params: Params) -> tuple[str, ...]:
        """The dataset fields this component needs with these parameters (a ``field`` parameter renames one)."""
        if getattr(params, "tests", None):  # code_execution with its tests in the parameters
            return ()
        chosen = getattr(params, "field", None)
        return (chosen,) if self.needs and isinstance(chosen, str) and chosen else self.needs

    def run(self, samples: Sequence[Sample], params: Params, context: Context) -> list[Scored]:
        results: list[Scored] = []
        if self.score_batch is not None:
            return [_normalise(r, self.bounds) for r in self.score_batch(samples, params, context)]
        needed = self.needed(params)
        for sample in samples:
            absent = [n for n in needed if sample.field_text(n) is None]
            if absent:
                results.append((None, f"needs the dataset field {', '.join(absent)}"))
                continue
            try:
                results.append(_normalise(self.score(sample, params, context), self.bounds))
            except Exception as exc:  # a scorer bug scores None for this sample; the run goes on
                results.append((None, f"{type(exc).__name__}: {exc}"))
        return results


def _normalise(result: Score | Scored, bounds: tuple[float, float]) -> Scored:
    score, note = result if isinstance(result, tuple) else (result, "")
    if score is None:
        return None, note
    value = float(score)
    if not math.isfinite(value):
        return None, note or "not a finite number"
    return min(max(value, bounds[0]), bounds[1]), note


def samples_from_batch(prompts: Sequence, completions: Sequence, columns: Mapping[str, Any]) -> list[Sample]:
    """TRL's batch (parallel lists) as samples; per-row dataset columns become each sample's fields."""
    n = len(completions)
    per_row = {k: v for k, v in columns.items() if isinstance(v, (list, tuple)) and len(v) == n
               and k not in ("completion_ids", "prompts", "completions")}
    ids = columns.get("completion_ids")
    samples = []
    for i, completion in enumerate(completions):
        prompt = prompts[i] if prompts is not None and i < len(prompts) else ""
        if isinstance(prompt, list):
            prompt = next((str(m.get("content", "")) for m in reversed(prompt) if m.get("role") == "user"), "")
        tokens = len(ids[i]) if isinstance(ids, (list, tuple)) and i < len(ids) else None
        samples.append(Sample(str(prompt), completion_text(completion), {k: v[i] for k, v in per_row.items()},
                              tokens))
    return samples


class ComponentReward:
    """TRL reward function for one component with its parameters; ``__name__`` is the metric name."""

    def __init__(self, component: str, params: Mapping[str, Any] | None = None, markers: Markers = DEFAULT_MARKERS,
                 name: str | None = None):
        from core.rewards import get_component

        self.component = get_component(component)
        self.params = self.component.parse_params(params)
        self.context = Context(markers)
        self.__name__ = name or component

    def __getstate__(self):
        return {"component": self.component.name, "params": self.params.model_dump(), "markers": self.context.markers,
                "name": self.__name__}

    def __setstate__(self, state):
        self.__init__(state["component"], state["params"], state["markers"], state["name"])

    def explain(self, samples: Sequence[Sample]) -> list[Scored]:
        return self.component.run(samples, self.params, self.context)

    def __call__(self, prompts, completions, **columns) -> list[Score]:
        return [score for score, _ in self.explain(samples_from_batch(prompts, completions, columns))]


class WeightedReward:
    """Several components folded into one reward (a saved no-code reward): the weighted mean of the parts that
    apply, ``None`` when none does. One curve in the monitor, under the reward's own name."""

    def __init__(self, name: str, parts: Sequence[tuple[ComponentReward, float]]):
        self.__name__ = name
        self.parts = list(parts)

    def explain(self, samples: Sequence[Sample]) -> list[Scored]:
        per_part = [(part.explain(samples), weight, part.__name__) for part, weight in self.parts]
        results: list[Scored] = []
        for i in range(len(samples)):
            total = weights = 0.0
            notes = []
            for scored, weight, label in per_part:
                score, note = scored[i]
                notes.append(f"{label}={'n/a' if score is None else f'{score:.2f}'}" + (f" ({note})" if note else ""))
                if score is not None:
                    total, weights = total + weight * score, weights + abs(weight)
            results.append((total / weights if weights else None, "; ".join(notes)))
        return results

    def __call__(self, prompts, completions, **columns) -> list[Score]:
        return [score for score, _ in self.explain(samples_from_batch(prompts, completions, columns))]
