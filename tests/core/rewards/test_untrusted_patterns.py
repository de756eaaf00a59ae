"""Patterns and code from users, scored in the server's process: bounded in time, exact about syntax."""
from __future__ import annotations

import threading
import time

import pytest

from core.datasets.prompts import DEFAULT_MARKERS as M
from core.rewards import ComponentReward, Sample
from core.rewards.match import MAX_PATTERN, REGEX_TIMEOUT

CATASTROPHIC = {"pattern": "(a|aa)+$"}  # exponential backtracking: hours with `re` on the text below
TEXT = "a" * 60 + "b"


@pytest.mark.timeout(60)
def test_a_catastrophic_regex_stops_at_its_limit_and_other_threads_run_meanwhile():
    reward = ComponentReward("regex_match", CATASTROPHIC, M)
    outcome, ticks = [], []
    worker = threading.Thread(target=lambda: outcome.append(reward.explain([Sample("", TEXT)] * 2)), daemon=True)
    started = time.monotonic()
    worker.start()
    while worker.is_alive() and time.monotonic() - started < 30:
        before = time.monotonic()
        time.sleep(0.01)
        ticks.append(time.monotonic() - before)
    worker.join(timeout=1)
    assert outcome, "the pattern ran for more than 30 s"
    assert time.monotonic() - started < 2 * REGEX_TIMEOUT + 5
    assert all(score == 0.0 and "longer than" in note for score, note in outcome[0]), outcome
    assert len(ticks) > 10 and max(ticks) < 0.5  # this thread was never held up while the pattern ran


def test_ordinary_patterns_still_match():
    reward = ComponentReward("regex_match", {"pattern": r"\d+ apples", "ignore_case": True}, M)
    assert [s for s, _ in reward.explain([Sample("", "I have 12 APPLES"), Sample("", "no fruit")])] == [1.0, 0.0]


def test_the_pattern_length_is_bounded_and_invalid_patterns_are_refused():
    from core.rewards import get_component

    component = get_component("regex_match")
    with pytest.raises(ValueError, match="at most"):
        component.parse_params({"pattern": "a" * (MAX_PATTERN + 1)})
    with pytest.raises(ValueError, match="not a valid regular expression"):
        component.parse_params({"pattern": "(unclosed"})
    assert component.describe()["params"]["properties"]["pattern"]["maxLength"] == MAX_PATTERN


@pytest.mark.parametrize("sql, valid", [
    ("SELECT 1; this is not sql", False),
    ("SELECT name FROM missing_table WHERE id = 1", True),  # a missing table is not a syntax error
    ("SELECT 'a;b'; SELECT 2;", True),
    ("SELECT 1; -- the end", True),
    ("CREATE TABLE t (a INTEGER); INSERT INTO t VALUES (1); SELECT a FROM t;", True),
    ("SELECT 1; SELEC 2", False),
    ("SELECT (", False),
    ("-- only a comment", False),
    ("SELECT " + "(" * 3000 + "1" + ")" * 3000, False),
])
def test_every_sql_statement_must_parse(sql, valid):
    reward = ComponentReward("code_syntax", {"language": "sql"}, M)
    [(score, note)] = reward.explain([Sample("", sql)])
    assert score == float(valid), note


@pytest.mark.parametrize("language, code", [
    ("python", "x = " + "-" * 90_000 + "1"),  # MemoryError in the parser
    ("python", "x = " + "+".join(["1"] * 40_000)),  # RecursionError
    ("json", "[" * 100_000 + "]" * 100_000),  # RecursionError in json
])
def test_deeply_nested_code_scores_zero_not_an_error(language, code):
    [(score, note)] = ComponentReward("code_syntax", {"language": language}, M).explain([Sample("", code)])
    assert score == 0.0, note
