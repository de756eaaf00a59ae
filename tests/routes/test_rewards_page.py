"""The Rewards step in a real browser: build a no-code reward, test it on dataset rows, save it; a code reward
tested in the sandbox; the preset gallery."""
from __future__ import annotations

import os

import pytest
import requests

from core.sandbox import isolation
from tests.browser import wait_js

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def open_step(browser, live_server):
    page = browser.new_page()
    page.goto(live_server.url + "/wizard/rewards")
    wait_js(page, "document.querySelector('#rewards-step').dataset.ready === '1'", timeout=60000)
    page.select_option("#rw-source", "builtin:arithmetic")
    return page


def wait_tested(page, count):
    wait_js(page, f"Number(document.querySelector('#rewards-step').dataset.tested || 0) >= {count}",
                           timeout=60000)


def scores(page, variant):
    texts = page.locator(f'[data-result="{variant}"] [data-total]').all_text_contents()
    return [float(t.split()[-1]) for t in texts]


def test_build_test_and_save_a_no_code_reward(browser, live_server):
    page = open_step(browser, live_server)
    assert page.locator("[data-preset-id]").count() >= 14
    for name in ("format", "numeric_match"):
        page.select_option("#rw-add-component", name)
        page.click("#rw-add")
    page.fill("#rw-weight-1", "2")
    page.click("#rw-builder-test")
    wait_tested(page, 1)
    good, bad = scores(page, "good"), scores(page, "bad")
    assert len(good) == 3 and all(g == 1.0 for g in good) and all(b < 0.5 for b in bad), (good, bad)
    assert "numeric_match × 2" in page.text_content('[data-sample="0"] [data-result="good"]')
    # a parameter error is shown beside the component
    page.fill("#rw-params-0", '{"exactly_once": "sometimes"}')
    page.click("#rw-builder-test")
    page.wait_for_selector('[data-error-for="components.0.params"]:not([hidden])')
    assert "exactly_once" in page.text_content('[data-error-for="components.0.params"]')
    page.fill("#rw-params-0", '{"exactly_once": true}')
    page.fill("#rw-builder-name", "Format and number")
    page.click("#rw-builder-save")
    page.wait_for_selector("#rw-custom-list >> text=Format and number")
    # The live server is shared by the session's browser tests: look for this test's reward among the saved.
    saved = [r for r in requests.get(f"{live_server.url}/api/rewards/custom", timeout=10).json()["rewards"]
             if r["name"] == "Format and number"]
    assert [[c["name"] for c in r["components"]] for r in saved] == [["format", "numeric_match"]]
    assert saved[0]["components"][1]["weight"] == 2.0
    page.close()


@pytest.mark.skipif(not isolation().available and not os.environ.get("CI"),
                        reason=isolation().reason)  # CI must have the sandbox: fail there, never skip
def test_a_code_reward_is_tested_in_the_sandbox(browser, live_server):
    page = open_step(browser, live_server)
    page.click("#rw-code-test")  # the template: 1 when the answer appears in the completion
    wait_tested(page, 1)
    assert scores(page, "good") == [1.0, 1.0, 1.0] and scores(page, "bad") == [0.0, 0.0, 0.0]
    page.fill("#rw-code", "def reward(prompt, completion, **fields):\n    return {}['missing']\n")
    page.click("#rw-code-test")
    wait_tested(page, 2)
    assert "KeyError" in page.text_content('[data-sample="0"] [data-result="good"]')
    page.close()


def test_recommendation_for_the_arithmetic_dataset(browser, live_server):
    page = open_step(browser, live_server)
    page.click("#rw-recommend")
    page.wait_for_selector("[data-recommend-id]")
    assert page.locator("[data-recommend-id]").first.get_attribute("data-recommend-id") == "math"
    page.close()
