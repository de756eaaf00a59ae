"""The Settings page in a real chromium: the current base and its writability are shown, Test writable answers
inline, a refused base shows the server's reason, a saved one becomes current; no inline script runs (CSP)."""
from __future__ import annotations

import pytest

from tests.browser import csp_violations, wait_js
from tests.live_server import start_server, stop_server

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.db]


def test_show_test_refuse_and_save_the_output_base(browser, tmp_path):
    server = start_server(tmp_path / "studio")  # its own server: changing the base must not reach other tests
    context = browser.new_context()
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    violations = csp_violations(page)
    try:
        page.goto(f"{server.url}/settings")
        default = str((tmp_path / "studio" / "outputs").resolve())
        wait_js(page, "document.querySelector('#current-output-base').textContent !== '…'")
        assert page.text_content("#current-output-base") == default
        assert page.input_value("#output-base") == default
        assert page.get_attribute("#writable-result", "data-writable") == "true"

        target = tmp_path / "big-disk"
        page.fill("#output-base", str(target))
        page.click("#test-writable")
        wait_js(page, "document.querySelector('#writable-result').textContent.includes('does not exist yet')")
        assert not target.exists()  # testing creates nothing

        page.fill("#output-base", "relative/outputs")
        page.click("#save-output-base")
        wait_js(page, "!document.querySelector('#settings-error').hidden")
        assert "must be an absolute path" in page.text_content("#settings-error")

        page.fill("#output-base", str(target))
        page.click("#save-output-base")
        wait_js(page, f"document.querySelector('#current-output-base').textContent === {str(target)!r}")
        assert page.is_hidden("#settings-error") and target.is_dir()
        page.click("#settings-link")
        wait_js(page, f"document.querySelector('#output-base').value === {str(target)!r}")
        assert errors == [] and violations == []
    finally:
        context.close()
        stop_server(server)
