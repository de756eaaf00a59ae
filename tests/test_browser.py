"""The pages in a real browser: Debian's chromium driven by Playwright against a live server."""
from __future__ import annotations

import pytest
import requests

from tests.training_helpers import tiny_config
from tests.browser import csp_violations, wait_js

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_system_bar_updates_live(browser, live_server):
    page = browser.new_page()
    violations = csp_violations(page)
    page.goto(live_server.url + "/")
    wait_js(page, "document.querySelector('[data-field=connection]').textContent === 'live'")
    wait_js(page, "/^\\d+%$/.test(document.querySelector('[data-field=cpu]').textContent)")
    first = page.get_attribute("#system-bar", "data-updated-at")
    wait_js(page, f"document.querySelector('#system-bar').dataset.updatedAt !== '{first}'", timeout=10000)
    assert page.text_content("[data-field=gpus]") in ("none (CPU)",) or "#0" in page.text_content("[data-field=gpus]")
    assert violations == []  # the pages live with the Content-Security-Policy (no inline script, no eval)
    page.close()


def test_train_page_rebuilds_charts_from_history(browser, live_server, tiny_model_dir):
    response = requests.post(f"{live_server.url}/api/training/start", json={"config": tiny_config(tiny_model_dir)},
                             timeout=30)
    sid = response.json()["session"]["id"]
    page = browser.new_page()
    violations = csp_violations(page)
    page.goto(f"{live_server.url}/wizard/train?session={sid}")
    wait_js(page, "document.querySelector('#current-status').textContent === 'completed'", timeout=180000)
    # Reload: everything on the page must come back from the stored history.
    page.reload()
    wait_js(page, "document.querySelector('#train-app').dataset.historyLoaded === '1'", timeout=30000)
    points = page.evaluate("""() => Object.fromEntries(['chart-reward', 'chart-loss', 'chart-kl'].map(id => [
        id, Chart.getChart(id).data.datasets.reduce((n, d) => n + d.data.length, 0)]))""")
    assert points["chart-loss"] >= 4 and points["chart-reward"] >= 2 and points["chart-kl"] >= 2
    assert page.locator("#train-samples .sample").count() >= 1
    assert "phase grpo" in page.text_content("#train-log")
    assert page.locator(f'#sessions-list [data-session-id="{sid}"] .badge').text_content() == "completed"
    page.screenshot(path=str(live_server.log_path.parent / "train-page.png"), full_page=True)
    assert violations == []
    page.close()
