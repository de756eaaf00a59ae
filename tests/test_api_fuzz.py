"""A few thousand generated bodies at every JSON endpoint: wrong types, huge and negative numbers, deep nesting,
odd unicode, NUL bytes. Whatever comes in, the answer is never a 5xx (507, a full disk, is not expected here).

Seeded, so a failure repeats; the failing request is printed."""
from __future__ import annotations

import json
import random
import re

import pytest

pytestmark = pytest.mark.slow

SEED = 20261122
BODIES_PER_ENDPOINT = 100
FIELD_NAMES = ["config", "name", "session_id", "priority", "source", "samples", "id", "path", "model", "dataset",
               "training", "grpo", "reward", "pre_training", "method", "format", "quantization", "prompt",
               "temperature", "top_p", "max_tokens", "components", "weight", "code", "kind", "query", "top_k",
               "hub_id", "tags", "description", "system_prompt", "mapping", "render", "template_id", "config_name",
               "learning_rate", "epochs", "batch_size", "training_type", "model_name", "dataset_id", "preset",
               "preset_name", "type", "lora_rank", "seed", "max_new_tokens", "split", "params", "fields"]
STRINGS = ["", " ", "../../etc/passwd", "/etc/passwd", "dataset:1", " dataset:5", "builtin:arithmetic",
           "builtin:nope", "a/b/c", "owner/name", "x" * 5000, "ünïcødé ✓ 🙂", "\u202eevil", "\x00", "NaN", "-1",
           "{reasoning_start:>99999999}", "<script>alert(1)</script>", "C:\\Windows", "%s%s%n", "null", "grpo",
           "rag", "qlora", "gguf", "q4_k_m", "math", "format", "1e309"]
NUMBERS = [0, -1, 1, 2, 7, 2**31, -(2**63), 2**64 + 1, 10**30, 1e308, -1e308, 0.5, 1e-320, 3.14]


def _value(rng: random.Random, depth: int = 0):
    kind = rng.randrange(9 if depth < 4 else 5)
    if kind == 0:
        return rng.choice(STRINGS)
    if kind == 1:
        return rng.choice(NUMBERS)
    if kind == 2:
        return rng.choice([True, False, None])
    if kind == 3:
        return "".join(chr(rng.choice([rng.randrange(32, 127), rng.randrange(0x80, 0x2FFF)]))
                       for _ in range(rng.randrange(1, 20)))
    if kind == 4:
        return rng.random() * 10 ** rng.randrange(-5, 6)
    if kind in (5, 6):
        return {rng.choice(FIELD_NAMES): _value(rng, depth + 1) for _ in range(rng.randrange(0, 6))}
    if kind == 7:
        return [_value(rng, depth + 1) for _ in range(rng.randrange(0, 5))]
    nested: object = rng.choice(NUMBERS)
    for _ in range(rng.randrange(50, 400)):
        nested = [nested] if rng.random() < 0.5 else {"config": nested}
    return nested


def _bodies(rng: random.Random) -> list[tuple[str, bytes]]:
    """(content type, raw body): mostly JSON objects, some other JSON values, some not JSON at all."""
    out = []
    for _ in range(BODIES_PER_ENDPOINT):
        roll = rng.random()
        if roll < 0.7:
            body = {rng.choice(FIELD_NAMES): _value(rng) for _ in range(rng.randrange(0, 7))}
            out.append(("application/json", json.dumps(body).encode()))
        elif roll < 0.8:
            out.append(("application/json", json.dumps(_value(rng)).encode()))
        elif roll < 0.9:
            raw = rng.choice([b"{", b"NaN", b'{"config": NaN}', b'{"a": "\\u0000"}', b"\xff\xfe\x00{}",
                              b'{"config": {"training": {"seed": Infinity}}}', b"[" * 5000, b"{}" * 100, b""])
            out.append(("application/json", raw))
        else:
            out.append((rng.choice(["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"]),
                        bytes(rng.randrange(256) for _ in range(rng.randrange(0, 200)))))
    return out


def _concrete(rule: str, rng: random.Random) -> str:
    def fill(match: re.Match) -> str:
        converter = match.group(1) or ""
        if converter.startswith("int"):
            return str(rng.choice([0, 1, 2, 999999, 2**40]))
        return rng.choice(["x", "1", "..", "a" * 300, "%2e%2e", "name.json", "default", "nope"])

    return re.sub(r"<(?:(\w+):)?\w+>", fill, rule)


def test_no_generated_body_gets_a_5xx(app, client):
    rng = random.Random(SEED)
    rules = sorted((rule.rule, method) for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/")
                   for method in rule.methods & {"POST", "PATCH", "PUT", "DELETE"})
    assert len(rules) >= 10, rules  # the API is really enumerated
    failures, sent = [], 0
    for rule, method in rules:
        for content_type, body in _bodies(rng):
            path = _concrete(rule, rng)
            response = client.open(path, method=method, data=body, content_type=content_type)
            sent += 1
            if response.status_code >= 500:
                failures.append((method, path, body[:200], response.status_code, response.data[:300]))
    # GETs with odd path parameters and query strings too
    for rule in sorted(r.rule for r in app.url_map.iter_rules() if r.rule.startswith("/api/") and "GET" in r.methods):
        for _ in range(10):
            path = _concrete(rule, rng) + "?" + rng.choice(["", "name=../x", "max_points=-5", "samples=1e99",
                                                            "type=%00", "max_points=abc", "session=" + "z" * 900])
            response = client.get(path)
            sent += 1
            if response.status_code >= 500:
                failures.append(("GET", path, b"", response.status_code, response.data[:300]))
    assert not failures, "\n".join(map(repr, failures[:20]))
    assert sent > 1000
