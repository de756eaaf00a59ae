"""The Models pages in a real chromium: filter the table, compare two trained versions and read both answers
side by side, then set an alias, archive and delete on a version's page.

The two versions are real adapters of the tiny model: a trained run's final GRPO adapter, and its SFT adapter as
a second run. The first run gets a real held-out evaluation and its logged GRPO steps (from the checkpoint's
trainer_state.json) before it registers, so the table and the curves show what a run leaves. Screenshots go to
the test's folder; with TUNEWRIGHT_UPDATE_SCREENSHOTS=1 the Models and Compare pages are copied to docs/.
"""
from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest
import requests

from tests.browser import csp_violations, wait_js
from tests.export_fixtures import register_live_session
from tests.live_server import start_server, stop_server

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.db]

DOCS = Path(__file__).resolve().parent.parent / "docs"


def _import_logged_steps(server, session_id: str) -> None:
    """The GRPO steps the run logged (its last checkpoint's log history) as the metric rows the server keeps."""
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from services.models.training import TrainingMetric

    folder = server.log_path.parent
    states = sorted((folder / "outputs" / session_id / "checkpoints" / "grpo").glob("checkpoint-*/trainer_state.json"))
    history = [entry for entry in json.loads(states[-1].read_text())["log_history"] if "reward" in entry]
    assert history, "the tiny run logged no GRPO step"
    engine = create_engine(f"sqlite:///{folder / 'instance' / 'tunewright.db'}")
    with Session(engine) as db_session:
        for entry in history:
            db_session.add(TrainingMetric(session_id=session_id, phase="grpo", step=entry["step"],
                                          global_step=entry["step"], values=entry))
        db_session.commit()
    engine.dispose()


def _wait_evaluation(url: str, evaluation_id: int) -> None:
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        row = requests.get(f"{url}/api/models/evaluations/{evaluation_id}", timeout=30).json()["evaluation"]
        if row["status"] not in ("queued", "running"):
            assert row["status"] == "completed", row["error"]
            return
        time.sleep(0.5)
    raise AssertionError("the evaluation did not finish")


@pytest.fixture
def two_versions(tmp_path, trained_session_dir, tiny_model_dir):
    server = start_server(tmp_path / "server")
    try:
        url = server.url
        first = register_live_session(server, trained_session_dir, tiny_model_dir, "grpo1")
        second = register_live_session(server, trained_session_dir, tiny_model_dir, "sft1")
        adapter = server.log_path.parent / "outputs" / second / "adapter"
        shutil.rmtree(adapter)
        shutil.copytree(adapter.parent / "sft_adapter", adapter)
        _import_logged_steps(server, first)
        created = requests.post(f"{url}/api/models/evaluate", json={"session_id": first, "n": 4, "max_tokens": 6},
                                timeout=60)
        assert created.status_code == 202, created.text
        _wait_evaluation(url, created.json()["evaluation"]["id"])
        refs = []
        for session_id, name in ((first, "tiny-grpo"), (second, "tiny-sft")):
            answer = requests.post(f"{url}/api/registry/register", json={"session_id": session_id, "name": name},
                                   timeout=60)
            assert answer.status_code == 201, answer.text
            refs.append(answer.json()["version"]["ref"])
        yield server, refs
    finally:
        stop_server(server)


def test_models_table_compare_and_version_actions(browser, two_versions, tmp_path):
    server, refs = two_versions
    url = server.url
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(60_000)
    violations = csp_violations(page)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    shots = tmp_path / "shots"
    shots.mkdir()

    def rows() -> list[str]:
        return page.eval_on_selector_all("#models-table tbody tr[data-ref]", "trs => trs.map(t => t.dataset.ref)")

    # The table, and its filters
    page.goto(f"{url}/models")
    wait_js(page, "document.querySelector('#models-page').dataset.ready === '1'")
    assert sorted(rows()) == sorted(refs)
    held_out = page.text_content(f"tr[data-ref='{refs[0]}'] [data-field=held-out]")
    assert "n=4" in held_out
    page.screenshot(path=str(shots / "models.png"), full_page=True)
    page.fill("#filter-q", "sft")
    wait_js(page, "document.querySelectorAll('#models-table tbody tr[data-ref]').length === 1")
    assert rows() == [refs[1]]
    page.fill("#filter-q", "")
    page.select_option("#filter-type", "gguf")
    wait_js(page, "document.querySelectorAll('#models-table tbody tr[data-ref]').length === 0")
    assert "No version matches" in page.text_content("#models-table tbody")
    page.select_option("#filter-type", "lora_adapter")
    wait_js(page, "document.querySelectorAll('#models-table tbody tr[data-ref]').length === 2")

    # Compare the two: metrics, config, curves, then one typed prompt answered by both
    assert page.is_disabled("#compare-selected")
    for ref in refs:
        page.check(f"input[data-ref='{ref}']")
    page.click("#compare-selected")
    wait_js(page, "document.querySelector('#compare-page')?.dataset.ready === '1'")
    assert page.text_content("#compare-refs") == " · ".join(refs)
    assert "n=4" in page.text_content("#compare-metrics")
    assert page.text_content("#compare-config tbody") == "The configs are identical."
    page.uncheck("#diff-only")
    wait_js(page, "Number(document.querySelector('#compare-page').dataset.configRows) > 20")
    assert page.evaluate("Chart.getChart('curve-reward').data.datasets.map(d => d.label)") == [refs[0]]
    page.fill("#compare-prompts", "What is 2 + 3?")
    page.fill("#compare-max-tokens", "6")
    page.click("#compare-run")
    wait_js(page, "['done', 'failed'].includes(document.querySelector('#compare-page').dataset.state)", timeout=180000)
    assert page.get_attribute("#compare-page", "data-state") == "done", page.text_content("#compare-error")
    # the tiny model is random: its answers may be only whitespace, so they are checked against the API's
    answers = [page.text_content(f"#compare-answers td[data-ref='{ref}'] [data-field=answer]") for ref in refs]
    expected = requests.post(f"{url}/api/registry/compare", json={"versions": refs, "prompts": ["What is 2 + 3?"],
                                                                  "max_tokens": 6, "temperature": 0}, timeout=120)
    assert answers == [a["text"] or "(empty)" for a in expected.json()["rows"][0]["answers"]]
    for ref, answer in zip(refs, expected.json()["rows"][0]["answers"]):
        assert f"{answer['tokens']} tokens" in page.text_content(f"#compare-answers td[data-ref='{ref}']")
    assert page.text_content("#compare-answers tbody tr td").startswith("What is 2 + 3?")
    scores = page.eval_on_selector_all("#compare-answers [data-field=score]", "bs => bs.map(b => b.textContent)")
    assert len(scores) == 2 and all(s != "—" for s in scores)
    page.check("#diff-only")
    wait_js(page, "document.querySelector('#compare-page').dataset.configRows === '0'")
    page.screenshot(path=str(shots / "models-compare.png"), full_page=True)

    # A version's page: alias, archive and back, delete
    name = refs[1].split(":")[0]
    page.goto(f"{url}/models/{name}/versions/1")
    wait_js(page, "document.querySelector('#version-page').dataset.ready === '1'")
    assert "sha256" in page.text_content("#version-files") or page.locator("#version-files tbody tr").count() >= 1
    assert "sft1" in page.text_content("#version-summary")
    page.fill("#alias-name", "staging")
    page.click("#alias-set")
    page.wait_for_selector("#version-aliases [data-alias=staging]")
    page.click("[data-action=archive]")
    wait_js(page, "document.querySelector('#version-page').dataset.status === 'archived'")
    assert page.text_content("[data-action=archive]") == "Unarchive"
    page.click("[data-action=archive]")
    wait_js(page, "document.querySelector('#version-page').dataset.status === 'ready'")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("[data-action=delete]")
    page.wait_for_url(f"{url}/models")
    wait_js(page, "document.querySelector('#models-page').dataset.ready === '1'")
    assert rows() == [refs[0]]
    assert not (server.log_path.parent / "outputs" / "sft1" / "adapter").exists()
    assert violations == [] and errors == []
    context.close()

    if os.environ.get("TUNEWRIGHT_UPDATE_SCREENSHOTS") == "1":
        for shot in ("models.png", "models-compare.png"):
            shutil.copy(shots / shot, DOCS / shot)


def test_export_step_registers_a_completed_export(browser, tmp_path):
    """*Register in Models* on a completed merged export: the button becomes a link to the new version. The
    export's folder holds stand-in weights (the registry hashes files, it does not load them)."""
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from core.training_config import default_config
    from services.models.exports import ExportJob
    from services.models.training import TrainingSession

    server = start_server(tmp_path / "server")
    try:
        folder = server.log_path.parent
        model = folder / "exports" / "run1" / "exp1" / "model"
        model.mkdir(parents=True)
        (model / "config.json").write_text("{}", encoding="utf-8")
        (model / "model.safetensors").write_bytes(b"weights" * 100)
        engine = create_engine(f"sqlite:///{folder / 'instance' / 'tunewright.db'}")
        with Session(engine) as db_session:
            db_session.add(TrainingSession(id="run1", name="merged run", status="completed", config=default_config(),
                                           output_dir=str(folder / "outputs" / "run1"), last_logs=[]))
            db_session.flush()  # the session row first: the export's foreign key points at it
            db_session.add(ExportJob(id="exp1", session_id="run1", format="merged", status="completed", progress=1.0,
                                     manifest={"files": []}, export_dir=str(model.parent)))
            db_session.commit()
        engine.dispose()
        page = browser.new_page()
        page.goto(f"{server.url}/wizard/export")
        wait_js(page, "document.querySelector('#export-app').dataset.ready === '1'")
        page.click("tr[data-export-id=exp1] [data-action=register]")
        link = page.wait_for_selector("tr[data-export-id=exp1] [data-field=registered]")
        assert link.text_content() == "merged-run:v1"
        assert link.get_attribute("href") == "/models/merged-run/versions/1"
        version = requests.get(f"{server.url}/api/registry/models/merged-run/versions/1", timeout=30).json()
        assert version["export_id"] == "exp1" and version["type"] == "merged"
        page.close()
    finally:
        stop_server(server)
