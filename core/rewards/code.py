"""Code: does the completion's code parse (per language with a parser here), and does it pass the tests.

Test execution runs the completion's code in the reward sandbox (core.sandbox), never in this process.
"""
from __future__ import annotations

import ast
import json
import re
import sqlite3
from collections.abc import Sequence
from typing import Literal

from pydantic import Field

from core.rewards.base import Component, Context, Params, Sample, Scored

_FENCE = re.compile(r"```([A-Za-z0-9_+-]*)[ \t]*\n(.*?)```", re.S)


def extract_code(text: str, language: str | None = None) -> str:
    """The first fenced block in ``language`` (any fenced block when none matches), else the whole text."""
    blocks = _FENCE.findall(text)
    for tag, body in blocks:
        if language and tag.lower() in {language, {"python": "py", "javascript": "js"}.get(language, language)}:
            return body
    return blocks[0][1] if blocks else text


def _python_ok(code: str) -> tuple[bool, str]:
    try:
        ast.parse(code)
        return True, "parses"
    except (SyntaxError, ValueError, RecursionError) as exc:
        return False, f"{type(exc).__name__}: {exc}"[:160]


def _json_ok(code: str) -> tuple[bool, str]:
    try:
        json.loads(code)
        return True, "parses"
    except ValueError as exc:
        return False, str(exc)[:160]


def _sql_ok(code: str) -> tuple[bool, str]:
    # SQLite's own parser, in memory with no tables: a statement only has to be complete and parse; names it
    # refers to may be missing, which is not a syntax error.
    if not sqlite3.complete_statement(code.strip().rstrip(";") + ";"):
        return False, "incomplete statement"
    try:
        sqlite3.connect(":memory:").execute("EXPLAIN " + code.strip().rstrip(";"))
        return True, "parses"
    except sqlite3.Error as exc:
        message = str(exc)
        return ("syntax error" not in message and "incomplete" not in message), message[:160]


PARSERS = {"python": _python_ok, "json": _json_ok, "sql": _sql_ok}


class SyntaxParams(Params):
    language: Literal["python", "json", "sql", "auto"] = Field(
        "python", description="Language to parse; auto: the code fence's tag. Others score None (no parser).")


def _syntax(sample: Sample, p: SyntaxParams, ctx: Context):
    language = p.language
    if language == "auto":
        tags = [t.lower() for t, _ in _FENCE.findall(sample.completion) if t]
        language = {"py": "python", "python3": "python"}.get(tags[0], tags[0]) if tags else "python"
    parser = PARSERS.get(language)
    if parser is None:
        return None, f"no parser for {language!r} here"
    code = extract_code(sample.completion, language)
    if not code.strip():
        return 0.0, "no code"
    ok, note = parser(code)
    return float(ok), f"{language}: {note}"


# Runs inside the sandbox: the completion's code, then each test in the same namespace.
HARNESS = '''
def reward(prompt, completion, code="", tests=(), **fields):
    namespace = {"__name__": "solution"}
    try:
        exec(compile(code, "<completion>", "exec"), namespace)
    except BaseException as exc:
        raise RuntimeError("the completion's code fails: %s: %s" % (type(exc).__name__, exc))
    passed = 0
    for test in tests:
        try:
            exec(compile(test, "<test>", "exec"), namespace)
            passed += 1
        except BaseException:
            pass
    return passed / len(tests)
'''


class ExecutionParams(Params):
    tests: list[str] = Field(default_factory=list, max_length=200,
                             description="Python test statements (e.g. 'assert add(2, 3) == 5'); empty: the "
                                         "dataset field below.")
    field: str = Field("tests", description="Dataset field with test statements (a list, or one per line).")
    timeout_seconds: float = Field(2.0, gt=0, le=60, description="Wall-clock limit per completion.")


def _tests_for(sample: Sample, p: ExecutionParams) -> list[str]:
    if p.tests:
        return list(p.tests)
    value = sample.fields.get(p.field)
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value if str(v).strip()]
    return [line for line in str(value or "").splitlines() if line.strip()]


def _execute(samples: Sequence[Sample], p: ExecutionParams, ctx: Context) -> list[Scored]:
    from core.sandbox import SandboxUnavailable, shared_sandbox

    items, index, results = [], [], [None] * len(samples)
    for i, sample in enumerate(samples):
        tests = _tests_for(sample, p)
        if not tests:
            results[i] = (None, f"no tests: set 'tests' or give the dataset a {p.field!r} field")
            continue
        items.append({"prompt": sample.prompt, "completion": "", "fields": {
            "code": extract_code(sample.completion, "python"), "tests": tests}})
        index.append(i)
    if items:
        try:
            outcomes = shared_sandbox(HARNESS, per_sample_timeout=p.timeout_seconds).run(items)
        except SandboxUnavailable as exc:
            outcomes = [(None, str(exc))] * len(items)
        for i, (score, error) in zip(index, outcomes):
            results[i] = (score, error or "share of tests passed")
    return results


COMPONENTS = [
    Component("code_syntax", "code", "1 when the code (fenced block or whole text) parses: Python, JSON or SQL.",
              SyntaxParams, score=_syntax),
    Component("code_execution", "code", "Share of the test statements that pass after running the completion's "
              "code in the sandbox.", ExecutionParams, ("tests",), score_batch=_execute),
]
