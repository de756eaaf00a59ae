"""The reward library: components by name, presets by id, and the builder TRL's trainer and the tests use.

One library scores GRPO rewards, the Rewards step's tests and evaluations: nothing else re-implements a scorer.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from core.datasets.prompts import DEFAULT_MARKERS, Markers
from core.rewards import code, format as format_family, match, math as math_family, structure, writing
from core.rewards.base import (Component, ComponentReward, Params, RewardAborted, Sample, Score, Scored,
                               WeightedReward)
from core.rewards.custom import CodeReward
from core.rewards.presets import PRESETS, Preset, get_preset

COMPONENTS: dict[str, Component] = {c.name: c for family in (format_family, math_family, match, structure, code,
                                                               writing) for c in family.COMPONENTS}

__all__ = ["COMPONENTS", "PRESETS", "CodeReward", "Component", "ComponentReward", "Preset", "RewardAborted",
           "Sample", "Score", "Scored", "WeightedReward", "build_rewards", "get_component", "get_preset",
           "needed_fields", "score_samples"]


def get_component(name: str) -> Component:
    try:
        return COMPONENTS[name]
    except KeyError:
        raise KeyError(f"unknown reward component {name!r}; use one of: {', '.join(COMPONENTS)}") from None


def needed_fields(component: str, params: Mapping[str, Any] | None = None) -> tuple[str, ...]:
    c = get_component(component)
    return c.needed(c.parse_params(params))


def metric_name(text: str) -> str:
    """A reward's name as TRL logs it (``rewards/<name>/mean``): lower case, [a-z0-9_]."""
    return re.sub(r"[^a-z0-9_]+", "_", text.lower()).strip("_")[:48] or "reward"


def _unique(name: str, taken: set[str]) -> str:
    candidate, n = name, 2
    while candidate in taken:
        candidate, n = f"{name}_{n}", n + 1
    taken.add(candidate)
    return candidate


def _parts(items: Iterable) -> list[tuple[str, float, dict]]:
    """(name, weight, params) from tuples, dicts or schema objects (RewardComponent)."""
    parts = []
    for item in items:
        if isinstance(item, (tuple, list)):
            name, weight, params = (list(item) + [{}])[:3]
        elif isinstance(item, Mapping):
            name, weight, params = item["name"], item.get("weight", 1.0), item.get("params") or {}
        else:
            name, weight, params = item.name, item.weight, getattr(item, "params", None) or {}
        parts.append((str(name), float(weight), dict(params)))
    return parts


def custom_reward(definition: Mapping[str, Any], markers: Markers = DEFAULT_MARKERS, name: str | None = None):
    """The reward function of a saved custom reward: ``{name, kind: components | code, components, code}``."""
    label = name or metric_name(str(definition.get("name") or "custom"))
    if definition.get("kind") == "code":
        return CodeReward(label, str(definition.get("code") or ""), float(definition.get("timeout_seconds") or 2.0))
    taken: set[str] = set()
    return WeightedReward(label, [(ComponentReward(n, p, markers, _unique(n, taken)), w)
                                  for n, w, p in _parts(definition.get("components") or [])])


def build_rewards(reward_type: str, preset_name: str | None, components: Sequence, markers: Markers = DEFAULT_MARKERS,
                  custom: Sequence[Mapping[str, Any]] = ()) -> tuple[list, list[float]]:
    """Reward functions and their weights for a config's ``reward`` section; each function logs as its own
    ``rewards/<name>/…`` curve. ``custom`` holds resolved saved rewards (``{name, kind, ..., weight}``)."""
    if reward_type == "preset":
        chosen = [(p.component, p.weight, p.params) for p in get_preset(preset_name or "").parts]
    elif reward_type == "components":
        chosen = _parts(components)
    else:
        chosen = []
    taken: set[str] = set()
    funcs = [ComponentReward(n, p, markers, _unique(n, taken)) for n, _, p in chosen]
    weights = [w for _, w, _ in chosen]
    for definition in custom:
        funcs.append(custom_reward(definition, markers, _unique(metric_name(str(definition.get("name") or "custom")),
                                                                taken)))
        weights.append(float(definition.get("weight", 1.0)))
    return funcs, weights


def score_samples(funcs: Sequence, weights: Sequence[float], samples: Sequence[Sample]) -> dict[str, Any]:
    """Every function's score and note per sample, the weighted total (TRL's sum over the scores that apply)
    and the total normalised by the weights that applied; warnings when a reward gives no learning signal."""
    per_func = []
    for fn in funcs:
        try:
            per_func.append(fn.explain(samples))
        except RewardAborted as exc:
            per_func.append([(None, str(exc))] * len(samples))
    rows = []
    for i, sample in enumerate(samples):
        parts, total, applied = [], 0.0, 0.0
        for fn, weight, scored in zip(funcs, weights, per_func):
            score, note = scored[i]
            summary = getattr(getattr(fn, "component", None), "summary", None) or (
                "user code run in the sandbox" if isinstance(fn, CodeReward) else "weighted mean of its components")
            parts.append({"name": fn.__name__, "weight": weight, "score": score, "note": note, "summary": summary})
            if score is not None:
                total, applied = total + weight * score, applied + abs(weight)
        rows.append({"total": total if applied else None, "normalised": total / applied if applied else None,
                     "components": parts})
    warnings = []
    for fn, scored in zip(funcs, per_func):
        values = [s for s, _ in scored]
        applicable = [v for v in values if v is not None]
        if len(samples) >= 2 and len(applicable) == len(values) and len(set(applicable)) == 1:
            warnings.append({"reward": fn.__name__, "kind": "constant",
                             "message": f"{fn.__name__} gives every sample {applicable[0]:.2f}: GRPO learns nothing "
                                        "from a reward that never varies within a group."})
        if values and not applicable:
            notes = {note for _, note in scored if note}
            warnings.append({"reward": fn.__name__, "kind": "not_applicable",
                             "message": f"{fn.__name__} applies to no sample: {'; '.join(sorted(notes))[:300]}"})
    return {"samples": rows, "warnings": warnings}
