"""Live monitoring over a real server process: history then live events, and a server restart mid-run."""
from __future__ import annotations

import os
import signal
import threading
import time

import pytest
import requests
import socketio

from tests.live_server import start_server, stop_server
from tests.training_helpers import tiny_config

pytestmark = pytest.mark.slow


def wait_status(url, sid, statuses, timeout=180.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        session = requests.get(f"{url}/api/training/sessions/{sid}", timeout=10).json()["session"]
        if session["status"] in statuses:
            return session
        time.sleep(0.3)
    raise AssertionError(f"{sid} never reached {statuses}: {session}")


class Watcher:
    """A python-socketio client that joins a session room and records what arrives, in order."""

    def __init__(self, url: str, sid: str):
        self.events: list[tuple[str, dict]] = []
        self.done = threading.Event()
        self.client = socketio.Client(reconnection=False)
        for name in ("training_history", "training_update", "training_progress", "training_log",
                     "reward_sample", "training_complete", "training_error"):
            self.client.on(name, self._recorder(name))
        self.client.connect(url, transports=["websocket"], wait_timeout=10)
        ack = self.client.call("join_session", {"session_id": sid}, timeout=10)
        assert ack == {"ok": True}

    def _recorder(self, name):
        def record(data):
            self.events.append((name, data))
            if name in ("training_complete", "training_error"):
                self.done.set()
        return record

    def names(self) -> list[str]:
        return [name for name, _ in self.events]

    def close(self):
        self.client.disconnect()


def test_history_first_then_live_updates_and_a_reload_rebuilds_the_view(tmp_path, tiny_model_dir):
    server = start_server(tmp_path)
    try:
        response = requests.post(f"{server.url}/api/training/start", json={"config": tiny_config(tiny_model_dir)},
                                 timeout=30)
        assert response.status_code == 201, response.text
        sid = response.json()["session"]["id"]
        watcher = Watcher(server.url, sid)
        assert watcher.done.wait(180), watcher.names()
        watcher.close()
        names = watcher.names()
        assert names[0] == "training_history"
        assert names[-1] == "training_complete"
        updates = [data for name, data in watcher.events if name == "training_update"]
        assert {(u["phase"], u["step"]) for u in updates} >= {("sft", 1), ("sft", 2), ("grpo", 1), ("grpo", 2)}
        assert all(u["session_id"] == sid for u in updates)
        assert "reward_sample" in names and "training_progress" in names and "training_log" in names

        # A reload (a new client) rebuilds the whole view from the stored history alone.
        late = Watcher(server.url, sid)
        time.sleep(1)
        late.close()
        history = late.events[0][1]
        assert late.events[0][0] == "training_history"
        assert [(m["phase"], m["step"]) for m in history["metrics"]] == [("sft", 1), ("sft", 2), ("grpo", 1),
                                                                        ("grpo", 2)]
        assert history["session"]["status"] == "completed" and history["samples"] and history["logs"]
    finally:
        stop_server(server)


def test_server_killed_mid_run_leaves_an_interrupted_resumable_session(tmp_path, tiny_model_dir):
    config = tiny_config(tiny_model_dir, pre_training={"enabled": False}, training={"samples_per_epoch": 30})
    server = start_server(tmp_path)
    response = requests.post(f"{server.url}/api/training/start", json={"config": config}, timeout=30)
    sid = response.json()["session"]["id"]
    deadline = time.monotonic() + 120
    while requests.get(f"{server.url}/api/training/sessions/{sid}", timeout=10).json()["session"]["step"] < 2:
        assert time.monotonic() < deadline
        time.sleep(0.3)
    os.kill(server.process.pid, signal.SIGKILL)  # no goodbye: the database still says "running"
    server.process.wait()
    time.sleep(3)  # the orphaned child notices, checkpoints its step and exits

    restarted = start_server(tmp_path)
    try:
        session = requests.get(f"{restarted.url}/api/training/sessions/{sid}", timeout=10).json()["session"]
        assert session["status"] == "interrupted" and "resume" in session["error"]
        deadline = time.monotonic() + 150
        while True:  # 409 while the orphaned child still finishes its step (it exits by itself)
            response = requests.post(f"{restarted.url}/api/training/resume", json={"session_id": sid}, timeout=30)
            if response.status_code != 409 or time.monotonic() > deadline:
                break
            time.sleep(1)
        assert response.status_code == 200, response.text
        session = wait_status(restarted.url, sid, {"completed", "failed"})
        assert session["status"] == "completed", session["error"]
        detail = requests.get(f"{restarted.url}/api/training/sessions/{sid}", timeout=10).json()
        steps = [m["step"] for m in detail["metrics"] if m["phase"] == "grpo"]
        assert steps == list(range(1, 16))  # 30 prompts / 2 per step, each step once
    finally:
        stop_server(restarted)
