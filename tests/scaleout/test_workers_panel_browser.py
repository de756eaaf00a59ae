"""The Workers panel in a real chromium against a studio on the rq executor: Redis, the web server and one real
`tunewright worker` sharing a SQLite file and the storage folder (one host: SQLite is no database for several).
The dashboard lists the worker alive with its current job linked to the session page, keeps it alive across the
grace (its heartbeats go on), and marks it lost once it is SIGKILLed and silent for TUNEWRIGHT_WORKER_GRACE; its
session then turns interrupted. The session's page and the Sessions list say which worker ran it, and the attempt."""
from __future__ import annotations

import pytest
import requests

from tests.auth_helpers import close_app
from tests.browser import csp_violations, wait_js
from tests.helpers import make_test_config
from tests.scaleout.cluster import Cluster

pytestmark = [pytest.mark.browser, pytest.mark.slow]

GRACE = 3.0
WORKER = "ui-w1"
ROW = f"[data-workers-panel] tr[data-worker='{WORKER}']"


@pytest.fixture
def cluster(tmp_path):
    cluster = Cluster(tmp_path, None, grace=GRACE)  # a SQLite file; heartbeats every second (Cluster.env)
    try:
        cluster.start(workers=0)
        cluster.start_worker(WORKER)  # waits until the web server's API lists it alive
        yield cluster
    finally:
        cluster.stop()


def running_session_on(cluster: Cluster, worker: str, attempt: int) -> str:
    """A session the worker holds (written into the studio's database, as the dispatcher's hand-off and the worker's
    start would leave it): the panel lists it as the worker's job, and the worker's heartbeat reads it as busy."""
    from app_factory import create_app
    from core.training_config import default_config
    from extensions import db
    from services.models.training import TrainingSession

    app = create_app({**make_test_config(cluster.folder / "seed"), "EXECUTOR": "local",
                      "SQLALCHEMY_DATABASE_URI": cluster.database.url})
    try:
        with app.app_context():
            config = default_config()
            config["model"]["name"] = "example-org/tiny-model"
            db.session.add(TrainingSession(
                id="uiworkrun01", name="on a worker", config=config, status="running", priority=1, owner_id=None,
                output_dir=str(cluster.storage / "outputs" / "uiworkrun01"), last_logs=[], worker=worker,
                rq_job_id="tw-uiworkrun01-test", attempt=attempt))
            db.session.commit()
    finally:
        close_app(app)
    return "uiworkrun01"


def row_state(page) -> str | None:
    return page.evaluate(f"() => {{ const r = document.querySelector(\"{ROW}\"); return r && r.dataset.state; }}")


def test_the_panel_shows_the_worker_alive_then_lost(browser, cluster):
    url = cluster.web.url
    session_id = running_session_on(cluster, WORKER, attempt=2)
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    violations = csp_violations(page)

    page.goto(url + "/")
    assert page.locator("[data-workers-local]").count() == 0
    wait_js(page, f"document.querySelector(\"{ROW} a[data-job='{session_id}']\")", timeout=15000)
    row = page.locator(ROW)
    assert row_state(page) == "busy"
    assert row.locator("a[data-job]").get_attribute("href") == f"/sessions/{session_id}"
    api = requests.get(f"{url}/api/system/workers", timeout=10).json()
    host = next(w for w in api["workers"] if w["name"] == WORKER)["host"]
    text = row.inner_text()
    assert host in text and "none (CPU)" in text and "GiB" in row.locator("[data-field=free-memory]").inner_text()
    assert row.locator("[data-field=heartbeat]").inner_text().endswith(" s ago")
    assert "1 alive" in page.inner_text("[data-workers-panel] [data-field=workers-summary]")

    # Past the grace and two more refreshes it is still alive: its heartbeats reach the shared database.
    loads = int(page.get_attribute("[data-workers-panel]", "data-loads"))
    wait_js(page, f"Number(document.querySelector('[data-workers-panel]').dataset.loads) >= {loads + 2}",
            timeout=15000)
    assert row_state(page) == "busy", cluster.worker_log(WORKER)
    age = row.locator("[data-field=heartbeat]").inner_text()
    assert int(age.split()[0]) <= GRACE, age

    # Its job links to the session's page, which names the worker and the attempt; so does the Sessions list.
    row.locator(f"a[data-job='{session_id}']").click()
    page.wait_for_url(f"**/sessions/{session_id}")
    assert page.inner_text("#job-worker").split() == ["Worker", WORKER, "·", "attempt", "2"]
    page.goto(url + "/sessions")
    wait_js(page, f"document.querySelector(\"#sessions-table tr[data-session-id='{session_id}'] [data-field=worker]\")")
    assert page.inner_text(f"#sessions-table tr[data-session-id='{session_id}'] [data-field=worker]") == \
        f"worker {WORKER} · attempt 2"

    # The worker dies with its process group, like a host: after the grace the panel marks it lost, and the web
    # server's repair loop interrupts its session (no longer a job of anyone's).
    page.goto(url + "/")
    wait_js(page, f"document.querySelector(\"{ROW}\")", timeout=15000)
    cluster.kill_worker(WORKER)
    wait_js(page, f"document.querySelector(\"{ROW}\").dataset.state === 'lost'", timeout=(GRACE + 20) * 1000)
    assert "table-danger" in row.get_attribute("class")
    assert row.locator("[data-field=state]").inner_text() == "lost"
    assert "lost" in page.inner_text("[data-workers-panel] [data-field=workers-summary]")
    assert "heartbeat" in row.get_attribute("title")
    wait_js(page, f"!document.querySelector(\"{ROW} a[data-job]\")", timeout=15000)
    assert cluster.session(session_id)["status"] == "interrupted"
    assert errors == [] and violations == [], (errors, violations)
    context.close()
