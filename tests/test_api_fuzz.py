"""Whatever a request sends, the answer is never a 5xx (507, a full disk, is not expected here).

Three passes over every /api rule of the URL map:
1. every URL parameter gets ids past 2^63 - 1, negative numbers, huge digit strings and odd text, with the
   other parameters naming rows that exist;
2. every body field a route reads gets wrong types, huge and negative integers, huge strings and nested
   containers, one field at a time on top of a body that reaches it. The fields are not listed by hand: a
   discovery pass sends each route a body that notes every key the server reads (``body.get``, ``body[...]``,
   ``in``, nested objects and the objects inside lists too), and query/form keys likewise (sent both ways);
   routes that take a training config also get every path of ``TrainingConfig``'s JSON schema. ``BASES`` gives
   the few routes whose later fields are only read once the first ones are valid a body to start from;
3. random bodies and query strings (wrong JSON, non-JSON, deep nesting, odd unicode, NUL bytes) as before.

Seeded, so a failure repeats; each failing request is printed with its route."""
from __future__ import annotations

import copy
import json
import random
import re
from collections.abc import Iterator

import flask
import pytest
from werkzeug.datastructures import ImmutableMultiDict

pytestmark = pytest.mark.slow

SEED = 20261207
MAX_ID = 2**63 - 1
HUGE_TEXT = "x" * 200_000

# URL parameters: ints past the id columns, negative, too many digits; strings that are long, odd or numeric
INT_PARAMS = ["0", str(MAX_ID), str(2**63), str(2**64), "9" * 40, "9" * 5000, "-1", "-" + str(2**63)]
STR_PARAMS = ["..", "%2e%2e", "%00", "a" * 3000, str(2**64), "-1", "9" * 5000, "\u202e\u00fc", "x.json"]

# Body fields: each value is sent in each field a route reads
HOSTILE = [2**63, 2**64, -(2**63) - 1, 10**30, -1, 0, 1e308, -1e-308, 0.5, True, None, "", "  ", HUGE_TEXT,
           "9" * 5000, str(2**64), "../../etc/passwd", "\u202e\ufeff\u00fc", "1e309", [], {}, [2**64], [HUGE_TEXT],
           {"id": 2**64}, {"": None}]
ALWAYS = [2**63, 2**64, -(2**63) - 1, HUGE_TEXT, "9" * 5000, {"a": [None]}, [1, "a"]]  # sent to every field


def _nested(depth: int, leaf: object) -> object:
    value = leaf
    for i in range(depth):
        value = [value] if i % 2 else {"config": value}
    return value


HOSTILE += [_nested(300, 2**64), _nested(60, "x")]

# Bodies that get past each route's first checks, so the fields read after them are discovered and reached
BASES: dict[tuple[str, str], dict] = {
    ("POST", "/api/rewards/test"): {"preset": "math", "samples": [
        {"prompt": "1+1?", "completion": "2", "fields": {"answer": "2"}}]},
    ("POST", "/api/rewards/custom"): {"name": "fuzzed", "kind": "components", "components": [
        {"name": "length", "weight": 1, "params": {"unit": "words"}}]},
    ("PATCH", "/api/rewards/custom/<int:reward_id>"): {"kind": "components", "components": [
        {"name": "regex_match", "weight": 1, "params": {"pattern": "a+"}}]},
    ("POST", "/api/rewards/samples"): {"source": "builtin:arithmetic", "count": 2},
    ("POST", "/api/rewards/recommend"): {"source": "builtin:arithmetic"},
    ("POST", "/api/training/start"): {"config": {}},
    ("POST", "/api/training/stop"): {"session_id": "x"},  # required by its schema: reached only with one
    ("POST", "/api/training/resume"): {"session_id": "x"},
    ("POST", "/api/configs/save"): {"name": "fuzzed", "config": {}},
    ("POST", "/api/v1/jobs/"): {"config": {}},
    ("POST", "/api/datasets/preview"): {"source": "builtin:arithmetic"},
    ("POST", "/api/wizard/draft/from-config"): {"name": "fuzz-base"},
    ("PATCH", "/api/sessions/<session_id>"): {"name": "renamed"},
    ("POST", "/api/models/test"): {"prompt": "hi"},
    ("POST", "/api/models/compare"): {"prompt": "hi"},
    # Routes whose schema requires a field: an empty body is refused before the view reads anything.
    ("POST", "/api/datasets/catalog"): {"hub_id": "x"},
    ("POST", "/api/exports/create"): {"session_id": "x", "format": "adapter"},
    ("POST", "/api/models/evaluate"): {"session_id": "x"},
}
CONFIG_AT_ROOT = {("PATCH", "/api/wizard/draft")}  # the body is a (partial) training config itself


# -- discovery: bodies and query strings that note what the server reads --------------------------------------
class _ReadKeys(dict):
    """A JSON object that notes the path of every key the server reads from it."""

    def __init__(self, data=(), path: tuple = (), seen: set | None = None):
        super().__init__(data)
        self.path, self.seen = path, seen if seen is not None else set()

    def _note(self, key) -> None:
        if isinstance(key, str):
            self.seen.add(self.path + (key,))

    def __getitem__(self, key):
        self._note(key)
        return _watch(super().__getitem__(key), self.path + (key,), self.seen)

    def get(self, key, default=None):
        self._note(key)
        return _watch(super().__getitem__(key), self.path + (key,), self.seen) if dict.__contains__(self, key) \
            else default

    def __contains__(self, key):
        self._note(key)
        return super().__contains__(key)

    def pop(self, key, *default):
        self._note(key)
        return super().pop(key, *default)

    def setdefault(self, key, default=None):
        self._note(key)
        return super().setdefault(key, default)


def _watch(value, path: tuple, seen: set):
    if type(value) is dict:
        return _ReadKeys(value, path, seen)
    if type(value) is list:  # objects inside lists are read through index 0 in the paths
        return [_ReadKeys(v, path + (0,), seen) if type(v) is dict else v for v in value]
    return value


class _ReadArgs(ImmutableMultiDict):
    """Query and form parameters that note the keys the server reads."""

    seen: set = set()

    def get(self, key, default=None, type=None):  # noqa: A002 - werkzeug's signature
        _ReadArgs.seen.add(("?", key))
        return super().get(key, default, type)

    def __getitem__(self, key):
        _ReadArgs.seen.add(("?", key))
        return super().__getitem__(key)

    def getlist(self, key, type=None):  # noqa: A002
        _ReadArgs.seen.add(("?", key))
        return super().getlist(key, type)

    def __contains__(self, key):
        _ReadArgs.seen.add(("?", key))
        return super().__contains__(key)


def _discover(app, client, monkeypatch, method: str, rule: str, path: str, base: dict) -> set[tuple]:
    """Paths of the body fields and query keys the route reads: from the base body, an empty one and the base
    without each of its keys (the other branches of an if/elif on them), then, one level down at a time, from an
    empty object in each field found."""
    seen: set[tuple] = set()
    original = flask.Request.get_json

    def get_json(self, *args, **kwargs):
        value = original(self, *args, **kwargs)
        return _ReadKeys(value, (), seen) if type(value) is dict else value

    with monkeypatch.context() as patch:
        patch.setattr(flask.Request, "get_json", get_json)
        patch.setattr(flask.Request, "parameter_storage_class", _ReadArgs)
        _ReadArgs.seen = set()
        probes = [base, {}] + [{k: v for k, v in base.items() if k != key} for key in base]  # each branch
        for _ in range(3):
            before = set(seen)
            for body in probes:
                client.open(path, method=method, json=body)
            new = seen - before
            probes = [_with(base, p, {}) for p in sorted(new, key=repr) if p[0] != "?" and len(p) < 4]
            if not new:
                break
        seen |= _ReadArgs.seen
    return seen


# -- mutation ---------------------------------------------------------------------------------------------------
def _with(base: dict, path: tuple, value) -> dict:
    """A copy of ``base`` with ``value`` at ``path`` (creating objects, and one-element lists for index 0)."""
    body = copy.deepcopy(base)
    node = body
    for key, following in zip(path, path[1:]):
        container = [] if following == 0 else {}
        if isinstance(node, list):
            if not node or not isinstance(node[0], type(container)):
                node[:1] = [container]
            node = node[0]
        else:
            if not isinstance(node.get(key), type(container)):
                node[key] = container
            node = node[key]
    if isinstance(node, list):
        node[:1] = [value]
    else:
        node[path[-1]] = value
    return body


def _schema_paths(schema: dict, node: dict | None = None, prefix: tuple = ()) -> Iterator[tuple]:
    node = schema if node is None else node
    if "$ref" in node:
        node = schema["$defs"][node["$ref"].rsplit("/", 1)[1]]
    for key, sub in node.get("properties", {}).items():
        yield prefix + (key,)
        yield from _schema_paths(schema, sub, prefix + (key,))
    items = node.get("items")
    if isinstance(items, dict):
        yield from _schema_paths(schema, items, prefix + (0,))
    for option in node.get("anyOf", []):
        yield from _schema_paths(schema, option, prefix)


def _values(rng: random.Random) -> list:
    return ALWAYS + rng.sample([v for v in HOSTILE if v not in ALWAYS], 5)


# -- the known rows URL parameters can name ---------------------------------------------------------------------
def _known_rows(client) -> dict[str, str]:
    reward = client.post("/api/rewards/custom", json={"name": "fuzz-known", "kind": "components",
                                                      "components": [{"name": "format"}]})
    assert reward.status_code == 201, reward.json
    session = client.post("/api/training/start", json={"config": {"name": "fuzz-known"}})
    assert session.status_code in (200, 201, 202), session.json
    session_id = (session.json.get("session") or session.json)["id"]
    assert client.post("/api/configs/save", json={"name": "fuzz-base", "config": {}}).status_code in (200, 201)
    return {"reward_id": str(reward.json["reward"]["id"]), "session_id": session_id, "job_id": session_id,
            "name": "fuzz-base", "template_id": "1", "dataset_id": "1", "evaluation_id": "1", "export_id": "x",
            "batch_id": "x"}


_PARAM = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")


def _url(rule: str, known: dict[str, str], override: tuple[str, str] | None = None) -> str:
    def fill(match: re.Match) -> str:
        name = match.group(2)
        return override[1] if override and override[0] == name else known.get(name, "1")

    return _PARAM.sub(fill, rule)


def _api_rules(app) -> list[tuple[str, str, list[tuple[str, str]]]]:
    """(method, rule, [(converter, name)]) for every /api rule; DELETEs last so the known rows live long."""
    found = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        params = [(m.group(1) or "default", m.group(2)) for m in _PARAM.finditer(rule.rule)]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found.append((method, rule.rule, params))
    return sorted(found, key=lambda r: (r[0] == "DELETE", r[1], r[0]))


def _send(client, failures: list, method: str, path: str, where: str = "", **kwargs) -> None:
    response = client.open(path, method=method, **kwargs)
    if response.status_code >= 500:
        body = kwargs.get("json", kwargs.get("data", b""))
        shown = json.dumps(body, default=str)[:300] if not isinstance(body, bytes) else body[:200]
        failures.append((where, response.status_code, method, path[:200], kwargs.get("query_string"), shown,
                         response.data[:200]))


def _report(failures: list) -> str:
    """One line per failing route and field (with how often, and the first request), then the first requests."""
    first: dict[str, tuple] = {}
    count: dict[str, int] = {}
    for failure in failures:
        count[failure[0]] = count.get(failure[0], 0) + 1
        first.setdefault(failure[0], failure)
    return f"{len(failures)} requests got a 5xx:\n" + "\n".join(f"{n} x {where}: {first[where][1:]!r}"[:700]
                                                                 for where, n in count.items())


@pytest.mark.db  # again on PostgreSQL in CI: its INTEGER ids overflow where SQLite's do not
def test_every_url_parameter_and_body_field_survives_hostile_values(app, client, monkeypatch):
    from core.training_config import TrainingConfig

    rng = random.Random(SEED)
    known = _known_rows(client)
    rules = _api_rules(app)
    assert len(rules) >= 40, rules  # the API is really enumerated
    config_paths = list(_schema_paths(TrainingConfig.model_json_schema()))
    assert ("reward", "custom", 0, "id") in config_paths and ("training", "seed") in config_paths
    failures: list = []
    sent = reached = 0
    reached_fields: set[tuple[str, tuple]] = set()
    for method, rule, params in rules:
        base = BASES.get((method, rule), {})
        # 1. URL parameters
        for converter, name in params:
            for value in INT_PARAMS if converter == "int" else STR_PARAMS:
                _send(client, failures, method, _url(rule, known, (name, value)), f"{method} {rule} <{name}>",
                      json=base)
                sent += 1
        # 2. body fields and query keys the route reads
        path = _url(rule, known)
        fields = _discover(app, client, monkeypatch, method, rule, path, base)
        if ("config",) in fields or (method, rule) in CONFIG_AT_ROOT:
            prefix = () if (method, rule) in CONFIG_AT_ROOT else ("config",)
            fields |= {prefix + p for p in config_paths}
        for field in sorted(fields, key=repr):
            reached_fields.add((rule, field))
            if field[0] == "?":
                for value in ("9" * 5000, str(2**64), "-1", "%00", HUGE_TEXT[:5000], "nan", "1e309"):
                    _send(client, failures, method, path, f"{method} {rule} ?{field[1]}",
                          query_string={field[1]: value}, **({} if method == "GET" else {"json": base}))
                    sent += 1
                    if method != "GET":  # the same key may be a form field (uploads): send it as one too
                        _send(client, failures, method, path, f"{method} {rule} form {field[1]}",
                              data={field[1]: value})
                        sent += 1
                continue
            if method == "GET":
                continue
            for value in _values(rng):
                _send(client, failures, method, path, f"{method} {rule} {'.'.join(map(str, field))}",
                      json=_with(base, field, value))
                sent += 1
        reached += 1
    # the discovery really found what the routes read (spot checks across blueprints)
    for rule, field in [("/api/rewards/test", ("custom_id",)), ("/api/rewards/test", ("samples", 0, "completion")),
                        ("/api/training/start", ("config", "reward", "custom", 0, "id")),
                        ("/api/wizard/draft", ("training", "seed")), ("/api/training/stop", ("session_id",)),
                        ("/api/rewards/custom", ("components",)), ("/api/configs/load", ("?", "name"))]:
        assert (rule, field) in reached_fields, (rule, field)
    assert sent > 3000 and reached == len(rules), (sent, reached)
    assert not failures, _report(failures)


# -- 3. random bodies ---------------------------------------------------------------------------------------------
BODIES_PER_ENDPOINT = 40
FIELD_NAMES = ["config", "name", "session_id", "priority", "source", "samples", "id", "path", "model", "dataset",
               "training", "grpo", "reward", "pre_training", "method", "format", "quantization", "prompt",
               "temperature", "top_p", "max_tokens", "components", "weight", "code", "kind", "query", "top_k",
               "hub_id", "tags", "description", "system_prompt", "mapping", "render", "template_id", "config_name",
               "learning_rate", "epochs", "batch_size", "training_type", "model_name", "dataset_id", "preset",
               "preset_name", "type", "lora_rank", "seed", "max_new_tokens", "split", "params", "fields",
               "custom_id", "custom", "n", "count"]
STRINGS = ["", " ", "../../etc/passwd", "/etc/passwd", "dataset:1", " dataset:5", "builtin:arithmetic",
           "builtin:nope", "a/b/c", "owner/name", "x" * 5000, "ünïcødé ✓ 🙂", "\u202eevil", "\x00", "NaN", "-1",
           "{reasoning_start:>99999999}", "<script>alert(1)</script>", "C:\\Windows", "%s%s%n", "null", "grpo",
           "rag", "qlora", "gguf", "q4_k_m", "math", "format", "1e309", "dataset:" + str(2**64)]
NUMBERS = [0, -1, 1, 2, 7, 2**31, -(2**63), 2**63, 2**64 + 1, 10**30, 1e308, -1e308, 0.5, 1e-320, 3.14]


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
    return _nested(rng.randrange(50, 400), rng.choice(NUMBERS))


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


def test_no_generated_body_gets_a_5xx(app, client):
    rng = random.Random(SEED)
    known = _known_rows(client)
    rules = [(m, r, p) for m, r, p in _api_rules(app) if m in ("POST", "PATCH", "PUT", "DELETE")]
    assert len(rules) >= 10, rules
    failures: list = []
    sent = 0
    for method, rule, _ in rules:
        for content_type, body in _bodies(rng):
            _send(client, failures, method, _url(rule, known), f"{method} {rule} (random body)", data=body,
                  content_type=content_type)
            sent += 1
    for rule in sorted(r.rule for r in app.url_map.iter_rules() if r.rule.startswith("/api/") and "GET" in r.methods):
        for _ in range(5):
            query = rng.choice(["", "name=../x", "max_points=-5", "samples=1e99", "type=%00", "max_points=abc",
                                "session=" + "z" * 900, f"limit={2**64}", "session_id=" + "9" * 5000])
            _send(client, failures, "GET", _url(rule, known) + "?" + query, f"GET {rule} ?{query[:20]}")
            sent += 1
    assert not failures, _report(failures)
    assert sent > 1000
