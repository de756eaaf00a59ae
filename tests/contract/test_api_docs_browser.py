"""/api/docs in a real chromium: Swagger UI (vendored, no CDN) renders every operation of the document under our
Content-Security-Policy, and "Try it out" reaches the API."""
from __future__ import annotations

import pytest
import requests

from tests.browser import csp_violations, wait_js

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_the_docs_page_shows_every_route_and_can_call_one(browser, live_server):
    spec = requests.get(f"{live_server.url}/api/openapi.json", timeout=30).json()
    operations = sum(len(methods) for methods in spec["paths"].values())
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    outside: list[str] = []
    page.on("request", lambda req: outside.append(req.url)
            if not req.url.startswith((live_server.url, "about:", "data:")) else None)
    violations = csp_violations(page)
    try:
        page.goto(f"{live_server.url}/api/docs")
        wait_js(page, "document.querySelectorAll('.opblock').length > 0", timeout=60000)
        # Swagger UI renders the tags near the viewport only: scroll to the end, collecting what was shown.
        shown: set[tuple[str, str]] = set()
        for _ in range(400):
            shown |= {tuple(pair) for pair in page.eval_on_selector_all(
                ".opblock", "nodes => nodes.map(n => [n.querySelector('.opblock-summary-method').textContent,"
                            " n.querySelector('.opblock-summary-path').dataset.path])")}
            at_end = page.evaluate("window.innerHeight + window.scrollY >= document.body.scrollHeight - 2")
            if at_end and len(shown) >= operations:
                break
            page.mouse.wheel(0, 500)
            page.wait_for_timeout(60)
        expected = {(method.upper(), path) for path, methods in spec["paths"].items() for method in methods}
        assert shown == expected

        # A deep link opens one operation; "Try it out" then calls the API from the page.
        page.goto("about:blank")  # a load, not a same-document hash change: Swagger UI reads the link on load
        page.goto(f"{live_server.url}/api/docs#/training/training.defaults")
        block = page.locator(".opblock.is-open")
        block.locator("button.try-out__btn").click()
        block.locator("button.execute").click()
        status = block.locator(".live-responses-table tbody .response-col_status").first
        status.wait_for(timeout=30000)
        assert status.text_content().strip() == "200"
    finally:
        page.close()
    assert not errors, errors
    assert not violations, violations
    assert not outside, f"the page loaded something from elsewhere: {outside}"
