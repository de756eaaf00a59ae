"""The code_execution component runs completions' code against tests in the sandbox."""
from __future__ import annotations

import os

import pytest

from core.datasets.prompts import DEFAULT_MARKERS as M
from core.rewards import ComponentReward, Sample
from core.sandbox import isolation

pytestmark = pytest.mark.skipif(not isolation().available and not os.environ.get("CI"),
                        reason=isolation().reason)  # CI must have the sandbox: fail there, never skip
TESTS = ["assert add(2, 3) == 5", "assert add(-1, 1) == 0"]


def test_code_execution_scores_the_share_of_tests_passed():
    reward = ComponentReward("code_execution", {"tests": TESTS, "timeout_seconds": 1.0}, M)
    samples = [Sample("", "```python\ndef add(a, b):\n    return a + b\n```"),
               Sample("", "```python\ndef add(a, b):\n    return 5\n```"),
               Sample("", "```python\nimport os\nos.system('rm -rf /')\n```"),
               Sample("", "```python\nwhile True: pass\n```")]
    (good, _), (half, _), (hostile, why), (hang, hang_why) = reward.explain(samples)
    assert good == 1.0 and half == 0.5
    assert hostile is None and "disabled" in why
    assert hang is None and "timed out" in hang_why


def test_tests_can_come_from_a_dataset_field():
    reward = ComponentReward("code_execution", {}, M)
    assert reward(["q"], ["def add(a, b):\n    return a + b"], tests=["assert add(1, 1) == 2"]) == [1.0]


@pytest.mark.parametrize("cheat", [
    "import builtins\n_real = builtins.compile\n"
    "builtins.compile = lambda source, *a, **k: _real('pass', *a, **k)\n",
    "import json\n_real = json.dumps\n"  # the worker's own reply channel: every later reply says 1.0
    "json.dumps = lambda value, *a, **k: _real([*value[:-2], 1.0, None])\n",
])
def test_a_malicious_sample_cannot_change_how_the_next_one_scores(cheat):
    reward = ComponentReward("code_execution", {"tests": TESTS, "timeout_seconds": 1.0}, M)
    wrong = Sample("", "```python\ndef add(a, b):\n    return 1\n```")
    scores = [score for score, _ in reward.explain([Sample("", f"```python\n{cheat}```"), wrong, wrong])]
    assert scores[1:] == [0.0, 0.0]
