"""The Datasets page and the wizard's Dataset step render, and work in a real browser."""
from __future__ import annotations

import pytest

from tests.dataset_fixtures import QA_ROWS, jsonl_bytes
from tests.browser import wait_js


def test_datasets_page_renders_with_filters_and_nav_link(client):
    html = client.get("/datasets").get_data(as_text=True)
    assert 'id="datasets-table"' in html and 'id="upload-form"' in html and 'id="catalog-table"' in html
    for option in ("jsonl", "parquet", "hub", "Processing", "Failed", "Math", "Q&amp;A"):
        assert f">{option}<" in html
    assert 'href="/datasets"' in client.get("/").get_data(as_text=True)


def test_wizard_dataset_step_renders(client):
    html = client.get("/wizard/dataset").get_data(as_text=True)
    for element in ('id="ds-source"', 'id="tpl-select"', 'id="pv-table"', 'id="pv-prompt"', "wizard_dataset.js"):
        assert element in html


@pytest.mark.browser
@pytest.mark.slow
def test_dataset_step_and_page_in_a_browser(browser, live_server, tmp_path):
    """Upload through the page, see it Ready; the wizard step previews the prompt and saves the choice."""
    data = tmp_path / "browser.jsonl"
    data.write_bytes(jsonl_bytes(QA_ROWS))
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{live_server.url}/datasets")
    page.set_input_files("#upload-file", str(data))
    page.fill("#upload-form [name=tags]", "browser")
    page.click("#upload-form button[type=submit]")
    row = page.locator("#datasets-table tbody tr", has_text="browser")
    row.locator(".badge", has_text="Ready").wait_for(timeout=20_000)
    assert "12" in row.inner_text()
    row.get_by_role("button", name="Open").click()
    page.locator("#detail-preview tbody tr").first.wait_for()
    assert QA_ROWS[0]["question"] in page.inner_text("#detail-preview")

    page.goto(f"{live_server.url}/wizard/dataset")
    page.select_option("#ds-source", "builtin:arithmetic")
    page.locator("#pv-table tbody tr").first.wait_for(timeout=60_000)
    wait_js(page, "document.getElementById('pv-prompt').textContent.includes('<SOLUTION>')",
                           timeout=60_000)
    prompt = page.inner_text("#pv-prompt")
    assert "<|im_start|>system" in prompt and "<|im_start|>assistant" in prompt
    page.fill("#ds-max", "40")
    page.click("#step-continue")
    page.wait_for_url("**/wizard/config")
    saved = page.evaluate("fetch('/api/wizard/draft').then((r) => r.json())")["config"]["dataset"]  # server-side
    assert saved["source"] == "builtin:arithmetic" and saved["max_samples"] == 40
    assert saved["solution_start"] == "<SOLUTION>" and "<SOLUTION>" in saved["system_prompt"]
    page.close()
    assert errors == []

