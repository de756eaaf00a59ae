"""Issue 7, recovery that cannot jam: PID reuse, orphaned children, database errors, dispatch, Ctrl+C."""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest
import requests

from core.training.paths import SessionPaths, latest_checkpoint
from services.training.liveness import process_started
from tests.helpers import reset_database
from tests.live_server import start_server, stop_server
from tests.training_helpers import tiny_config


def _running_session(app, session_id: str, **fields):
    from extensions import db
    from services.models import TrainingSession

    with app.app_context():
        session = TrainingSession(id=session_id, name="x", config={}, status="running", priority=1,
                                  output_dir=str(Path(app.config["OUTPUT_FOLDER"]) / session_id), last_logs=[],
                                  **fields)
        db.session.add(session)
        db.session.commit()


def _status(app, session_id: str) -> str:
    from extensions import db
    from services.models import TrainingSession

    with app.app_context():
        db.session.expire_all()
        return db.session.get(TrainingSession, session_id).status


@pytest.fixture
def sleeper():
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    yield process
    process.kill()
    process.wait()


@pytest.mark.db
def test_a_session_whose_server_had_our_pid_is_marked_interrupted(test_config):
    """In a container the restarted server often gets the PID of the dead one: the PID must not keep the
    session 'running' for ever."""
    from app_factory import create_app

    reset_database(test_config["SQLALCHEMY_DATABASE_URI"])
    first = create_app(test_config)
    _running_session(first, "same-pid", server_pid=os.getpid(), server_boot_id="a-dead-server-instance",
                     server_started=process_started(os.getpid()))
    second = create_app(test_config)  # recovery runs at start
    assert _status(second, "same-pid") == "interrupted"


@pytest.mark.db
def test_recovery_keeps_sessions_of_live_servers_and_spots_reused_pids(test_config, sleeper):
    from app_factory import create_app

    reset_database(test_config["SQLALCHEMY_DATABASE_URI"])
    app = create_app(test_config)
    alive_started = process_started(sleeper.pid)
    _running_session(app, "other-live-server", server_pid=sleeper.pid, server_boot_id="b",
                     server_started=alive_started)
    _running_session(app, "pid-reused", server_pid=sleeper.pid, server_boot_id="c",
                     server_started=alive_started - 1000)  # same PID, another process: the owner is gone
    again = create_app(test_config)
    assert _status(again, "other-live-server") == "running"
    assert _status(again, "pid-reused") == "interrupted"


@pytest.mark.db
def test_resume_waits_for_an_orphaned_child_still_running(app, client, sleeper):
    _running_session(app, "orphan", server_pid=999_999, server_boot_id="gone", child_pid=sleeper.pid,
                     child_started=process_started(sleeper.pid))
    service = app.extensions["tunewright.training"]
    assert service.recover_interrupted() == 1
    response = client.post("/api/training/resume", json={"session_id": "orphan"})
    assert response.status_code == 409 and "still running" in response.json["error"]
    sleeper.kill()
    sleeper.wait()
    assert client.post("/api/training/resume", json={"session_id": "orphan"}).status_code != 409


@pytest.mark.db
def test_session_ids_cannot_collide(client, app, tiny_model_dir):
    config = tiny_config(tiny_model_dir)
    assert client.post("/api/training/stop", json={"session_id": "x"}).status_code == 404
    Path(app.config["OUTPUT_FOLDER"], "left-over").mkdir()
    response = client.post("/api/training/start", json={"config": config, "session_id": "left-over"})
    assert response.status_code == 409  # a new session never adopts an existing outputs/<id>
    first = client.post("/api/training/start", json={"config": config, "session_id": "Run-A"})
    assert first.status_code == 201
    assert client.post("/api/training/start", json={"config": config, "session_id": "run-a"}).status_code == 409
    client.post("/api/training/stop", json={"session_id": "Run-A"})


@pytest.mark.db
def test_concurrent_creates_with_one_id_give_one_201_and_409s(app, tiny_model_dir):
    config = tiny_config(tiny_model_dir)
    codes: list[int] = []
    barrier = threading.Barrier(4)

    def create():
        barrier.wait()
        codes.append(app.test_client().post("/api/training/start",
                                            json={"config": config, "session_id": "race"}).status_code)

    threads = [threading.Thread(target=create) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(codes) == [201, 409, 409, 409]
    app.test_client().post("/api/training/stop", json={"session_id": "race"})


@pytest.mark.slow
def test_a_broken_queued_config_fails_that_session_and_the_queue_moves_on(app, client, tiny_model_dir):
    from extensions import db
    from services.models import TrainingSession

    quick = tiny_config(tiny_model_dir, pre_training={"enabled": False}, training={"samples_per_epoch": 2})
    with app.app_context():  # stored by an older version: no longer valid
        db.session.add(TrainingSession(id="broken", name="old", config={"training": {"no_such_field": 1}},
                                       status="queued", priority=2, output_dir=str(Path(app.config["OUTPUT_FOLDER"],
                                                                                        "broken")), last_logs=[]))
        db.session.commit()
    good = client.post("/api/training/start", json={"config": quick})  # dispatch meets the broken one first
    assert good.status_code == 201, good.json
    broken = client.get("/api/training/sessions/broken").json["session"]
    assert broken["status"] == "failed" and "Could not start" in broken["error"]
    sid = good.json["session"]["id"]
    deadline = time.monotonic() + 300
    while client.get(f"/api/training/sessions/{sid}").json["session"]["status"] not in ("completed", "failed"):
        assert time.monotonic() < deadline
        time.sleep(0.3)
    assert client.get(f"/api/training/sessions/{sid}").json["session"]["status"] == "completed"


@pytest.mark.slow
def test_a_locked_database_does_not_kill_a_healthy_child(app, client, tiny_model_dir):
    """SQLite answers "database is locked" after its 5 s busy timeout: the supervisor retries and keeps the
    events; the run completes with every step stored."""
    config = tiny_config(tiny_model_dir, pre_training={"enabled": False}, training={"samples_per_epoch": 12})
    sid = client.post("/api/training/start", json={"config": config}).json["session"]["id"]
    deadline = time.monotonic() + 300
    while client.get(f"/api/training/sessions/{sid}").json["session"]["step"] < 1:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    database = app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")
    locker = sqlite3.connect(database, timeout=30)
    locker.execute("BEGIN EXCLUSIVE")
    time.sleep(8)
    locker.rollback()
    locker.close()
    while client.get(f"/api/training/sessions/{sid}").json["session"]["status"] not in ("completed", "failed",
                                                                                          "stopped"):
        assert time.monotonic() < deadline
        time.sleep(0.3)
    detail = client.get(f"/api/training/sessions/{sid}").json
    assert detail["session"]["status"] == "completed", detail["session"]["error"]
    assert [m["step"] for m in detail["metrics"] if m["phase"] == "grpo"] == list(range(1, 7))


def _wait_step(url: str, sid: str, step: int, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while requests.get(f"{url}/api/training/sessions/{sid}", timeout=10).json()["session"]["step"] < step:
        assert time.monotonic() < deadline, "training did not progress"
        time.sleep(0.3)


def _alive(processes: list[psutil.Process]) -> list[psutil.Process]:
    alive = []
    for process in processes:
        try:
            if process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
                alive.append(process)
        except psutil.NoSuchProcess:
            pass
    return alive


def _children(pid: int) -> list[psutil.Process]:
    return [c for c in psutil.Process(pid).children(recursive=True) if "python" in c.name().lower()]


@pytest.mark.slow
def test_sigint_to_the_server_leaves_a_checkpoint_and_an_interrupted_session(tmp_path, tiny_model_dir):
    config = tiny_config(tiny_model_dir, pre_training={"enabled": False},
                         training={"samples_per_epoch": 200, "save_steps": 1000})  # no periodic checkpoint
    server = start_server(tmp_path)
    sid = requests.post(f"{server.url}/api/training/start", json={"config": config}, timeout=30).json()["session"]["id"]
    _wait_step(server.url, sid, 2)
    children = _children(server.process.pid)
    trainers = [c for c in children if "resource_tracker" not in " ".join(c.cmdline())]
    assert len(trainers) == 1, [c.cmdline() for c in children]
    server.process.send_signal(signal.SIGINT)  # what Ctrl+C in the terminal sends to the server
    assert server.process.wait(timeout=180) == 0
    # The trainer has checkpointed and exited before the server did. multiprocessing's resource tracker only
    # notices the server's exit afterwards (end of its pipe), so it gets a moment to finish its own clean-up.
    assert not _alive(trainers)
    psutil.wait_procs(children, timeout=30)
    assert not _alive(children)
    checkpoint = latest_checkpoint(SessionPaths(tmp_path / "outputs" / sid).grpo_checkpoints)
    assert checkpoint is not None and int(checkpoint.name.rsplit("-", 1)[1]) >= 2
    restarted = start_server(tmp_path)
    try:
        session = requests.get(f"{restarted.url}/api/training/sessions/{sid}", timeout=10).json()["session"]
        assert session["status"] == "interrupted" and "checkpoint" in session["error"]
    finally:
        stop_server(restarted)


@pytest.mark.slow
def test_children_are_in_their_own_process_group_and_exit_when_the_server_dies(tmp_path, tiny_model_dir):
    config = tiny_config(tiny_model_dir, pre_training={"enabled": False}, training={"samples_per_epoch": 400})
    server = start_server(tmp_path)
    sid = requests.post(f"{server.url}/api/training/start", json={"config": config}, timeout=30).json()["session"]["id"]
    _wait_step(server.url, sid, 1)
    trainer = max(_children(server.process.pid), key=lambda c: c.memory_info().rss)
    assert os.getpgid(trainer.pid) != os.getpgid(server.process.pid)
    os.kill(server.process.pid, signal.SIGKILL)
    server.process.wait()
    trainer.wait(timeout=150)  # the step ends, it checkpoints and exits: no orphan keeps training
    assert latest_checkpoint(SessionPaths(tmp_path / "outputs" / sid).grpo_checkpoints) is not None


@pytest.mark.slow
def test_gunicorn_dispatches_queued_sessions_at_start(tmp_path, test_config):
    """gunicorn loads `flask_app:app` without running `flask_app.main`; gunicorn.conf.py starts the queue."""
    from app_factory import create_app
    from extensions import db
    from services.models import TrainingSession
    from tests.live_server import free_port

    app = create_app(test_config)
    with app.app_context():
        db.session.add(TrainingSession(id="waiting", name="old", config={"training": {"no_such_field": 1}},
                                       status="queued", priority=1, output_dir=str(tmp_path / "outputs" / "waiting"),
                                       last_logs=[]))
        db.session.commit()
        db.engine.dispose()
    port = free_port()
    env = dict(os.environ, TUNEWRIGHT_ENV="production", TUNEWRIGHT_AUTH="single", SECRET_KEY="test",
               TUNEWRIGHT_HOST="127.0.0.1",
               TUNEWRIGHT_INSTANCE_DIR=test_config["INSTANCE_PATH"], TUNEWRIGHT_UPLOAD_DIR=test_config["UPLOAD_FOLDER"],
               TUNEWRIGHT_OUTPUT_DIR=test_config["OUTPUT_FOLDER"], TUNEWRIGHT_EXPORT_DIR=test_config["EXPORT_FOLDER"],
               TUNEWRIGHT_CONFIG_DIR=test_config["CONFIG_FOLDER"], TUNEWRIGHT_LOG_DIR=test_config["LOG_DIR"],
               TUNEWRIGHT_MODEL_CACHE=test_config["MODEL_CACHE"])
    env.pop("DATABASE_URL", None)
    root = Path(__file__).resolve().parent.parent
    with open(tmp_path / "gunicorn.log", "wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", "1", "--threads", "4", "-b",
                                    f"127.0.0.1:{port}", "flask_app:app"], cwd=root, env=env, stdout=log,
                                   stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 180
        status = None
        while time.monotonic() < deadline and status != "failed":
            try:
                status = requests.get(f"http://127.0.0.1:{port}/api/training/sessions/waiting",
                                      timeout=30).json()["session"]["status"]
            except requests.RequestException:  # the worker is still importing torch
                pass
            time.sleep(0.5)
        assert status == "failed", (tmp_path / "gunicorn.log").read_text()[-3000:]
    finally:
        process.terminate()
        process.wait(timeout=60)
