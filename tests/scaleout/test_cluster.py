"""The rq executor end to end on real parts: Redis, PostgreSQL, the web server and two `tunewright worker`
processes sharing one storage folder. Three jobs spread over both workers; a Socket.IO client of the web server
sees the workers' events; Redis restarts while a job waits (nothing is lost); one worker is SIGKILLed mid-run, its
job turns interrupted, resumes on the other worker, and its stored metric steps match the steps it logged.

Runs where PostgreSQL is given (scripts/test_postgres.sh, stage 2 of .ci/run, which installs redis-server)."""
from __future__ import annotations

import os
import threading
from collections import defaultdict
from pathlib import Path

import pytest
import socketio

from core.training.paths import SessionPaths, checkpoint_history
from tests.helpers import TEST_DATABASE_ENV
from tests.scaleout.cluster import Cluster
from tests.training_helpers import tiny_config

pytestmark = [pytest.mark.slow, pytest.mark.db]

TERMINAL = {"completed", "failed", "stopped", "interrupted"}


@pytest.fixture
def cluster(tmp_path):
    url = os.environ.get(TEST_DATABASE_ENV, "")
    if not url.startswith("postgresql"):
        pytest.skip("needs PostgreSQL: scripts/test_postgres.sh runs it (stage 2 of .ci/run)")
    cluster = Cluster(tmp_path, url)
    try:
        yield cluster.start(workers=2)
    finally:
        cluster.stop()


class Listener:
    """A Socket.IO client of the web server, in every session's room."""

    def __init__(self, url: str):
        self.updates: dict[str, list[tuple[str, int]]] = defaultdict(list)
        self.statuses: dict[str, list[str]] = defaultdict(list)
        self.lock = threading.Lock()
        self.client = socketio.Client(reconnection=True)
        self.client.on("training_update", self._update)
        self.client.on("session_status", self._status)
        self.client.connect(url, transports=["websocket"], wait_timeout=10)

    def _update(self, data):
        with self.lock:
            self.updates[data["session_id"]].append((data["phase"], data["step"]))

    def _status(self, data):
        with self.lock:
            self.statuses[data["session_id"]].append(data["status"])

    def join(self, session_id: str) -> None:
        assert self.client.call("join_session", {"session_id": session_id}, timeout=10)["ok"]


def test_jobs_spread_survive_a_redis_restart_and_a_lost_worker(cluster, tiny_model_dir):
    long = tiny_config(tiny_model_dir, training={"samples_per_epoch": 240, "save_steps": 4},
                       pre_training={"enabled": False})
    short = tiny_config(tiny_model_dir, training={"samples_per_epoch": 40, "save_steps": 4},
                       pre_training={"enabled": False})
    listener = Listener(cluster.web.url)
    try:
        ids = []
        for name, config in (("long", long), ("short-1", short), ("short-2", short)):
            ids.append(cluster.api("POST", "/training/start", json={"config": {**config, "name": name}})["session"]["id"])
            listener.join(ids[-1])
        victim_id = ids[0]

        # Two workers, three jobs: two run at once, one on each worker; the third waits in the database.
        cluster.wait(lambda: sum(cluster.session(i)["status"] == "running" for i in ids) == 2, 60,
                     "two sessions running", lambda: cluster.worker_log("w1") + cluster.worker_log("w2"))
        running = [cluster.session(i) for i in ids if cluster.session(i)["status"] == "running"]
        assert {s["worker"] for s in running} == {"w1", "w2"}
        waiting = next(i for i in ids if cluster.session(i)["status"] == "queued")

        # Redis restarts (no persistence: its memory is gone) while a job waits and two run.
        cluster.redis.restart()

        # The long job has a checkpoint: its worker dies with its whole process group, like a host.
        cluster.wait(lambda: cluster.session(victim_id)["step"] >= 8, 120, "the long job to pass step 8")
        victim = cluster.session(victim_id)
        assert victim["status"] == "running"
        lost_worker = victim["worker"]
        survivor = "w2" if lost_worker == "w1" else "w1"
        cluster.kill_worker(lost_worker)
        cluster.wait(lambda: cluster.session(victim_id)["status"] == "interrupted", cluster.grace + 20,
                     "the lost worker's job to turn interrupted")
        assert "heartbeat" in cluster.session(victim_id)["error"]
        shown = {w["name"]: w for w in cluster.api("GET", "/system/workers")["workers"]}
        assert not shown[lost_worker]["alive"] and shown[survivor]["alive"]

        cluster.api("POST", "/training/resume", json={"session_id": victim_id})
        cluster.wait(lambda: all(cluster.session(i)["status"] in TERMINAL for i in ids), 300,
                     "every session to end", lambda: cluster.worker_log(survivor))
        final = {i: cluster.session(i) for i in ids}
        assert {i: s["status"] for i, s in final.items()} == {i: "completed" for i in ids}, \
            {i: s["error"] for i, s in final.items()}
        assert final[victim_id]["worker"] == survivor and final[victim_id]["attempt"] == 2
        assert final[waiting]["attempt"] == 1  # handed out once, after the restart: nothing was lost or doubled

        # No metric step duplicated or missing: the stored steps are exactly the steps the trainer logged.
        detail = cluster.api("GET", f"/training/sessions/{victim_id}")
        stored = [(m["phase"], m["step"]) for m in detail["metrics"]]
        assert len(stored) == len(set(stored))
        grpo_steps = sorted(step for phase, step in stored if phase == "grpo")
        total = final[victim_id]["total_steps"]
        assert grpo_steps == list(range(1, total + 1))
        history, _ = checkpoint_history(SessionPaths(Path(final[victim_id]["output_dir"])), "grpo")
        assert [entry["step"] for entry in history if "loss" in entry or "reward" in entry] == \
            [s for s in grpo_steps if s <= max(entry["step"] for entry in history)]

        # The browser's view: live events from both workers, before and after the restart and the take-over.
        with listener.lock:
            live = {i: list(listener.updates[i]) for i in ids}
            statuses = dict(listener.statuses)
        assert all(live[i] for i in ids)
        assert "interrupted" in statuses[victim_id] and statuses[victim_id][-1] == "completed"
        assert max(step for _, step in live[victim_id]) == total
    finally:
        listener.client.disconnect()


def test_a_worker_that_comes_back_does_not_continue_and_stop_checkpoints(cluster, tiny_model_dir):
    """A worker frozen mid-run (SIGSTOP: a partition, a hung host) is declared lost; with auto-resume its job
    moves to the other worker at once. Thawed, it finds the job taken over and kills its copy. Then a stop reaches
    the new worker through Redis and the trainer checkpoints before exiting."""
    import signal

    import psutil

    config = tiny_config(tiny_model_dir, training={"samples_per_epoch": 600, "save_steps": 4, "auto_resume": True},
                         pre_training={"enabled": False})
    sid = cluster.api("POST", "/training/start", json={"config": config})["session"]["id"]
    cluster.wait(lambda: cluster.session(sid)["step"] >= 5, 120, "the job to pass step 5")
    first = cluster.session(sid)
    frozen = first["worker"]
    other = "w2" if frozen == "w1" else "w1"
    below = psutil.Process(cluster.workers[frozen].pid).children(recursive=True)
    tree = [cluster.workers[frozen].pid] + [p.pid for p in below]
    child = next(p for p in below if "spawn_main" in " ".join(p.cmdline()))  # the training child
    for pid in tree:
        os.kill(pid, signal.SIGSTOP)
    frozen_step = cluster.session(sid)["step"]
    try:
        cluster.wait(lambda: cluster.session(sid)["worker"] == other and cluster.session(sid)["status"] == "running",
                     cluster.grace + 60, "the job to move to the other worker", lambda: cluster.worker_log(other))
    finally:
        for pid in tree:
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
    assert cluster.session(sid)["attempt"] == 2
    cluster.wait(lambda: not child.is_running() or child.status() == psutil.STATUS_ZOMBIE, 60,
                 "the thawed worker to kill its copy of the job")
    log = (cluster.folder / frozen / "logs" / "tunewright.log").read_text()
    assert "taken over by another worker" in log
    # The thawed worker is alive again and idle; the job stays with attempt 2.
    cluster.wait(lambda: {w["name"]: w for w in cluster.api("GET", "/system/workers")["workers"]}[frozen]["alive"],
                 30, "the thawed worker's heartbeat")
    assert cluster.session(sid)["worker"] == other

    # The new worker trains past where the frozen one was (from the checkpoint before it), then is stopped.
    cluster.wait(lambda: cluster.session(sid)["step"] >= frozen_step + 2, 120, "the new worker to pass the old one",
                 lambda: cluster.worker_log(other))
    cluster.api("POST", "/training/stop", json={"session_id": sid})
    cluster.wait(lambda: cluster.session(sid)["status"] == "stopped", 120, "the job to stop",
                 lambda: cluster.worker_log(other))
    stopped = cluster.session(sid)
    history, _ = checkpoint_history(SessionPaths(Path(stopped["output_dir"])), "grpo")
    assert max(entry["step"] for entry in history) >= max(frozen_step + 2, stopped["step"])  # checkpointed at stop
    detail = cluster.api("GET", f"/training/sessions/{sid}")
    steps = [m["step"] for m in detail["metrics"] if m["phase"] == "grpo"]
    assert steps == list(range(1, max(steps) + 1))  # nothing from the frozen copy, nothing missing
