"""Experiment tracking in a real chromium: the Account page stores a tracker secret and never shows its value;
the Config step offers the installed trackers as checkboxes (the others disabled, saying so) and saves the
choice to the draft."""
from __future__ import annotations

import pytest

from core.tracking import installed_trackers
from tests.browser import wait_js
from tests.test_accounts_browser import accounts_server, register  # noqa: F401  (fixture)

pytestmark = pytest.mark.slow

VALUE = "wandb-browser-secret-42"


def test_account_secrets_and_config_step_trackers(browser, accounts_server):
    url = accounts_server.url
    context = browser.new_context()
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        register(page, url, "alice")
        page.wait_for_url(f"{url}/")
        page.goto(f"{url}/account")
        page.locator("#secret-name option[value=WANDB_API_KEY]").wait_for(state="attached")
        page.select_option("#secret-name", "WANDB_API_KEY")
        page.fill("#secret-value", VALUE)
        page.click("#secret-save")
        row = page.locator("#secrets-table tr[data-secret=WANDB_API_KEY]")
        row.wait_for()
        assert "wandb" in row.inner_text()
        assert page.input_value("#secret-value") == "" and VALUE not in page.content()
        row.locator("[data-action=delete-secret]").click()
        wait_js(page, "document.querySelector('#secrets-table').textContent.includes('No secrets.')")

        page.goto(f"{url}/wizard/config")
        wait_js(page, "document.querySelector('#config-step').dataset.ready === '1'")
        for name, installed in installed_trackers().items():
            assert page.is_enabled(f"#cfg-tracker-{name}") is installed, name
        missing = [name for name, ok in installed_trackers().items() if not ok]
        if missing:
            assert "Not installed on this server" in page.inner_text("#cfg-training-report_to")
        page.check("#cfg-tracker-tensorboard")
        wait_js(page, "document.querySelector('#config-step').dataset.saved === 'training.report_to'")
        draft = page.request.get(f"{url}/api/wizard/draft").json()
        assert draft["config"]["training"]["report_to"] == ["tensorboard"]
    finally:
        context.close()
    assert errors == []
