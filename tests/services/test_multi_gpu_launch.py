"""Multi-GPU runs through `accelerate launch`: the local refusal, the supervisor's launcher adapters, and real runs
of the launcher path.

A real multi-GPU run cannot happen on this machine (no GPU): the runs here take the same path with
``TRAINING_LAUNCHER = "accelerate"``, which `accelerate launch --cpu --num_processes 1` runs as one rank. What
differs with N GPUs (the argv, the DeepSpeed JSON) is checked in tests/core/training/test_launch.py.
"""
from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from multiprocessing.connection import Client, Listener
from pathlib import Path

import pytest

from core.training.launch import JOB_FILE, STOP_FILE
from core.training.paths import SessionPaths, latest_checkpoint
from services.training.launched import LaunchedProcess, RankZeroConnection
from tests.helpers import make_test_config
from tests.training_helpers import tiny_config, wait_for


@pytest.fixture
def test_config(tmp_path) -> dict:
    """Every run of these tests' app goes through `accelerate launch`."""
    return {**make_test_config(tmp_path), "TRAINING_LAUNCHER": "accelerate"}


def ended(detail: dict) -> bool:
    return detail["session"]["status"] in ("completed", "failed", "stopped")


# -- the local executor refuses what this machine cannot run ------------------------------------------------------------
def test_local_executor_refuses_more_gpus_than_this_machine_has(client):
    response = client.post("/api/training/start", json={"config": {"training": {"num_gpus": 2}}})
    assert response.status_code == 400, response.json
    assert "GPU" in response.json["error"]
    [detail] = response.json["details"]
    assert detail["path"] == "training.num_gpus" and "num_gpus is 2" in detail["message"]
    assert "no GPU" in detail["message"] and detail["hint"]
    assert client.get("/api/training/sessions").json["sessions"] == []  # nothing was queued


def test_deepspeed_with_one_gpu_is_a_config_error(client):
    response = client.post("/api/training/start", json={"config": {"training": {"deepspeed": "zero2"}}})
    assert response.status_code == 400
    assert [d["path"] for d in response.json["details"]] == ["training.deepspeed"]


def test_deepspeed_is_refused_where_it_is_not_installed(tmp_path):
    """Two configured GPU slots (no GPU needed: nothing starts) get past the GPU count; DeepSpeed is absent here."""
    import importlib.util

    from app_factory import create_app
    from extensions import db

    if importlib.util.find_spec("deepspeed") is not None:
        pytest.skip("deepspeed is installed here")
    app = create_app({**make_test_config(tmp_path), "TRAINING_DEVICES": ["cuda:0", "cuda:1"]})
    try:
        assert app.extensions["tunewright.training"].local_gpus() == 2
        response = app.test_client().post("/api/training/start", json={
            "config": {"training": {"num_gpus": 2, "deepspeed": "zero3"}}})
        assert response.status_code == 400
        assert [d["path"] for d in response.json["details"]] == ["training.deepspeed"]
        assert "not installed" in response.json["error"]
        response = app.test_client().post("/api/training/start", json={"config": {"training": {"num_gpus": 3}}})
        assert response.status_code == 400 and "2 GPUs" in response.json["details"][0]["message"]
    finally:
        app.extensions["tunewright.training"].shutdown()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


# -- the adapters the supervisor uses for a launched run ----------------------------------------------------------------
RANK_IN_OWN_SESSION = """
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"], start_new_session=True)
print(child.pid, flush=True)
time.sleep(120)
"""


def test_kill_reaches_a_rank_in_a_session_of_its_own(tmp_path):
    """torchrun starts each rank with start_new_session: killing the launcher's group alone would orphan it."""
    popen = subprocess.Popen([sys.executable, "-c", RANK_IN_OWN_SESSION], stdout=subprocess.PIPE, text=True,
                             start_new_session=True)
    process = LaunchedProcess(popen)
    rank_pid = int(popen.stdout.readline())
    assert process.is_alive() and process.exitcode is None
    from multiprocessing.connection import wait

    assert wait([process.sentinel], timeout=0.2) == []
    process.kill()
    assert wait([process.sentinel], timeout=10) == [process.sentinel]
    process.join(10)
    assert not process.is_alive() and process.exitcode == -9  # like multiprocessing: minus the signal
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _running(rank_pid):
        time.sleep(0.05)
    assert not _running(rank_pid)


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split(") ", 1)[1][0] != "Z"
    except FileNotFoundError:
        return False


def test_rank_zero_connection_accepts_only_the_authkey():
    key = os.urandom(16)
    connection = RankZeroConnection(Listener(("127.0.0.1", 0), authkey=key))
    assert not connection.connected and not connection.poll(0) and not connection.poll(0.05)
    from multiprocessing import AuthenticationError

    with pytest.raises((AuthenticationError, EOFError, ConnectionError)):
        Client(connection.address, authkey=b"wrong key 123456")
    rank_zero = Client(connection.address, authkey=key)  # still listening after the stranger
    rank_zero.send({"type": "log", "message": "hello"})
    assert connection.poll(5) and connection.recv() == {"type": "log", "message": "hello"}
    assert connection.connected
    rank_zero.close()
    assert connection.poll(1)
    with pytest.raises(EOFError):
        connection.recv()
    connection.close()


def test_closing_before_rank_zero_connects_ends_the_accept_thread():
    connection = RankZeroConnection(Listener(("127.0.0.1", 0), authkey=os.urandom(16)))
    connection.close()
    assert not connection._thread.is_alive()


# -- real runs of the launcher path (one CPU rank) ---------------------------------------------------------------------
@pytest.mark.slow
def test_launched_session_completes_and_relays_its_events(client, tiny_model_dir):
    response = client.post("/api/training/start", json={"config": tiny_config(tiny_model_dir)})
    assert response.status_code == 201, response.json
    sid = response.json["session"]["id"]
    service = client.application.extensions["tunewright.training"]
    supervisor = service._supervisors.get(sid)
    assert supervisor is not None and supervisor.launched
    detail = wait_for(client, sid, ended, timeout=300)
    assert detail["session"]["status"] == "completed", detail["session"]["error"]
    rows = detail["metrics"]  # stored from events that rank 0 sent through the Listener
    assert [r["step"] for r in rows if r["phase"] == "sft"] == [1, 2]
    assert [r["step"] for r in rows if r["phase"] == "grpo"] == [1, 2]
    assert all({"reward", "loss"} <= set(r) for r in rows if r["phase"] == "grpo")
    assert detail["samples"] and detail["logs"]
    out = Path(detail["session"]["output_dir"])
    assert (out / "adapter" / "adapter_model.safetensors").is_file()
    job_file = out / JOB_FILE
    assert stat.S_IMODE(job_file.stat().st_mode) == 0o600
    job = json.loads(job_file.read_text())
    assert job["launcher"] == "accelerate" and job["device"] == "cpu" and len(job["listener"]["authkey"]) == 32
    log_text = (out / "train.log").read_text()
    assert "phase grpo" in log_text
    assert not supervisor._conn._thread.is_alive()  # the listener closed with the run


@pytest.mark.slow
def test_stopping_a_launched_session_keeps_a_checkpoint(client, tiny_model_dir):
    config = tiny_config(tiny_model_dir, pre_training={"enabled": False}, training={"samples_per_epoch": 12})
    response = client.post("/api/training/start", json={"config": config})
    assert response.status_code == 201, response.json
    sid = response.json["session"]["id"]
    wait_for(client, sid, lambda d: ended(d) or (d["session"]["status"] == "running" and d["session"]["step"] >= 1),
             timeout=300)
    stop = client.post("/api/training/stop", json={"session_id": sid})
    assert stop.status_code == 200, stop.json
    detail = wait_for(client, sid, ended, timeout=300)
    assert detail["session"]["status"] == "stopped", detail["session"]["error"]
    assert detail["session"]["error"] is None  # stopped at a step's end by the stop file, not killed at the deadline
    steps = [r["step"] for r in detail["metrics"] if r["phase"] == "grpo"]
    assert steps and max(steps) < 6  # stopped before the end of its 6 steps
    out = Path(detail["session"]["output_dir"])
    assert (out / STOP_FILE).exists()
    assert latest_checkpoint(SessionPaths(out).grpo_checkpoints) is not None
    assert (out / "adapter" / "adapter_model.safetensors").is_file()

    # A resume starts a fresh launch: the old stop request must not stop it again.
    assert client.post("/api/training/resume", json={"session_id": sid}).status_code == 200
    detail = wait_for(client, sid, ended, timeout=300)
    assert detail["session"]["status"] == "completed", detail["session"]["error"]
    assert [r["step"] for r in detail["metrics"] if r["phase"] == "grpo"] == [1, 2, 3, 4, 5, 6]
