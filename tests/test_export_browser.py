"""The Export and Test steps in a real browser: export a trained session to GGUF Q4_K_M, then chat with it."""
from __future__ import annotations

import pytest
import requests

from tests.export_fixtures import register_live_session
from tests.browser import csp_violations, wait_js

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_export_gguf_q4_k_m_then_chat_with_it(browser, live_server, trained_session_dir, tiny_model_dir):
    sid = register_live_session(live_server, trained_session_dir, tiny_model_dir, "demo1")
    page = browser.new_page()
    page.goto(f"{live_server.url}/wizard/export?session={sid}")
    wait_js(page, "document.querySelector('#export-app').dataset.ready === '1'", timeout=30000)
    assert page.input_value("#export-session") == sid
    page.select_option("#export-format", "gguf")
    page.select_option("#export-quantization", "Q4_K_M")
    page.click("#export-start")
    row = page.locator("#exports-table tbody tr").first
    row.wait_for(timeout=30000)
    wait_js(page, "document.querySelector('#exports-table tbody tr').dataset.status === 'completed'",
                           timeout=300000)
    export_id = row.get_attribute("data-export-id")
    row.locator("text=details").click()
    page.wait_for_selector("[data-field=verification-status]")
    assert page.text_content("[data-field=verification-status]") in ("verified", "does-not-stop", "differs")
    # fidelity and behaviour apart: a quantised file's agreement, and whether the (random tiny) model stops
    assert "Q4" in page.text_content("[data-field=verification-fidelity]") or \
        "quantised" in page.text_content("[data-field=verification-fidelity]")
    assert page.text_content("[data-field=verification-behaviour]") in ("ends its answers",
                                                                         "did not stop within 48 tokens")
    assert "Tensor types" in page.text_content("#export-detail") and "ollama create" in page.text_content("#export-detail")
    manifest = requests.get(f"{live_server.url}/api/exports/{export_id}", timeout=30).json()["manifest"]
    assert manifest["quantization"] == "Q4_K_M" and manifest["files"][0]["name"].endswith(".gguf")

    page.goto(f"{live_server.url}/wizard/test?model=export:{export_id}")
    wait_js(page, "document.querySelector('#test-app').dataset.ready === '1'", timeout=30000)
    assert page.input_value("#test-model") == f"export:{export_id}"
    page.fill("#test-prompt", "What is 2 + 2?")
    page.fill("#test-max-tokens", "12")
    page.click("#test-send")
    wait_js(page, "document.querySelector('#test-app').dataset.state === 'done'", timeout=120000)
    assert page.text_content("#output-a").strip()
    assert "tokens in" in page.text_content("#test-stats")
    wait_js(page, "document.querySelectorAll('#test-history li').length >= 1", timeout=30000)
    page.screenshot(path=str(live_server.log_path.parent / "test-step.png"), full_page=True)
    page.close()


def test_job_page_prepares_the_ollama_adapter_and_copies_its_modelfile(browser, tmp_path_factory,
                                                                       trained_session_dir, tiny_model_dir):
    from tests.live_server import start_server, stop_server

    server = start_server(tmp_path_factory.mktemp("deploy"), TUNEWRIGHT_OLLAMA_TAGS=f"{tiny_model_dir}=tiny:test")
    try:
        sid = register_live_session(server, trained_session_dir, tiny_model_dir, "deploy2")
        context = browser.new_context(permissions=["clipboard-read", "clipboard-write"])
        page = context.new_page()
        violations = csp_violations(page)
        page.goto(f"{server.url}/sessions")
        page.click(f"tr[data-session-id={sid}] [data-action=job-page]")
        wait_js(page, "document.querySelector('#job-page')?.dataset.ready === '1'")
        assert page.text_content("#job-status") == "completed"
        page.click("[data-option=adapter] [data-action=prepare]")
        wait_js(page, "document.querySelector('[data-option=adapter] [data-text=modelfile]')", timeout=120000)
        modelfile = page.text_content("[data-option=adapter] [data-text=modelfile]")
        assert modelfile.startswith("FROM tiny:test\nADAPTER ./demo-deploy2-lora-F16.gguf")
        page.click("[data-option=adapter] [data-copy=modelfile]")
        assert wait_js(page, "navigator.clipboard.readText()") == modelfile
        commands = page.text_content("[data-option=adapter] [data-text=ollama-commands]")
        assert "ollama create demo-deploy2 -f Modelfile" in commands and "curl -fL" in commands
        assert page.locator("[data-option=gguf] [data-action=prepare]").is_enabled()
        page.screenshot(path=str(server.log_path.parent / "job-page.png"), full_page=True)
        assert violations == []
        context.close()
    finally:
        stop_server(server)
