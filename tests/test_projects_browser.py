"""The new-project wizard in a real chromium against a real server: basic information with a custom row budget,
a built-in reasoning dataset, coding skipped, an uploaded general/tools dataset whose live sum says how far it is
from 100 (and the server's error beside it until it is), the resolved output folder, the preview's rows, Create,
Start training, and the project page following its run — with no Content-Security-Policy violation."""
from __future__ import annotations

import json
import time

import pytest
import requests
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.browser import csp_violations, wait_js

pytestmark = [pytest.mark.browser, pytest.mark.slow]

GENERAL_ROWS = [{"instruction": f"Name colour number {i}.", "response": f"Colour {i} is blue."} for i in range(30)]
# Cheap training: LoRA instead of full weights, a few small steps.
CHEAP = {"standard": {"full_finetune": False}, "training": {"batch_size": 4, "samples_per_epoch": 8}}


def ready_dataset(url: str) -> int:
    data = "".join(json.dumps(row) + "\n" for row in GENERAL_ROWS).encode()
    answer = requests.post(f"{url}/api/datasets/upload", files={"file": ("colours.jsonl", data)}, timeout=30)
    assert answer.status_code == 202, answer.text
    dataset_id = answer.json()["dataset"]["id"]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        dataset = requests.get(f"{url}/api/datasets/{dataset_id}", timeout=30).json()["dataset"]
        if dataset["status"] != "Processing":
            assert dataset["status"] == "Ready", dataset
            return dataset_id
        time.sleep(0.2)
    raise AssertionError("the dataset is still processing")


def text(page, selector: str) -> str:
    return page.text_content(selector).strip()


def next_step(page, expected: int) -> None:
    page.click("#wizard-next")
    wait_js(page, "(step) => document.querySelector('#project-wizard').dataset.step === step", str(expected))


def test_wizard_creates_and_starts_a_project(browser, live_server, tiny_model_dir, tmp_path):
    url = live_server.url
    dataset_id = ready_dataset(url)
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    violations = csp_violations(page)

    page.goto(f"{url}/projects")
    page.click("#new-project")
    wait_js(page, "document.querySelector('#project-wizard').dataset.ready === '1'")

    # Basic information: the server refuses an empty name beside the field, then takes the step.
    page.fill("#p-base-model", str(tiny_model_dir))
    page.select_option("#p-method", "standard")
    page.select_option("#p-max-rows", "custom")
    page.fill("#p-max-rows-custom", "24")
    page.click("#wizard-next")
    page.wait_for_selector('[data-error-for="name"]:not([hidden])')
    assert page.evaluate("document.querySelector('#project-wizard').dataset.step") == "0"
    page.fill("#p-name", "Colours and sums")
    next_step(page, 1)

    assert page.input_value("#p-reasoning") == "builtin:arithmetic"
    next_step(page, 2)
    assert page.input_value("#p-coding") == ""  # skipped
    next_step(page, 3)

    # General/tools: the live sum, and the server's own error while it is not 100.
    page.click("#general-add")
    page.select_option(".general-row select", f"dataset:{dataset_id}")
    page.fill(".general-row input", "99.9")
    assert text(page, "#general-sum") == "99.9 % — 0.1 short of 100"
    page.click("#wizard-next")
    page.wait_for_selector('[data-error-for="general.datasets"]:not([hidden])')
    assert "0.1 short of 100" in text(page, '[data-error-for="general.datasets"]')
    assert page.evaluate("document.querySelector('#project-wizard').dataset.step") == "3"
    page.click("#general-even")
    assert text(page, "#general-sum") == "100 % — adds up to 100"
    next_step(page, 4)

    wait_js(page, "document.querySelector('#output-resolved').textContent.endsWith('colours-and-sums')")
    next_step(page, 5)

    page.click("#config-toggle")
    page.fill("#p-config", json.dumps(CHEAP))
    page.click("#preview-refresh")
    wait_js(page, "!document.querySelector('#preview-table').hidden", timeout=60000)
    preview = requests.post(f"{url}/api/projects/preview", timeout=60, json={
        "name": "Colours and sums", "base_model": str(tiny_model_dir), "training_type": "standard", "max_rows": 24,
        "traits": [{"trait_type": "reasoning", "datasets": [{"source": "builtin:arithmetic", "percentage": 100}]},
                   {"trait_type": "general", "datasets": [{"dataset_id": dataset_id, "percentage": 100}]}],
    }).json()["preview"]
    shown = {row.get_attribute("data-key"): row.query_selector('[data-field="rows"]').text_content()
             for row in page.query_selector_all("#preview-table tbody tr")}
    assert set(shown) == {"builtin:arithmetic", f"dataset:{dataset_id}"}
    for source in preview["sources"]:
        assert shown[source["key"]].startswith(f"{source['rows']:,}"), (shown, source)
    assert text(page, '[data-field="total-rows"]').startswith(str(preview["total_rows"]))
    assert preview["total_rows"] == 24
    assert text(page, "#preview-tokens-note").startswith("Tokens counted with the tokenizer of")
    page.screenshot(path=str(tmp_path / "preview.png"), full_page=True)
    next_step(page, 6)

    assert "Colours and sums" in text(page, "#create-summary")
    page.click("#create-project")
    page.wait_for_selector("#created:not([hidden])")
    project = next(p for p in requests.get(f"{url}/api/projects", timeout=30).json()["projects"]
                   if p["name"] == "Colours and sums")
    assert project["max_rows"] == 24 and project["config"] == CHEAP and project["status"] == "draft"
    general = project["traits"][1]["datasets"][0]
    assert (general["dataset_id"], general["percentage"]) == (dataset_id, 100.0)

    try:
        with page.expect_navigation(url=f"{url}/projects/{project['id']}", timeout=60000):
            page.click("#start-training")
    except PlaywrightTimeout:
        raise AssertionError(f"no project page: {text(page, '#wizard-error')}") from None
    wait_js(page, "document.querySelector('#project-page').dataset.loaded === '1'")
    wait_js(page, "['queued', 'running', 'completed'].includes(document.querySelector('#project-status').textContent)")
    wait_js(page, "document.querySelector('#project-page').dataset.historyLoaded === '1'")
    assert page.is_visible("#manifest")
    assert text(page, "#manifest-sha") == requests.get(f"{url}/api/projects/{project['id']}",
                                                        timeout=30).json()["project"]["manifest_sha256"]
    page.screenshot(path=str(tmp_path / "project.png"), full_page=True)
    page.goto(f"{url}/projects")
    page.wait_for_selector(f'tr[data-project-id="{project["id"]}"]')
    page.close()
    assert errors == []
    assert violations == []
