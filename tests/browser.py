"""A session-wide headless chromium (Debian's package) driven by Playwright, for the page tests."""
from __future__ import annotations

import shutil

import pytest

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium")
    assert executable, "chromium is missing: `make test` installs it (scripts/setup_browser.sh)"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def wait_js(page, expression: str, arg=None, timeout: float = 30000, interval: float = 0.1):
    """``page.wait_for_function`` that works under our Content-Security-Policy: Playwright compiles that
    predicate with ``new Function`` in the page, which a policy without 'unsafe-eval' refuses (as it should),
    while ``page.evaluate`` goes through the DevTools protocol. Returns the first truthy value."""
    import time

    deadline = time.monotonic() + timeout / 1000
    while True:
        value = page.evaluate(expression, arg)
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout / 1000:.0f} s waiting for {expression}")
        time.sleep(interval)


def csp_violations(page) -> list[str]:
    """Collects the page's Content-Security-Policy violations (reported on the console) while the test runs."""
    found: list[str] = []
    page.on("console", lambda message: found.append(message.text)
            if "Content Security Policy" in message.text else None)
    return found
