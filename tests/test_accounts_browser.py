"""Accounts in a real chromium against a real server in accounts mode: the first account becomes the
administrator, a second one waits for approval, the administrator approves it on the Admin page, the second
user uploads a dataset and starts a run, and the first user's own pages do not show them while the Admin page's
queue does."""
from __future__ import annotations

import pytest

from tests.browser import csp_violations, wait_js
from tests.dataset_fixtures import QA_ROWS, jsonl_bytes
from tests.live_server import start_server, stop_server
from tests.training_helpers import tiny_config

pytestmark = pytest.mark.slow

PASSWORD = "correct horse 1"


@pytest.fixture
def accounts_server(tmp_path):
    server = start_server(tmp_path / "server", TUNEWRIGHT_AUTH="accounts", TUNEWRIGHT_MONITOR_INTERVAL="0.5")
    yield server
    stop_server(server)


def register(page, url, username, full_name=""):
    page.goto(f"{url}/register")
    page.fill("#reg-username", username)
    page.fill("#reg-email", f"{username}@example.org")
    if full_name:
        page.fill("#reg-full-name", full_name)
    page.fill("#reg-password", PASSWORD)
    page.click("#register-form button[type=submit]")


def sign_in(page, url, username):
    page.goto(f"{url}/login")
    page.fill("#login-username", username)
    page.fill("#login-password", PASSWORD)
    page.click("#login-form button[type=submit]")


def test_register_approve_isolate_and_see_everything_as_admin(browser, accounts_server, tmp_path, tiny_model_dir):
    url = accounts_server.url
    admin_context, bob_context = browser.new_context(), browser.new_context()
    admin, bob = admin_context.new_page(), bob_context.new_page()
    errors: list[str] = []
    for page in (admin, bob):
        page.on("pageerror", lambda exc: errors.append(str(exc)))
    violations = csp_violations(admin) + csp_violations(bob)
    try:
        # Anonymous: every page leads to sign-in.
        admin.goto(f"{url}/datasets")
        admin.wait_for_url("**/login?next=%2Fdatasets")
        assert admin.locator("#first-account-note").is_visible()

        # The first account: the administrator, signed in at once.
        register(admin, url, "alice", "Alice Admin")
        admin.wait_for_url(f"{url}/")
        assert admin.inner_text("#account-link") == "alice"
        assert admin.locator("#admin-link").is_visible()

        # The second: pending until approved, and told so when signing in.
        register(bob, url, "bob")
        bob.locator("#register-pending").wait_for()
        sign_in(bob, url, "bob")
        bob.locator("#login-error").wait_for()
        assert "approval" in bob.inner_text("#login-error")

        # Approve on the Admin page.
        admin.goto(f"{url}/admin")
        bob_row = admin.locator("#users-table tr[data-username=bob]")
        assert bob_row.locator("[data-field=status]").inner_text() == "pending"
        bob_row.locator("[data-action=approve]").click()
        wait_js(admin, "document.querySelector('#users-table tr[data-username=bob] [data-field=status]')"
                       ".textContent === 'active'")
        assert "user.updated" in admin.inner_text("#audit-table")

        # Bob signs in, uploads a dataset on /datasets and starts a run (a request of his page, CSRF token and all).
        sign_in(bob, url, "bob")
        bob.wait_for_url(f"{url}/")
        assert bob.inner_text("#account-link") == "bob" and bob.locator("#admin-link").count() == 0
        data = tmp_path / "bobs-data.jsonl"
        data.write_bytes(jsonl_bytes(QA_ROWS))
        bob.goto(f"{url}/datasets")
        bob.set_input_files("#upload-file", str(data))
        bob.fill("#upload-form [name=tags]", "bobs")
        bob.click("#upload-form button[type=submit]")
        try:
            bob.locator("#datasets-table tbody tr", has_text="bobs-data").locator(".badge", has_text="Ready") \
                .wait_for(timeout=30_000)
        except Exception:
            raise AssertionError(bob.inner_text("main") + accounts_server.log()[-3000:])
        config = tiny_config(tiny_model_dir, training={"samples_per_epoch": 400})  # long enough to be watched
        config["name"] = "bobs run"
        started = bob.evaluate("""async (config) => {
            const token = document.querySelector('meta[name="csrf-token"]').content;
            const response = await fetch('/api/training/start', {method: 'POST', body: JSON.stringify({config}),
                headers: {'Content-Type': 'application/json', 'X-CSRFToken': token}});
            return {status: response.status, body: await response.json()};
        }""", config)
        assert started["status"] == 201, started
        session_id = started["body"]["session"]["id"]
        bob.goto(f"{url}/sessions")
        bob.locator(f"#sessions-table tr[data-session-id='{session_id}']").wait_for()

        # The administrator's Admin page shows Bob's run in the queue, with its owner.
        admin.goto(f"{url}/admin")
        queued = admin.locator(f"#queue-table tr[data-session-id='{session_id}']")
        queued.wait_for(timeout=20_000)
        owner_shown = queued.locator("[data-field=owner]").inner_text()

        # The administrator's own pages (not the admin view) as they are while Bob's things exist.
        admin.goto(f"{url}/datasets")
        admin.locator("#datasets-table tbody tr").first.wait_for()
        admin_datasets = admin.inner_text("#datasets-table")
        admin.goto(f"{url}/sessions")
        admin.wait_for_load_state("networkidle")
        admin_sees_run = admin.locator(f"#sessions-table tr[data-session-id='{session_id}']").count()

        stopped = bob.evaluate("""async (id) => {
            const token = document.querySelector('meta[name="csrf-token"]').content;
            const response = await fetch('/api/training/stop', {method: 'POST', body: JSON.stringify({session_id: id}),
                headers: {'Content-Type': 'application/json', 'X-CSRFToken': token}});
            return response.status;
        }""", session_id)
        assert stopped in (200, 409)  # 409: it ended by itself already

        # Sign out from the top bar: the next page asks to sign in again.
        bob.click("#signout-form button")
        bob.wait_for_url("**/login")
        bob.goto(f"{url}/datasets")
        bob.wait_for_url("**/login?next=%2Fdatasets")

        # Per-user isolation, built in the datasets and training services by the isolation part of issue 19
        # (these pass once it is in): the run records Bob as its owner, and the administrator's own Datasets
        # and Sessions pages do not list Bob's dataset and run.
        assert owner_shown == "bob"
        assert "bobs-data" not in admin_datasets
        assert admin_sees_run == 0
    finally:
        admin_context.close()
        bob_context.close()
    assert errors == [] and violations == []


def test_account_page_changes_the_password_and_shows_a_token_once(browser, accounts_server):
    url = accounts_server.url
    context = browser.new_context()
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        register(page, url, "alice")
        page.wait_for_url(f"{url}/")
        page.click("#account-link")
        page.wait_for_url(f"{url}/account")
        page.fill("#token-name", "laptop")
        page.check("#token-scopes input[value=train]")
        page.click("#token-form button[type=submit]")
        page.locator("#new-token").wait_for()
        secret = page.inner_text("#new-token-secret")
        assert secret.startswith("tw_")
        row = page.locator("#tokens-table tr", has_text="laptop")
        row.wait_for()
        assert secret not in row.inner_text() and "read, train" in row.inner_text()
        assert page.request.get(f"{url}/api/auth/me", headers={"Authorization": f"Bearer {secret}"}).ok

        page.fill("#current-password", PASSWORD)
        page.fill("#new-password", "a new passphrase")
        page.click("#password-form button[type=submit]")
        page.locator("#password-done").wait_for()
        # The page keeps working with the rotated session's CSRF token.
        row.locator("[data-action=revoke]").click()
        wait_js(page, "!document.querySelector('#tokens-table').textContent.includes('laptop')")
        assert page.request.get(f"{url}/api/auth/me", headers={"Authorization": f"Bearer {secret}"}).status == 401

        page.click("#signout-form button")
        try:
            page.wait_for_url("**/login", timeout=5000)
        except Exception:
            raise AssertionError(page.url + page.inner_text("main"))
        page.fill("#login-username", "alice")
        page.fill("#login-password", PASSWORD)
        page.click("#login-form button[type=submit]")
        page.locator("#login-error").wait_for()
        page.fill("#login-password", "a new passphrase")
        page.click("#login-form button[type=submit]")
        page.wait_for_url(f"{url}/")
    finally:
        context.close()
    assert errors == []


def test_with_an_access_token_the_first_account_needs_it(browser, tmp_path):
    """Bootstrap: while no account exists, the studio's access token (the token form) unlocks registering the
    administrator; afterwards the sign-in page asks for a username and password."""
    server = start_server(tmp_path / "server", TUNEWRIGHT_AUTH="accounts", TUNEWRIGHT_TOKEN="bootstrap-token-42")
    context = browser.new_context()
    page = context.new_page()
    try:
        page.goto(f"{server.url}/register")
        assert "access token" in page.inner_text("body")
        page.goto(f"{server.url}/login")
        page.fill("#token", "not it")
        page.click("#token-form button[type=submit]")
        page.locator("#token-error").wait_for()
        page.fill("#token", "bootstrap-token-42")
        page.click("#token-form button[type=submit]")
        page.wait_for_url(f"{server.url}/")
        page.click("#create-admin-link")
        page.wait_for_url(f"{server.url}/register")
        register(page, server.url, "alice")
        page.wait_for_url(f"{server.url}/")
        assert page.inner_text("#account-link") == "alice"
        fresh = browser.new_context().new_page()
        fresh.goto(f"{server.url}/login")
        assert fresh.locator("#login-form").is_visible() and fresh.locator("#token-form").count() == 0
        fresh.context.close()
    finally:
        context.close()
        stop_server(server)
