"""GET /api/system/workers and the pages that show it, on the real database: worker rows and sessions are written
directly (the worker process itself is tested in tests/scaleout/). A worker is alive while its heartbeat is younger
than WORKER_GRACE_SECONDS and it has not said it stopped; its jobs are the sessions handed to it and not yet ended;
in accounts mode a user sees only their own job ids (an admin sees all), while ``busy`` stays true for everyone.

The apps here use the rq executor against a real redis-server (tests/scaleout/cluster.py) with the web server's
repair loop off (SCALE_OUT_REPAIR): the loop would turn the sessions of the lost worker ``interrupted`` while the
test reads them, which tests/scaleout/ covers."""
from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest

from tests.auth_helpers import accounts_config, add_user, bearer, close_app
from tests.helpers import reset_database

pytestmark = pytest.mark.db

GRACE = 30.0


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    from tests.scaleout.cluster import RedisServer

    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server.url
    server.kill()


def rq_settings(redis_url: str) -> dict:
    return {"EXECUTOR": "rq", "REDIS_URL": redis_url, "SCALE_OUT_REPAIR": False, "WORKER_GRACE_SECONDS": GRACE}


@pytest.fixture
def test_config(test_config, redis_url):
    """The conftest's folders and database, with the rq executor (the ``app`` and ``client`` fixtures use it)."""
    return {**test_config, **rq_settings(redis_url)}


@pytest.fixture
def accounts_rq_app(tmp_path, redis_url):
    from app_factory import create_app

    config = accounts_config(tmp_path, **rq_settings(redis_url))
    reset_database(config["SQLALCHEMY_DATABASE_URI"])
    app = create_app(config)
    yield app
    close_app(app)


GPU = {"index": 0, "name": "NVIDIA H100 80GB HBM3", "memory_total_mb": 81559, "memory_free_mb": 80000,
       "utilization": 3}


def add_worker(app, name: str, *, age_s: float, state: str = "idle", gpus: list | None = None) -> None:
    from extensions import db
    from services.executors.workers import queue_name
    from services.models.base import utcnow
    from services.models.workers import Worker

    with app.app_context():
        beat = utcnow() - timedelta(seconds=age_s)
        db.session.add(Worker(name=name, host=f"{name}.example.org", pid=4242, boot_id=uuid.uuid4().hex,
                              queue=queue_name(name), gpus=gpus or [], free_memory_mb=80000 if gpus else 16000,
                              slots=2, state=state, started_at=beat - timedelta(minutes=5), last_heartbeat=beat))
        db.session.commit()


def add_session(app, worker: str | None, status: str, *, owner_id: int | None = None, handed: bool = True,
                attempt: int = 1) -> str:
    """A session row; ``handed``: a queued one was given to its worker (its RQ job id is set)."""
    from core.training_config import default_config
    from extensions import db
    from services.models.training import TrainingSession

    with app.app_context():
        session_id = uuid.uuid4().hex[:12]
        config = default_config()
        config["model"]["name"] = "example-org/tiny-model"  # not the bundled model: nothing to prepare
        folder = app.config["OUTPUT_FOLDER"] + f"/{session_id}"
        db.session.add(TrainingSession(id=session_id, name=f"run {session_id}", config=config, status=status,
                                       priority=1, owner_id=owner_id, output_dir=folder, last_logs=[], worker=worker,
                                       rq_job_id=f"tw-{session_id}" if worker and handed else None, attempt=attempt))
        db.session.commit()
        return session_id


def by_name(answer) -> dict[str, dict]:
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return {w["name"]: w for w in answer.json["workers"]}


def test_the_local_executor_lists_no_workers_and_the_dashboard_says_so(tmp_path):
    from app_factory import create_app
    from tests.helpers import make_test_config

    app = create_app({**make_test_config(tmp_path), "EXECUTOR": "local"})
    try:
        client = app.test_client()
        answer = client.get("/api/system/workers")
        assert answer.status_code == 200
        assert answer.json["executor"] == "local" and answer.json["workers"] == []
        page = client.get("/").get_data(as_text=True)
        assert "Training runs on this machine (local executor)." in page
        assert "data-workers-panel" not in page and "workers_panel.js" not in page
    finally:
        close_app(app)


def test_alive_or_lost_by_heartbeat_age_with_each_workers_current_jobs(app, client):
    add_worker(app, "gpu-a", age_s=2, state="busy", gpus=[GPU])
    add_worker(app, "gpu-b", age_s=GRACE - 5)  # quiet, still within the grace
    add_worker(app, "gpu-c", age_s=GRACE + 15, state="busy")  # silent too long: lost
    add_worker(app, "gpu-d", age_s=1, state="stopped")  # said goodbye: not alive, not lost
    running = add_session(app, "gpu-a", "running")
    handed = add_session(app, "gpu-a", "queued")  # handed to gpu-a, waiting in its RQ queue
    add_session(app, "gpu-a", "queued", handed=False)  # routed back (no RQ job): nobody's job
    add_session(app, "gpu-a", "completed")  # ended: no longer a job
    stranded = add_session(app, "gpu-c", "running", attempt=2)

    answer = client.get("/api/system/workers")
    workers = by_name(answer)
    assert answer.json["executor"] == "rq" and answer.json["grace_seconds"] == GRACE
    assert list(workers) == ["gpu-a", "gpu-b", "gpu-c", "gpu-d"]
    assert {n: w["alive"] for n, w in workers.items()} == {"gpu-a": True, "gpu-b": True, "gpu-c": False,
                                                          "gpu-d": False}
    assert {n: sorted(w["jobs"]) for n, w in workers.items()} == {
        "gpu-a": sorted([running, handed]), "gpu-b": [], "gpu-c": [stranded], "gpu-d": []}
    assert {n: w["busy"] for n, w in workers.items()} == {"gpu-a": True, "gpu-b": False, "gpu-c": True,
                                                         "gpu-d": False}
    assert workers["gpu-c"]["seconds_since_heartbeat"] >= GRACE + 15
    assert workers["gpu-a"]["seconds_since_heartbeat"] < GRACE
    assert workers["gpu-a"]["gpus"] == [GPU] and workers["gpu-a"]["free_memory_mb"] == 80000
    assert workers["gpu-d"]["state"] == "stopped"
    assert {"host", "pid", "queue", "slots", "state", "started_at", "last_heartbeat"} <= set(workers["gpu-a"])

    # The verdict follows the configured grace, read at each request.
    app.config["WORKER_GRACE_SECONDS"] = GRACE + 60
    assert by_name(client.get("/api/system/workers"))["gpu-c"]["alive"] is True
    app.config["WORKER_GRACE_SECONDS"] = 1
    assert by_name(client.get("/api/system/workers"))["gpu-b"]["alive"] is False


def test_in_accounts_mode_a_user_sees_only_their_own_job_ids(accounts_rq_app):
    app = accounts_rq_app
    admin, alice, bob = add_user(app, "root", role="admin"), add_user(app, "alice"), add_user(app, "bob")
    add_worker(app, "w1", age_s=1, state="busy")
    add_worker(app, "w2", age_s=1, state="busy")
    alices = add_session(app, "w1", "running", owner_id=alice)
    bobs_handed = add_session(app, "w1", "queued", owner_id=bob)
    bobs = add_session(app, "w2", "running", owner_id=bob)
    client = app.test_client()

    def seen_by(user_id, scopes=None):
        workers = by_name(client.get("/api/system/workers", headers=bearer(app, user_id, scopes)))
        return {n: (sorted(w["jobs"]), w["busy"]) for n, w in workers.items()}

    assert seen_by(alice) == {"w1": ([alices], True), "w2": ([], True)}
    assert seen_by(bob) == {"w1": ([bobs_handed], True), "w2": ([bobs], True)}
    assert seen_by(admin, ["read", "admin"]) == {"w1": (sorted([alices, bobs_handed]), True), "w2": ([bobs], True)}
    assert client.get("/api/system/workers").status_code == 401

    # The Admin page holds the panel (rq executor); a user's dashboard too.
    admin_page = client.get("/admin", headers=bearer(app, admin, ["read", "admin"]))
    assert admin_page.status_code == 200
    html = admin_page.get_data(as_text=True)
    assert 'id="admin-workers"' in html and "data-workers-panel" in html and "js/workers_panel.js" in html
    dashboard = client.get("/", headers=bearer(app, alice)).get_data(as_text=True)
    assert "data-workers-panel" in dashboard and "(local executor)" not in dashboard


def test_the_session_page_and_list_say_which_worker_and_attempt(app, client):
    add_worker(app, "gpu-a", age_s=1, state="busy")
    moved = add_session(app, "gpu-a", "running", attempt=2)
    first = add_session(app, "gpu-a", "running", attempt=1)
    local = add_session(app, None, "completed", attempt=0)

    rows = {s["id"]: s for s in client.get("/api/sessions").json["sessions"]}
    assert (rows[moved]["worker"], rows[moved]["attempt"]) == ("gpu-a", 2)
    assert (rows[local]["worker"], rows[local]["attempt"]) == (None, 0)

    hidden = re.compile(r'id="job-worker"\s+hidden')
    page = client.get(f"/sessions/{moved}").get_data(as_text=True)
    assert '<code data-field="worker">gpu-a</code>' in page and "· attempt 2" in page and not hidden.search(page)
    page = client.get(f"/sessions/{first}").get_data(as_text=True)
    assert '<code data-field="worker">gpu-a</code>' in page and "attempt 1" not in page and not hidden.search(page)
    assert hidden.search(client.get(f"/sessions/{local}").get_data(as_text=True))
