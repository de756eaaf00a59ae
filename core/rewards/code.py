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
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:  # deep nesting: Recursion/MemoryError
        return False, f"{type(exc).__name__}: {exc}"[:160]


def _json_ok(code: str) -> tuple[bool, str]:
    try:
        json.loads(code)
        return True, "parses"
    except (ValueError, RecursionError) as exc:
        return False, f"{type(exc).__name__}: {exc}"[:160]


# SQLite's messages for text its parser refuses; anything else (no such table, column or function) is about names
# an empty in-memory database lacks, not about syntax.
MAX_SQL = 50_000  # splitting is linear per ';', so a huge text full of them is refused rather than scanned
_SQL_SYNTAX = ("syntax error", "incomplete input", "unrecognized token", "parser stack overflow",
               "one statement at a time")


_SQL_COMMENT = re.compile(r"('(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|`[^`]*`|\[[^\]]*\])|--[^\n]*|/\*.*?(?:\*/|\Z)", re.S)


def _sql_blank(text: str) -> bool:
    """Only spaces and comments (quoted text is kept, so a ``--`` inside a string is not a comment)."""
    return not _SQL_COMMENT.sub(lambda m: m.group(1) or " ", text).strip()


def _sql_statements(code: str) -> list[str] | None:
    """The statements of ``code``, split where SQLite's own completeness check says one ends (a ``;`` inside a
    string or comment does not end one); ``None`` when the text ends inside an unfinished statement."""
    statements, start = [], 0
    for end in (i for i, char in enumerate(code) if char == ";"):
        if sqlite3.complete_statement(code[start:end + 1]):
            statements.append(code[start:end])
            start = end + 1
    rest = code[start:]
    if not _sql_blank(rest):
        if not sqlite3.complete_statement(rest + "\n;"):
            return None
        statements.append(rest)
    return [s for s in statements if not _sql_blank(s)]


def _sql_ok(code: str) -> tuple[bool, str]:
    # Every statement must get through SQLite's parser (EXPLAIN compiles without running, in memory, no tables).
    if len(code) > MAX_SQL:
        return False, f"longer than {MAX_SQL} characters: not checked"
    statements = _sql_statements(code.strip())
    if statements is None:
        return False, "incomplete statement"
    if not statements:
        return False, "no statement"
    connection = sqlite3.connect(":memory:")
    try:
        for number, statement in enumerate(statements, 1):
            try:
                connection.execute("EXPLAIN " + statement)
            except (sqlite3.Error, sqlite3.Warning, RecursionError, MemoryError) as exc:
                message = str(exc)
                if any(marker in message for marker in _SQL_SYNTAX) or not isinstance(exc, sqlite3.Error):
                    return False, f"statement {number}: {message}"[:160]
    finally:
        connection.close()
    return True, "parses" if len(statements) == 1 else f"{len(statements)} statements parse"


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


# Runs inside the sandbox (a fresh process per completion): the completion's code, then each test in the same
# namespace. compile/exec are bound before the completion runs, so patching builtins cannot fake the tests.
HARNESS = '''
def reward(prompt, completion, code="", tests=(), _compile=compile, _exec=exec, **fields):
    namespace = {"__name__": "solution"}
    try:
        _exec(_compile(code, "<completion>", "exec"), namespace)
    except BaseException as exc:
        raise RuntimeError("the completion's code fails: %s: %s" % (type(exc).__name__, exc))
    passed = 0
    for test in tests:
        try:
            _exec(_compile(test, "<test>", "exec"), namespace)
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
