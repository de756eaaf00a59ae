"""Train page, reward health: component curves from the stored rows and the zero-std alert, in a browser."""
from __future__ import annotations

import pytest
import requests

from tests.training_helpers import tiny_config
from tests.browser import wait_js

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_train_page_shows_component_curves_and_the_no_signal_alert(browser, live_server, tiny_model_dir):
    constant = {"name": "length", "params": {"unit": "characters", "min": 0, "max": 100000}}
    config = tiny_config(tiny_model_dir, pre_training={"enabled": False}, training={"samples_per_epoch": 8},
                         reward={"type": "components", "components": [constant, {"name": "format", "weight": 0.5}]})
    response = requests.post(f"{live_server.url}/api/training/start", json={"config": config}, timeout=30)
    assert response.status_code == 201, response.text
    sid = response.json()["session"]["id"]
    page = browser.new_page()
    page.goto(f"{live_server.url}/wizard/train?session={sid}")
    page.wait_for_selector('#reward-health[data-alerts~="no_signal"]', timeout=240000)
    assert "What to change" in page.text_content('[data-alert="no_signal"]')
    wait_js(page, "document.querySelector('#current-status').textContent === 'completed'", timeout=240000)
    page.reload()  # from the stored history and the stored alerts
    page.wait_for_selector('#reward-health[data-alerts~="no_signal"]', timeout=30000)
    labels = page.evaluate("() => Chart.getChart('chart-reward-components').data.datasets.map(d => d.label)")
    assert {"length", "length std", "format", "format std"} <= set(labels)
    page.close()
