"""The fair queue: priority, then round-robin between owners, the per-user running limit, and why each session
waits. The rules on plain values, the service's scheduling on real database rows, and real sessions on the
tiny model in accounts mode."""
from __future__ import annotations

import time
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from services.training.fair_queue import Queued, pick_next, queue_order
from tests.auth_helpers import accounts_config, add_user, bearer
from tests.helpers import reset_database
from tests.training_helpers import tiny_config

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def _q(sid, owner, minute, priority=1):
    return Queued(sid, owner, priority, T0 + timedelta(minutes=minute))


# -- the rules ------------------------------------------------------------------------------------------------
def test_without_owners_or_a_limit_it_is_priority_then_age():
    queued = [_q("old", None, 1), _q("new", None, 2), _q("high", None, 3, priority=2)]
    assert [w.session_id for w in queue_order(queued, {}, {}, 0)] == ["high", "old", "new"]


def test_round_robin_between_owners_within_a_priority():
    # A queued three before B queued one; A started most recently, so B goes first, then A, then A...
    queued = [_q("a1", 1, 1), _q("a2", 1, 2), _q("a3", 1, 3), _q("b1", 2, 4), _q("c1", 3, 5)]
    last = {1: T0 + timedelta(hours=1), 2: T0}  # C never started: first of all
    assert pick_next(queued, {}, last, 0).id == "c1"
    assert [w.session_id for w in queue_order(queued, {}, last, 0)] == ["c1", "b1", "a1", "a2", "a3"]


def test_priority_beats_round_robin_and_the_limit_skips_an_owner():
    queued = [_q("a-high", 1, 1, priority=2), _q("b-low", 2, 2, priority=0), _q("b-normal", 2, 3)]
    assert pick_next(queued, {}, {}, 1).id == "a-high"
    assert pick_next(queued, {1: 1}, {}, 1).id == "b-normal"  # A runs one already: its high priority waits
    assert pick_next(queued, {1: 1, 2: 1}, {}, 1) is None
    order = queue_order(queued, {1: 1}, {}, 1)
    assert [(w.session_id, w.blocked) for w in order] == [("b-normal", None), ("a-high", "running"),
                                                          ("b-low", "queued")]


# -- the service on real rows ---------------------------------------------------------------------------------
@pytest.fixture
def make_app(tmp_path):
    apps = []

    def make(**overrides):
        from app_factory import create_app

        config = accounts_config(tmp_path / f"app{len(apps)}", **overrides)
        reset_database(config["SQLALCHEMY_DATABASE_URI"])
        app = create_app(config)
        apps.append(app)
        return app

    yield make
    from extensions import db

    for app in apps:
        app.extensions["tunewright.training"].shutdown()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def _row(app, owner, status, minute, started=None, priority=1):
    from core.training_config import default_config
    from extensions import db
    from services.models.training import TrainingSession

    with app.app_context():
        sid = uuid.uuid4().hex[:12]
        db.session.add(TrainingSession(id=sid, name=sid, config=default_config(), status=status, priority=priority,
                                       owner_id=owner, output_dir=f"/nowhere/{sid}", last_logs=[],
                                       created_at=T0 + timedelta(minutes=minute), started_at=started))
        db.session.commit()
        return sid


@pytest.mark.db
def test_the_service_schedules_real_rows_fairly_and_says_why_each_waits(make_app):
    app = make_app()
    assert app.config["MAX_RUNNING_PER_USER"] == 1  # the accounts-mode default
    a, b, c = add_user(app, "alice"), add_user(app, "bob"), add_user(app, "carol")
    _row(app, a, "running", 0, started=T0)
    a_next, a_later = _row(app, a, "queued", 1), _row(app, a, "queued", 2)
    _row(app, b, "completed", 0, started=T0 + timedelta(minutes=30))
    b_next = _row(app, b, "queued", 3)
    c_next = _row(app, c, "queued", 4)  # C never started anything: C first, then B, then A (at its limit)
    service = app.extensions["tunewright.training"]
    with app.app_context():
        queued, running, last = service._queue_state()
        assert running == {a: 1}
        assert pick_next(queued, running, last, service.per_user_limit).id == c_next

    client = app.test_client()
    as_a, as_b = bearer(app, a), bearer(app, b)
    waiting = client.get(f"/api/training/sessions/{a_next}", headers=as_a).json["session"]
    assert waiting["queue_position"] == 3
    assert waiting["waiting_reason"].startswith("waiting: you already have 1 running job(s) (limit 1 per user)")
    later = client.get(f"/api/v1/jobs/{a_later}/status", headers=as_a).json
    assert "you already have 1 running job(s)" in later["waiting_reason"] and "position 4" in later["waiting_reason"]
    page = client.get(f"/sessions/{a_next}", headers=as_a).get_data(as_text=True)
    assert 'id="job-waiting"' in page and "you already have 1 running job(s)" in page
    mine = client.get(f"/api/v1/jobs/{b_next}", headers=as_b).json
    assert mine["queue_position"] == 2 and "position 2 in queue" in mine["waiting_reason"]
    queue = client.get("/api/sessions", headers=as_b).json["queue"]
    assert [q["session_id"] for q in queue] == [b_next]  # B sees only B's row, placed in everyone's queue

    admin = add_user(app, "root", role="admin")
    seen_by_admin = client.get(f"/api/training/sessions/{a_next}", headers=bearer(app, admin)).json["session"]
    assert "its owner already has 1 running job(s)" in seen_by_admin["waiting_reason"]


@pytest.mark.db
def test_the_limit_comes_from_the_environment_setting(make_app):
    assert make_app(MAX_RUNNING_PER_USER=3).extensions["tunewright.training"].per_user_limit == 3
    single = make_app(AUTH_MODE_SETTING="single")
    assert single.config["MAX_RUNNING_PER_USER"] == 0  # the single-user studio has no per-user limit


# -- real sessions on the tiny model --------------------------------------------------------------------------
def _start(client, headers, config):
    response = client.post("/api/training/start", json={"config": config}, headers=headers)
    assert response.status_code == 201, response.json
    return response.json["session"]["id"]


def _session(client, headers, sid):
    return client.get(f"/api/training/sessions/{sid}", headers=headers).json["session"]


def _wait(client, headers, sid, statuses, timeout=180):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        session = _session(client, headers, sid)
        if session["status"] in statuses:
            return session
        time.sleep(0.2)
    raise AssertionError(f"{sid} still {session['status']}: {session['error']}")


@pytest.mark.db
@pytest.mark.slow
def test_one_running_job_per_user_while_another_user_gets_the_free_device(make_app, tiny_model_dir):
    app = make_app(MAX_CONCURRENT_TRAININGS=2, TRAINING_DEVICES=["cpu"])
    a, b = add_user(app, "alice"), add_user(app, "bob")
    as_a, as_b = bearer(app, a), bearer(app, b)
    client = app.test_client()
    long_run = tiny_config(tiny_model_dir, pre_training={"enabled": False}, training={"samples_per_epoch": 400})
    quick = tiny_config(tiny_model_dir, pre_training={"enabled": False}, training={"samples_per_epoch": 2})
    a1 = _start(client, as_a, long_run)
    a2 = _start(client, as_a, quick)
    assert _session(client, as_a, a1)["status"] == "running"
    held = _session(client, as_a, a2)
    assert held["status"] == "queued"  # a device is free, but A is at the limit
    assert "you already have 1 running job(s) (limit 1 per user)" in held["waiting_reason"]
    b1 = _start(client, as_b, quick)
    assert _session(client, as_b, b1)["status"] in ("running", "completed")  # B takes the free device
    page = client.get("/sessions", headers=as_a)
    assert page.status_code == 200
    listed = {s["id"]: s for s in client.get("/api/sessions", headers=as_a).json["sessions"]}
    assert set(listed) == {a1, a2} and listed[a2]["queue_reason"] == listed[a2]["waiting_reason"]
    assert _wait(client, as_b, b1, ("completed", "failed"))["status"] == "completed"
    assert _session(client, as_a, a2)["status"] == "queued"  # B's finish freed a device, not A's slot
    client.post("/api/training/stop", json={"session_id": a1}, headers=as_a)
    assert _wait(client, as_a, a1, ("stopped", "completed", "failed"))["status"] == "stopped"
    assert _wait(client, as_a, a2, ("completed", "failed"))["status"] == "completed"


@pytest.mark.db
@pytest.mark.slow
def test_a_freed_device_goes_to_the_owner_who_started_least_recently(make_app, tiny_model_dir):
    app = make_app(MAX_CONCURRENT_TRAININGS=1, TRAINING_DEVICES=["cpu"], MAX_RUNNING_PER_USER=0)
    a, b = add_user(app, "alice"), add_user(app, "bob")
    as_a, as_b = bearer(app, a), bearer(app, b)
    client = app.test_client()
    long_run = tiny_config(tiny_model_dir, pre_training={"enabled": False}, training={"samples_per_epoch": 400})
    quick = tiny_config(tiny_model_dir, pre_training={"enabled": False}, training={"samples_per_epoch": 2})
    a1 = _start(client, as_a, long_run)
    a2 = _start(client, as_a, quick)  # queued first...
    b1 = _start(client, as_b, quick)  # ...but B has not started anything yet
    reason_b = _session(client, as_b, b1)["waiting_reason"]
    assert reason_b.startswith("waiting for a free device (1 of 1 running); position 1 in queue"), reason_b
    assert "position 2 in queue" in _session(client, as_a, a2)["waiting_reason"]
    client.post("/api/training/stop", json={"session_id": a1}, headers=as_a)
    first = _wait(client, as_b, b1, ("completed", "failed"))
    second = _wait(client, as_a, a2, ("completed", "failed"))
    assert first["status"] == second["status"] == "completed"
    assert first["started_at"] < second["started_at"]


@pytest.mark.browser
@pytest.mark.slow
def test_the_sessions_page_says_why_a_session_waits(browser, live_server, tiny_model_dir):
    import requests

    from tests.browser import csp_violations, wait_js

    long_run = tiny_config(tiny_model_dir, pre_training={"enabled": False}, training={"samples_per_epoch": 400})
    started = [requests.post(f"{live_server.url}/api/training/start", json={"config": long_run}, timeout=60).json()
               ["session"]["id"] for _ in range(2)]
    try:
        page = browser.new_page()
        violations = csp_violations(page)
        page.goto(f"{live_server.url}/sessions")
        wait_js(page, "document.querySelector('#sessions-page').dataset.ready === '1'")
        queued = started[1]
        reason = page.locator(f"tr[data-session-id='{queued}'] [data-field=waiting-reason]")
        reason.wait_for(timeout=30000)
        assert reason.text_content().startswith("waiting for a free device (1 of 1 running); position 1 in queue")
        assert "position 1 in queue" in page.text_content(f"#queue-list li[data-session-id='{queued}']")
        assert violations == []
        page.close()
    finally:
        for sid in reversed(started):
            requests.post(f"{live_server.url}/api/training/stop", json={"session_id": sid}, timeout=60)
