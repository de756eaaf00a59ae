"""What the inference worker can be asked to do: a closed set of operations on plain data, never a callable.

``generate``: stream a chat completion from a model spec (the Test step, batches, evaluations, RAG answers).
``score``: score completions with a reward described as a config's ``reward`` section (built-in components
run here; a user's code reward still runs in the sandbox, which ``CodeReward`` calls).
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from core.inference.limits import MAX_SCORE_SAMPLES

ShouldStop = Callable[[], bool]


def generate(backend: Any, request: dict, should_stop: ShouldStop) -> Iterator[str]:
    """Text pieces of the answer; stops between tokens when ``should_stop()`` says so."""
    yield from backend.stream(request["messages"], request.get("settings", {}), should_stop)


def count_tokens(backend: Any, text: str) -> int:
    if not text:
        return 0
    if hasattr(backend, "tokenizer"):
        return len(backend.tokenizer(text, add_special_tokens=False)["input_ids"])
    return len(backend.llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))


def score(request: dict) -> dict[str, Any]:
    """``score_samples``' result (per-sample components and totals, warnings) plus ``needed``: the dataset
    fields the reward reads. ``request``: ``{"reward": {type, preset_name, components, custom}, "markers":
    [4 strings], "samples": [{prompt, completion, fields}]}``."""
    from core.datasets.prompts import Markers
    from core.rewards import Sample, build_rewards, score_samples

    reward = request["reward"]
    samples = request["samples"][:MAX_SCORE_SAMPLES]
    funcs, weights = build_rewards(reward.get("type", "preset"), reward.get("preset_name"),
                                   reward.get("components") or [], Markers(*request["markers"]),
                                   reward.get("custom") or [])
    result = score_samples(funcs, weights, [Sample(str(s.get("prompt", "")), str(s["completion"]),
                                                   dict(s.get("fields") or {})) for s in samples])
    result["needed"] = sorted({name for fn in funcs for name in _needs(fn)})
    return result


def _needs(fn) -> tuple[str, ...]:
    component = getattr(fn, "component", None)
    if component is not None:
        return component.needed(fn.params)
    return tuple(f for part, _ in getattr(fn, "parts", []) for f in _needs(part))
