"""The Rewards step writes the wizard's server-side draft (PATCH /api/wizard/draft, issue 8's API): a custom
reward built, tested on dataset rows and saved; a preset chosen from the gallery; the algorithm."""
from __future__ import annotations

import pytest

from tests.routes.test_rewards_page import open_step, scores, wait_tested

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def draft(page) -> dict:
    body = page.evaluate("() => fetch('/api/wizard/draft', {credentials: 'same-origin'}).then(r => r.json())")
    return body["config"]


def test_a_custom_reward_and_a_preset_are_saved_into_the_draft(browser, live_server):
    page = open_step(browser, live_server)
    for name in ("format", "numeric_match"):
        page.select_option("#rw-add-component", name)
        page.click("#rw-add")
    page.click("#rw-builder-test")
    wait_tested(page, 1)
    assert all(g == 1.0 for g in scores(page, "good")) and all(b < 0.5 for b in scores(page, "bad"))
    page.fill("#rw-builder-name", "Draft reward")
    page.click("#rw-builder-save")
    page.wait_for_selector("#rw-status >> text=draft's reward")
    reward = draft(page)["reward"]
    assert reward["type"] == "custom" and len(reward["custom"]) == 1

    page.click('[data-preset-id="chain_of_thought"]')
    page.wait_for_selector('[data-preset-id="chain_of_thought"][aria-pressed="true"]')
    assert draft(page)["reward"] == {**draft(page)["reward"], "type": "preset", "preset_name": "chain_of_thought"}
    page.check("#rw-alg-gspo")
    page.wait_for_selector("#rw-status >> text=gspo")
    assert draft(page)["grpo"]["algorithm"] == "gspo"
    page.close()
