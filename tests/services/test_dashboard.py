"""The dashboard (issue 20): ``GET /api/dashboard`` against the database after a scripted sequence of actions,
the activity series per UTC day, bounded sparklines, deployed models, per-user isolation in accounts mode, and the
``dashboard_update`` signal over a real Socket.IO connection."""
from __future__ import annotations

import io
from datetime import datetime, time, timedelta, timezone

import pytest
import requests
from sqlalchemy import func, select

from tests.auth_helpers import accounts_app, acting_as, add_user, bearer  # noqa: F401
from tests.dataset_fixtures import QA_ROWS, jsonl_bytes, upload_and_process
from tests.registry_fixtures import make_version
from tests.websockets.live_accounts import live_accounts, pat_for, people, wait_for  # noqa: F401

pytestmark = pytest.mark.db


def add_session(app, session_id: str, status: str, owner_id: int | None = None, *, created_at=None,
                finished_at=None, method: str = "grpo") -> str:
    """A session row in a chosen status and time (rows written directly: the dashboard reads, it does not train)."""
    from extensions import db
    from services.models import TrainingSession

    with app.app_context():
        row = TrainingSession(id=session_id, name=f"run {session_id}", config={"method": method}, status=status,
                              owner_id=owner_id, output_dir=str(app.config["OUTPUT_FOLDER"]), last_logs=[],
                              finished_at=finished_at)
        if created_at is not None:
            row.created_at = created_at
        db.session.add(row)
        db.session.commit()
    return session_id


def add_metrics(app, session_id: str, rows: list[dict]) -> None:
    from extensions import db
    from services.models import TrainingMetric

    with app.app_context():
        db.session.add_all(TrainingMetric(session_id=session_id, phase=r.pop("phase", "grpo"), step=i + 1,
                                          global_step=i + 1, values=r) for i, r in enumerate(rows))
        db.session.commit()


def database_counts(app, owner_id: int | None = None, everyone: bool = True) -> dict[str, int]:
    """The four counts straight from the tables, written independently of services/dashboard."""
    from extensions import db
    from services.models import DatasetRecord, TrainingSession
    from services.models.registry import ModelVersion

    def count(model, *where):
        query = select(func.count()).select_from(model).where(*where)
        if not everyone:
            query = query.where(model.owner_id == owner_id)
        return db.session.scalar(query)

    with app.app_context():
        return {"datasets": count(DatasetRecord),
                "active_trainings": count(TrainingSession, TrainingSession.status.in_(["running", "stopping"])),
                "queued_jobs": count(TrainingSession, TrainingSession.status == "queued"),
                "models": count(ModelVersion, ModelVersion.status != "archived")}


def test_counts_equal_the_database_after_a_scripted_sequence(app, client):
    empty = client.get("/api/dashboard").json
    assert empty["counts"] == {"datasets": 0, "active_trainings": 0, "queued_jobs": 0, "models": 0}
    assert empty["recent_runs"] == [] and empty["deployed"] == []
    assert {"cpu", "memory", "disk", "gpus"} <= set(empty["system"])

    first = upload_and_process(client, "qa.jsonl", jsonl_bytes(QA_ROWS))
    upload_and_process(client, "more.jsonl", jsonl_bytes(QA_ROWS[:5]))
    upload_and_process(client, "gone.jsonl", jsonl_bytes(QA_ROWS[:3]))
    for sid, status in (("q1", "queued"), ("q2", "queued"), ("r1", "running"), ("s1", "stopping"),
                        ("f1", "failed"), ("x1", "stopped")):
        add_session(app, sid, status)
    versions = [make_version(app, None, "demo") for _ in range(3)]  # three completed sessions, three versions
    archived = client.post(f"/api/registry/models/demo/versions/{versions[1]['version']}/archive", json={})
    assert archived.status_code == 200, archived.json
    assert client.delete(f"/api/datasets/{first['id']}").status_code in (200, 204)

    payload = client.get("/api/dashboard").json
    assert payload["counts"] == database_counts(app)
    assert payload["counts"] == {"datasets": 2, "active_trainings": 2, "queued_jobs": 2, "models": 2}
    assert len(payload["recent_runs"]) == 8  # 6 + 3 sessions, the newest 8
    assert {r["status"] for r in payload["recent_runs"]} >= {"queued", "running", "completed"}


def test_activity_counts_runs_per_utc_day_over_thirty_days(app, client):
    today = datetime.fromisoformat(client.get("/api/dashboard").json["activity"]["days"][-1]).date()

    def at(days_ago: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
        return datetime.combine(today - timedelta(days=days_ago), time(hour, minute, second), tzinfo=timezone.utc)

    add_session(app, "a", "completed", created_at=at(3, 0, 0, 1), finished_at=at(3, 23, 59, 59))
    add_session(app, "b", "failed", created_at=at(3, 23, 59, 59), finished_at=at(2, 0, 0, 1))
    add_session(app, "c", "stopped", created_at=at(29, 12), finished_at=at(29, 13))
    add_session(app, "d", "completed", created_at=at(30, 23, 59, 59), finished_at=at(29, 0, 0, 0))  # created outside
    add_session(app, "e", "queued", created_at=at(1, 8))  # not finished
    add_session(app, "f", "completed", created_at=at(45, 8), finished_at=at(40, 8))  # all outside the window

    activity = client.get("/api/dashboard").json["activity"]
    assert len(activity["days"]) == len(activity["started"]) == len(activity["finished"]) == 30
    assert activity["days"][0] == (today - timedelta(days=29)).isoformat()
    started = dict(zip(activity["days"], activity["started"]))
    finished = dict(zip(activity["days"], activity["finished"]))
    day = lambda n: (today - timedelta(days=n)).isoformat()  # noqa: E731
    assert {d: n for d, n in started.items() if n} == {day(3): 2, day(29): 1, day(1): 1}
    assert {d: n for d, n in finished.items() if n} == {day(3): 1, day(2): 1, day(29): 2}


def test_recent_runs_carry_a_bounded_sparkline_of_their_main_metric(app, client):
    from services.dashboard import SPARK_POINTS

    base = datetime.now(timezone.utc) - timedelta(hours=1)
    add_session(app, "grpo-long", "completed", created_at=base)
    add_metrics(app, "grpo-long", [{"phase": "sft", "loss": 2.0}] * 20 +
                [{"loss": 0.5, "reward": i / 500} for i in range(480)])
    add_session(app, "sft-short", "running", created_at=base + timedelta(minutes=1), method="standard")
    add_metrics(app, "sft-short", [{"phase": "sft", "loss": 3.0 - i / 10} for i in range(5)])
    add_session(app, "new", "queued", created_at=base + timedelta(minutes=2))

    runs = {r["id"]: r for r in client.get("/api/dashboard").json["recent_runs"]}
    assert [r["id"] for r in client.get("/api/dashboard").json["recent_runs"]] == ["new", "sft-short", "grpo-long"]
    long = runs["grpo-long"]
    assert long["metric"] == "reward" and long["method"] == "grpo"
    steps = [p[0] for p in long["sparkline"]]
    assert steps == sorted(steps) and steps[-1] == 500 and len(steps) <= SPARK_POINTS + 1
    assert long["sparkline"][-1][1] == pytest.approx(479 / 500)
    assert runs["sft-short"]["metric"] == "loss" and runs["sft-short"]["method"] == "standard"
    assert [p[1] for p in runs["sft-short"]["sparkline"]] == pytest.approx([3.0, 2.9, 2.8, 2.7, 2.6])
    assert runs["new"]["metric"] is None and runs["new"]["sparkline"] == []


def deploy(app, name: str, version: str) -> int:
    """Marks a version deployed through the registry's own status transition (deploy itself is another issue)."""
    from services.registry import get_registry
    from services.registry.status import VersionStatus

    with app.test_request_context("/"):
        registry = get_registry()
        row = registry.version(name, version)
        registry.set_status(row, VersionStatus.DEPLOYED)
        return row.id


def test_deployed_versions_are_listed_with_the_deploy_services_figures(app, client):
    make_version(app, None, "served")
    ready = make_version(app, None, "served")
    version_id = deploy(app, "served", "1")
    [row] = client.get("/api/dashboard").json["deployed"]
    assert (row["ref"], row["id"]) == ("served:v1", version_id)
    assert ready["version"] == "2"  # a ready version is a model, not a deployed one
    # Marked deployed without a running backend: the deploy service reports no traffic and nothing resident
    # (tests/services/test_deploy.py checks the figures of a real deployment on the dashboard).
    assert row["stats"] == {"requests": 0, "errors": 0, "p50_ms": None, "p95_ms": None, "ttft_p50_ms": None,
                            "queued": 0, "resident": False}


def test_accounts_mode_counts_only_the_callers_own_things(accounts_app):
    app = accounts_app
    alice, bob, root = add_user(app, "alice"), add_user(app, "bob"), add_user(app, "root", role="admin")
    client = app.test_client()
    as_alice, as_bob, as_root = bearer(app, alice), bearer(app, bob), bearer(app, root)
    for headers, name in ((as_alice, "a.jsonl"), (as_alice, "a2.jsonl"), (as_bob, "b.jsonl")):
        response = client.post("/api/datasets/upload", headers=headers, content_type="multipart/form-data",
                               data={"file": (io.BytesIO(jsonl_bytes(QA_ROWS)), name)})
        assert response.status_code == 202, response.json
    add_session(app, "alice-run", "running", alice)
    add_session(app, "alice-q", "queued", alice)
    add_session(app, "bob-q", "queued", bob)
    add_session(app, "root-run", "running", root)
    alices = make_version(app, alice, "alices")
    make_version(app, bob, "bobs")
    make_version(app, bob, "bobs")
    context = acting_as(app, bob)
    try:
        from services.registry import get_registry
        from services.registry.status import VersionStatus

        get_registry().set_status(get_registry().version("bobs", "1"), VersionStatus.DEPLOYED)
    finally:
        context.pop()

    def payload(headers):
        response = client.get("/api/dashboard", headers=headers)
        assert response.status_code == 200, response.json
        return response.json

    mine = payload(as_alice)
    assert mine["counts"] == database_counts(app, alice, everyone=False) == \
        {"datasets": 2, "active_trainings": 1, "queued_jobs": 1, "models": 1}
    assert {r["id"] for r in mine["recent_runs"]} == {"alice-run", "alice-q", alices["session_id"]}
    assert mine["deployed"] == []
    theirs = payload(as_bob)
    assert theirs["counts"] == database_counts(app, bob, everyone=False) == \
        {"datasets": 1, "active_trainings": 0, "queued_jobs": 1, "models": 2}
    assert [d["ref"] for d in theirs["deployed"]] == ["bobs:v1"]
    # An admin's home page shows their own work (the Admin page is where everyone's is).
    assert payload(as_root)["counts"] == {"datasets": 0, "active_trainings": 1, "queued_jobs": 0, "models": 0}
    everyone = database_counts(app)
    assert everyone["datasets"] == 3 and everyone["queued_jobs"] == 2


@pytest.mark.slow
def test_dashboard_update_reaches_the_owner_only_after_a_change(live_accounts, people):
    app, url = live_accounts.app, live_accounts.url
    alice, received_a = live_accounts.connect(token=pat_for(app, people["a"]), events=("dashboard_update",))
    bob, received_b = live_accounts.connect(token=pat_for(app, people["b"]), events=("dashboard_update",))
    try:
        headers = bearer(app, people["a"])
        response = requests.post(f"{url}/api/datasets/upload", headers=headers, timeout=30,
                                 files={"file": ("alices.jsonl", jsonl_bytes(QA_ROWS))})
        assert response.status_code == 202, response.text
        assert wait_for(lambda: received_a["dashboard_update"], 10), "no dashboard_update after an upload"
        assert received_a["dashboard_update"][0] == {"owner_id": people["a"], "changed": ["datasets"]}
        before = len(received_a["dashboard_update"])
        add_session(app, "alices-run", "queued", people["a"])  # any writer: the hook sees the commit
        assert wait_for(lambda: len(received_a["dashboard_update"]) > before, 10)
        assert received_a["dashboard_update"][-1]["changed"] == ["sessions"]
        counts = requests.get(f"{url}/api/dashboard", headers=headers, timeout=30).json()["counts"]
        assert counts["datasets"] == 1 and counts["queued_jobs"] == 1
        assert received_b["dashboard_update"] == []  # Bob's dashboard is not told about Alice's things
    finally:
        alice.disconnect()
        bob.disconnect()
