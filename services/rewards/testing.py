"""Scoring samples with a preset, components, a saved custom reward or unsaved code; dataset rows as samples.

The request is checked here (a fast 400); the scoring itself runs in the inference worker process behind its
bounded queue (a slow or pathological scorer never holds a web thread), and a code reward still runs in the
sandbox, which the worker calls."""
from __future__ import annotations

from typing import Any

from core.rewards import PRESETS, Sample
from core.training.prompts import split_reasoning
from services.rewards.custom import definition, get_custom
from services.rewards.validation import check_code, check_components, bad_request, parse_markers, require_sandbox

MAX_TEST_SAMPLES = 50
MAX_TEXT = 20_000
RECOMMEND_ROWS = 40

def _samples(raw: Any) -> list[Sample]:
    if not isinstance(raw, list) or not raw:
        raise bad_request("Give at least one sample: {prompt, completion, fields}.", "samples")
    if len(raw) > MAX_TEST_SAMPLES:
        raise bad_request(f"At most {MAX_TEST_SAMPLES} samples per test.", "samples")
    samples = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict) or not isinstance(item.get("completion"), str):
            raise bad_request("Each sample needs a completion (text).", f"samples.{i}.completion")
        fields = item.get("fields") or {}
        if not isinstance(fields, dict):
            raise bad_request("fields must be an object.", f"samples.{i}.fields")
        samples.append(Sample(str(item.get("prompt") or "")[:MAX_TEXT], item["completion"][:MAX_TEXT],
                              {str(k): v for k, v in fields.items()}))
    return samples



def test_reward(body: dict[str, Any]) -> dict[str, Any]:
    """Score samples with a preset, a component list, a saved custom reward or unsaved code (the editor)."""
    from services.playground import get_playground

    samples = _samples(body.get("samples"))
    markers = parse_markers(body.get("markers"))
    result = get_playground().score(reward_section(body), markers, [
        {"prompt": s.prompt, "completion": s.completion, "fields": dict(s.fields)} for s in samples])
    for name in result.pop("needed", []):
        if all(s.field_text(name) is None for s in samples):
            result["warnings"].append({"reward": None, "kind": "missing_field",
                                       "message": f"No sample has the field {name!r} that this reward needs."})
    return result


def reward_section(body: dict[str, Any]) -> dict[str, Any]:
    """The body's reward as a config's ``reward`` section (what the worker builds rewards from)."""
    if body.get("preset") is not None:
        if not isinstance(body["preset"], str) or body["preset"] not in PRESETS:
            raise bad_request(f"Unknown preset {body['preset']!r}.", "preset", f"Use one of: {', '.join(PRESETS)}.")
        return {"type": "preset", "preset_name": body["preset"]}
    if body.get("components") is not None:
        return {"type": "components", "components": check_components(body["components"], "components")}
    if body.get("custom_id") is not None:
        record = get_custom(body["custom_id"])
        if record.kind == "code":
            require_sandbox("custom_id")
        return {"type": "custom", "custom": [{**definition(record), "weight": 1.0}]}
    if body.get("code") is not None:
        code = check_code(body["code"])
        require_sandbox("code")
        return {"type": "custom", "custom": [{"name": "custom_code", "kind": "code", "code": code, "weight": 1.0}]}
    raise bad_request("Say which reward to test: preset, components, custom_id or code.", "preset")


def dataset_rows(body: dict[str, Any]) -> list[dict]:
    from core.datasets import DatasetFormatError, DatasetUnavailableError, load_examples
    from services.datasets.training import resolve_for_training

    source = body.get("source")
    if body.get("dataset_id") is not None:
        source = f"dataset:{body['dataset_id']}"
    if not source:
        raise bad_request("Give dataset_id or source.", "dataset_id", "e.g. {\"source\": \"builtin:arithmetic\"}")
    spec = resolve_for_training(str(source), str(body.get("split") or "train"), body.get("instruction_field"),
                                body.get("response_field"))
    try:
        return load_examples(spec, RECOMMEND_ROWS)
    except (DatasetUnavailableError, DatasetFormatError) as exc:
        raise bad_request(f"Cannot read the dataset: {exc}", "dataset_id") from None


def sample_rows(body: dict[str, Any]) -> dict[str, Any]:
    """Rows of a dataset as reward-test samples, with the fields training gives the rewards (``answer``,
    ``response`` and the row's extra keys), a good completion (the reference in the marker format) and a
    deliberately bad one."""
    count = body.get("count", 3)
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 20:
        raise bad_request("count must be 1-20.", "count")
    markers = parse_markers(body.get("markers"))
    rows = dataset_rows(body)[:count]
    samples = []
    for row in rows:
        reasoning, answer = split_reasoning(row)
        extras = {k: v for k, v in row.items() if k not in ("instruction", "system", "response", "answer")}
        fields = {**extras, "answer": answer, "response": str(row.get("response", ""))}
        samples.append({"prompt": str(row.get("instruction", "")), "fields": fields,
                        "good": markers.wrap(reasoning or "Working it out step by step.", answer),
                        "bad": "I am not sure."})
    return {"samples": samples}
