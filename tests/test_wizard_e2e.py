"""The whole wizard in a real chromium from an empty database: model, dataset with a custom system prompt, fewer
steps, a reward preset, save, start, live charts, reload, stop, duplicate into the wizard with the same values.

Screenshots of every step go to the test's folder; with TUNEWRIGHT_UPDATE_SCREENSHOTS=1 they are also copied to
docs/ (the README shows them).
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from tests.live_server import start_server, stop_server
from tests.browser import wait_js

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.db]

DOCS = Path(__file__).resolve().parent.parent / "docs"
SYSTEM_PROMPT = ("Solve the problem. Think between {reasoning_start} and {reasoning_end}, "
                 "then give only the number between {solution_start} and {solution_end}.")
CONFIG_VALUES = {  # what the Config step changes: a long GRPO phase so the run is still going when we stop it
    "training.samples_per_epoch": "200", "training.batch_size": "2", "training.num_generations": "2",
    "training.max_new_tokens": "8", "training.learning_rate": "0.001", "training.save_steps": "5",
    "pre_training.max_samples": "8",
}


@pytest.fixture
def fresh_server(tmp_path):
    server = start_server(tmp_path / "server", TUNEWRIGHT_MONITOR_INTERVAL="1")
    yield server
    stop_server(server)


def chart_points(page, chart_id: str) -> int:
    return page.evaluate(f"Chart.getChart('{chart_id}').data.datasets.reduce((n, d) => n + d.data.length, 0)")


def test_wizard_end_to_end(browser, fresh_server, tiny_model_dir, tmp_path):
    url = fresh_server.url
    shots = tmp_path / "shots"
    shots.mkdir()
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(60_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    def shot(name: str) -> None:
        page.screenshot(path=str(shots / f"{name}.png"), full_page=True)

    def ready(selector: str) -> None:
        wait_js(page, f"document.querySelector('{selector}').dataset.ready === '1'")

    # 1. Model: type a local folder, see its availability at once, custom LoRA.
    page.goto(f"{url}/wizard/model")
    ready("#model-step")
    assert page.input_value("#model-name") == "HuggingFaceTB/SmolLM2-135M-Instruct"  # bundled, preselected
    page.fill("#model-name", str(tiny_model_dir))
    wait_js(page, "document.querySelector('#model-availability').textContent === 'local'")
    assert "CPU" in page.text_content("#model-hardware") or "GPU" in page.text_content("#model-hardware")
    page.check("#setup-custom")
    page.fill("#lora-rank", "4")
    page.fill("#lora-alpha", "8")
    shot("wizard-1-model")
    page.click("#step-continue")
    page.wait_for_url("**/wizard/dataset")

    # 2. Dataset: the built-in arithmetic set with a custom system prompt, checked in the preview.
    ready("#dataset-step")
    assert page.input_value("#ds-source") == "builtin:arithmetic"
    page.fill("#tpl-text", SYSTEM_PROMPT)
    page.dispatch_event("#tpl-text", "change")
    wait_js(page, "document.getElementById('pv-prompt').textContent.includes('give only the number')")
    shot("wizard-2-dataset")
    page.click("#step-continue")
    page.wait_for_url("**/wizard/config")

    # 3. Config: a refused value shows beside its field; then fewer, tinier steps.
    ready("#config-step")
    for section in ("Training duration", "Batch", "Learning rate", "Optimisation", "Generation", "GRPO", "Pre-training"):
        assert page.locator("#config-form h2", has_text=section).count() == 1, section
    page.fill("#cfg-training-batch_size", "0")
    page.press("#cfg-training-batch_size", "Tab")
    error = page.locator('[data-error-for="training.batch_size"]')
    error.wait_for(state="visible")
    assert "greater than or equal to 1" in error.text_content()
    for path, value in CONFIG_VALUES.items():
        field = f"#cfg-{path.replace('.', '-')}"
        page.fill(field, value)
        page.press(field, "Tab")
        wait_js(page, f"document.querySelector('#config-step').dataset.saved === '{path}'")
    assert error.is_hidden()
    wait_js(page, "document.querySelector('#live-effective-batch').textContent.startsWith('4 ')")
    wait_js(page, "document.querySelector('#live-steps').textContent.startsWith('100 + 2')")
    shot("wizard-3-config")
    page.click("#step-continue")
    page.wait_for_url("**/wizard/rewards")

    # 4. Rewards: a preset from the engine.
    ready("#rewards-step")
    page.click('[data-preset-id="format"]')
    page.wait_for_selector('[data-preset-id="format"][aria-pressed="true"]')
    assert page.get_attribute('[data-preset-id="math"]', "aria-pressed") == "false"
    shot("wizard-4-rewards")
    page.click("#step-continue")
    page.wait_for_url("**/wizard/review")

    # 5. Review: the whole config, save it, start it.
    ready("#review-step")
    page.fill("#save-name", "my-first-run")
    page.fill("#save-description", "wizard walk")
    page.click("#save-form button[type=submit]")
    wait_js(page, "document.querySelector('#save-message').textContent.includes('configs/my-first-run.json')")
    shown = json.loads(page.text_content("#review-json"))
    assert shown["name"] == "my-first-run"
    assert shown["model"]["name"] == str(tiny_model_dir) and shown["model"]["lora_rank"] == 4
    assert shown["dataset"]["system_prompt"] == SYSTEM_PROMPT and shown["reward"]["preset_name"] == "format"
    assert shown["training"]["samples_per_epoch"] == 200
    assert page.locator('#review-sections dd[data-path="pre_training.max_samples"]').text_content() == "8"
    page.wait_for_selector('#saved-configs tr[data-config-name="my-first-run"]')
    wait_js(page, "!document.querySelector('#review-estimate').textContent.includes('Estimating')")
    shot("wizard-5-review")
    page.click("#review-start")
    page.wait_for_url("**/wizard/train?session=*")
    session_id = page.url.split("session=")[1]

    # 6. Train: the charts gain points from live events, survive a reload; then stop.
    wait_js(page, "Chart.getChart('chart-reward').data.datasets.reduce((n, d) => n + d.data.length, 0) >= 4",
                           timeout=120_000)
    shot("wizard-6-train")
    live = chart_points(page, "chart-loss")
    page.reload()
    wait_js(page, "document.querySelector('#train-app').dataset.historyLoaded === '1'")
    assert chart_points(page, "chart-loss") >= live and chart_points(page, "chart-reward") >= 4
    assert page.text_content("#current-status") == "running"
    page.click("#stop-session")
    wait_js(page, "document.querySelector('#current-status').textContent === 'stopped'", timeout=120_000)

    # 7. Sessions: the stopped run, duplicated into the wizard, has the same values.
    page.goto(f"{url}/sessions")
    ready("#sessions-page")
    row = page.locator(f'#sessions-table tr[data-session-id="{session_id}"]')
    assert "stopped" in row.text_content() and "grpo" in row.text_content()
    assert row.locator("input").input_value() == "my-first-run"
    assert page.locator(f'#sessions-list [data-session-id="{session_id}"]', has_text="my-first-run").count() == 1
    shot("sessions")
    row.locator('[data-action="duplicate"]').click()
    page.wait_for_url("**/wizard/review")
    ready("#review-step")
    assert json.loads(page.text_content("#review-json")) == shown
    # The stopped run's steps now give this model a measured time per step.
    wait_js(page, "document.querySelector('#review-estimate').textContent.includes('median of')")
    page.goto(f"{url}/wizard/config")
    ready("#config-step")
    for path, value in CONFIG_VALUES.items():
        assert float(page.input_value(f"#cfg-{path.replace('.', '-')}")) == float(value), path
    context.close()
    assert errors == []

    if os.environ.get("TUNEWRIGHT_UPDATE_SCREENSHOTS") == "1":
        DOCS.mkdir(exist_ok=True)
        for png in shots.glob("*.png"):
            shutil.copy(png, DOCS / png.name)


PAGES = ["/wizard/model", "/wizard/dataset", "/wizard/config", "/wizard/rewards", "/wizard/review", "/wizard/train",
         "/sessions"]


def test_pages_fit_a_narrow_window_and_work_by_keyboard(browser, live_server):
    context = browser.new_context(viewport={"width": 400, "height": 800})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    for path in PAGES:
        page.goto(live_server.url + path)
        page.wait_for_timeout(700)  # the page scripts fill in their content
        width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert width[0] <= width[1], (path, width)
    page.goto(live_server.url + "/wizard/rewards")
    wait_js(page, "document.querySelector('#rewards-step').dataset.ready === '1'")
    for _ in range(40):  # Tab until a preset button has the focus, then press it with the keyboard
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.dataset.presetId === 'format'"):
            break
    page.keyboard.press("Enter")
    page.wait_for_selector('[data-preset-id="format"][aria-pressed="true"]')
    context.close()
    assert errors == []
