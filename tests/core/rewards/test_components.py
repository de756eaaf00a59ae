"""Every reward component on completions that must score high and completions that must score low."""
from __future__ import annotations

import os

import pickle

import pytest

from core.datasets.prompts import DEFAULT_MARKERS as M
from core.rewards import COMPONENTS, ComponentReward, Sample, build_rewards, score_samples
from core.rewards.text import final_number, parse_number
from core.sandbox import isolation

W = M.wrap
ARTICLE = ("The Amazon rainforest produces oxygen, stores carbon and hosts millions of species. Deforestation for "
           "cattle ranching and soy farming threatens the forest, and scientists warn of a tipping point where "
           "the rainforest turns into savanna.")
STORY = ("Mara found the brass key under a loose floorboard while rain hammered the attic window. It was cold, "
         "heavier than it looked, and engraved with a lighthouse she had never seen. Downstairs, her grandfather "
         "stopped humming.")

# component, params, fields, high completion, low completion
CASES = [
    ("format", {}, {}, W("think", "4"), "4"),
    ("section_content", {}, {}, W("two plus two makes four", "4"), W("", "") ),
    ("correctness", {}, {"answer": "1,042"}, W("sum", "1042"), W("sum", "1041")),
    ("numeric_match", {}, {"answer": "0.75"}, "So the result is \\boxed{\\frac{3}{4}}", "The result is 0.7"),
    ("numeric_match", {}, {"answer": "1234"}, "#### 1,234", "#### 12"),
    ("numeric_match", {}, {"answer": "25"}, "The answer is 25%.", "The answer is 52%."),
    ("numeric_match", {}, {"answer": "12"}, "It measures 12 cm.", "It measures 21 cm."),
    ("regex_match", {"pattern": r"^\d{4}-\d{2}-\d{2}$", "full": True}, {}, "2024-01-31", "31 Jan 2024"),
    ("exact_match", {}, {"answer": "The Eiffel Tower"}, "the eiffel tower.", "Big Ben"),
    ("exact_match", {"normalised": False}, {"answer": "Paris"}, "Paris", "paris"),
    ("contains", {"terms": ["alpha", "beta"], "mode": "all"}, {}, "alpha and beta", "alpha only"),
    ("contains", {"terms": ["red", "blue"], "mode": "any"}, {}, "a blue sky", "a green field"),
    ("multiple_choice", {}, {"answer": "B", "choices": ["cat", "dog", "cow"]}, "The answer is (B).", "A"),
    ("multiple_choice", {}, {"answer": "B", "choices": ["cat", "dog", "cow"]}, "dog", "cow"),
    ("length", {"unit": "words", "min": 3, "max": 6}, {}, "one two three four", "one two three four five six "
     "seven eight nine ten eleven twelve"),
    ("length", {"unit": "characters", "min": 5, "max": 10}, {}, "abcdefg", "a"),
    ("steps", {"min_steps": 3}, {}, "1. Open.\n2. Pour.\n3. Close.", "Just do it."),
    ("steps", {"min_steps": 3}, {}, "First mix, then bake, and finally serve.", "Mix and bake."),
    ("json_valid", {"required_keys": ["name"], "key_types": {"age": "integer"}}, {},
     'Here:\n```json\n{"name": "Ada", "age": 36}\n```', '{"name": "Ada", age: 36'),
    ("code_syntax", {}, {}, "```python\ndef f(x):\n    return x\n```", "```python\ndef f(x) return\n```"),
    ("code_syntax", {"language": "sql"}, {}, "SELECT name FROM users WHERE id = 1;", "SELEC name FROM"),
    ("code_syntax", {"language": "json"}, {}, '{"a": [1, 2]}', "{a: 1}"),
    ("citation", {"style": "apa"}, {}, "Memory improves (Smith, 2020).\nSmith, J. (2020). Sleep. Press.", "Memory."),
    ("citation", {"style": "mla"}, {}, "As argued (Smith 42).\nSmith, John. \"Sleep.\" Journal, 2020.", "Sleep."),
    ("summary", {}, {"response": ARTICLE}, "Deforestation from cattle ranching and soy farming threatens the Amazon "
     "rainforest, which stores carbon, produces oxygen and hosts species.", "Forests are nice places."),
    ("creative", {}, {}, STORY, "rain rain rain rain rain rain rain rain rain rain rain rain rain rain rain rain"),
    ("reasoning_quality", {}, {"answer": "12"}, W("There are 3 boxes of 4. Because each box holds 4, we multiply. "
     "Therefore 3 x 4 = 12.", "12"), W("", "9")),
    ("markdown", {"headings": True, "lists": True}, {}, "# Title\n\n- one\n- two", "plain text"),
]


@pytest.mark.parametrize("name, params, fields, high, low", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_component_scores_high_and_low(name, params, fields, high, low):
    reward = ComponentReward(name, params, M)
    (hi, hi_note), (lo, lo_note) = reward.explain([Sample("q", high, fields), Sample("q", low, fields)])
    assert hi is not None and lo is not None, (hi_note, lo_note)
    assert hi >= 0.75 and lo <= 0.4 and hi > lo, (hi, hi_note, lo, lo_note)
    assert 0.0 <= lo <= 1.0 and 0.0 <= hi <= 1.0


def test_every_component_is_covered_and_described():
    covered = {c[0] for c in CASES} | {"code_execution"}  # code_execution: tests/core/sandbox
    assert covered == set(COMPONENTS)
    for component in COMPONENTS.values():
        described = component.describe()
        assert described["summary"] and described["params"]["type"] == "object"


def test_missing_field_is_not_applicable_with_the_reason():
    reward = ComponentReward("correctness", {}, M)
    assert reward(["q"], [W("x", "4")]) == [None]
    [(score, note)] = reward.explain([Sample("q", W("x", "4"), {})])
    assert score is None and "answer" in note


def test_trl_contract_with_conversational_batches_and_columns():
    reward = ComponentReward("numeric_match", {}, M)
    completions = [[{"role": "assistant", "content": "#### 7"}], [{"role": "assistant", "content": "#### 8"}]]
    prompts = [[{"role": "user", "content": "3+4?"}]] * 2
    assert reward(prompts, completions, answer=["7", "7"], trainer_state=None) == [1.0, 0.0]
    clone = pickle.loads(pickle.dumps(reward))  # crosses into the training child
    assert clone.__name__ == "numeric_match" and clone(prompts, completions, answer=["7", "7"]) == [1.0, 0.0]


def test_length_in_tokens_uses_the_trainers_token_counts():
    reward = ComponentReward("length", {"unit": "tokens", "min": 1, "max": 3}, M)
    assert reward(["q", "q"], ["a", "b"], completion_ids=[[1, 2], [1] * 30]) == [1.0, 0.0]


def test_bad_params_are_rejected():
    with pytest.raises(ValueError):
        ComponentReward("regex_match", {"pattern": "(unclosed"}, M)
    with pytest.raises(ValueError):
        ComponentReward("length", {"min": 1, "surprise": True}, M)


@pytest.mark.parametrize("text, value", [("1,234.5", 1234.5), ("-3", -3), ("3/4", 0.75), ("\\frac{1}{8}", 0.125),
                                         ("50%", 50), ("$12", 12), ("12 cm", 12), ("−2", -2)])
def test_number_parsing(text, value):
    assert parse_number(text) == pytest.approx(value)


def test_final_number_prefers_stated_answers():
    assert final_number("I tried 3 and 4. The answer is 7.") == 7
    assert final_number("2 then 5 \\boxed{9} then 11") == 9
    assert final_number(W("1 + 1 = 2, then 40", "42"), M) == 42


def test_build_rewards_names_weights_and_totals():
    funcs, weights = build_rewards("components", None, [{"name": "format", "weight": 0.5},
                                                        {"name": "format", "weight": 1.0,
                                                         "params": {"exactly_once": False}}], M)
    assert [f.__name__ for f in funcs] == ["format", "format_2"] and weights == [0.5, 1.0]
    result = score_samples(funcs, weights, [Sample("q", W("a", "b")), Sample("q", "b")])
    assert result["samples"][0]["total"] == pytest.approx(1.5)
    assert result["samples"][0]["normalised"] == pytest.approx(1.0)
    assert result["samples"][1]["total"] == 0.0
    assert result["warnings"] == []


def test_score_samples_warns_about_constant_and_inapplicable_rewards():
    funcs, weights = build_rewards("components", None, [("format", 1.0), ("correctness", 1.0)], M)
    result = score_samples(funcs, weights, [Sample("q", "x"), Sample("q", "y")])
    kinds = {(w["reward"], w["kind"]) for w in result["warnings"]}
    assert kinds == {("format", "constant"), ("correctness", "not_applicable")}
    assert "answer" in next(w["message"] for w in result["warnings"] if w["kind"] == "not_applicable")


def test_code_execution_without_tests_is_not_applicable():
    if not isolation().available and not os.environ.get("CI"):  # CI must have it
        pytest.skip(isolation().reason)
    reward = ComponentReward("code_execution", {}, M)
    [(score, note)] = reward.explain([Sample("q", "```python\nx = 1\n```", {})])
    assert score is None and "tests" in note
