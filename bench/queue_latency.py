"""What the queue costs: submit -> first metric with the local executor vs the rq executor (Redis + one
`tunewright worker`), p50 over N runs each. Aim (scale-out issue): RQ adds <= 1 s.

Both studios run on this host with the tiny test model; the rq one shares a SQLite file (WAL) between the web
server and its worker, as the docs allow on one host. Each run submits a session, waits for its first
`training_update` on a Socket.IO client of the web server, then stops it and waits for the end before the next.
Needs Debian's redis-server (`bash scripts/setup_redis.sh`).

    .venv/bin/python bench/queue_latency.py [--runs 5]
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from pathlib import Path

import requests
import socketio

import _common  # noqa: F401  (puts the project root on sys.path)

CONFIG = {"pre_training": {"enabled": False},
          "training": {"samples_per_epoch": 400, "batch_size": 2, "num_generations": 2, "max_new_tokens": 8,
                       "save_steps": 1000, "cpu_autocast": "off"}}


def first_metric_seconds(url: str, model: Path) -> float:
    """Seconds from POST /api/training/start to the first training_update at the client."""
    first = threading.Event()
    client = socketio.Client()
    client.on("training_update", lambda data: first.set())
    client.connect(url, transports=["websocket"])
    try:
        config = {**CONFIG, "model": {"name": str(model), "lora_rank": 4}}
        started = time.perf_counter()
        sid = requests.post(f"{url}/api/training/start", json={"config": config}, timeout=30).json()["session"]["id"]
        client.call("join_session", {"session_id": sid})
        if not first.wait(180):
            raise RuntimeError(f"no metric from session {sid} within 180 s")
        elapsed = time.perf_counter() - started
        requests.post(f"{url}/api/training/stop", json={"session_id": sid}, timeout=30)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            status = requests.get(f"{url}/api/training/sessions/{sid}", timeout=30).json()["session"]["status"]
            if status not in ("queued", "running", "stopping"):
                break
            time.sleep(0.2)
        return elapsed
    finally:
        client.disconnect()


def measure(label: str, url: str, model: Path, runs: int) -> float:
    times = [first_metric_seconds(url, model) for _ in range(runs)]
    p50 = statistics.median(times)
    print(f"{label:>6}: p50 {p50:.2f} s  (runs: {', '.join(f'{t:.2f}' for t in times)})", flush=True)
    return p50


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    from tests.helpers import build_tiny_model
    from tests.live_server import start_server, stop_server
    from tests.scaleout.cluster import Cluster

    folder = Path(tempfile.mkdtemp(prefix="tunewright-queue-"))
    model = build_tiny_model(folder / "tiny")
    server = start_server(folder / "local")
    try:
        local = measure("local", server.url, model, args.runs)
    finally:
        stop_server(server)
    cluster = Cluster(folder / "rq").start(workers=1)
    try:
        remote = measure("rq", cluster.web.url, model, args.runs)
    finally:
        cluster.stop()
    print(f"submit -> first metric: rq adds {remote - local:+.2f} s at p50 (aim: <= 1 s)")


if __name__ == "__main__":
    main()
