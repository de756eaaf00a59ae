"""Metric latency and API latency while training.

Starts a real server process, trains the tiny model for many fast steps, and
measures (1) the time from the callback's on_log in the child to receipt of
`training_update` by a Socket.IO client in this process (target p95 <= 100 ms)
and (2) GET /api/training/sessions latency during training (target p95 <= 50 ms).

    .venv/bin/python bench/metric_latency.py
"""
from __future__ import annotations

import tempfile
import threading
import time
from pathlib import Path

import requests
import socketio

from _common import percentile


def main() -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.helpers import build_tiny_model
    from tests.live_server import start_server, stop_server

    folder = Path(tempfile.mkdtemp(prefix="tunewright-latency-"))
    model = build_tiny_model(folder / "tiny")
    server = start_server(folder / "server")
    latencies: list[float] = []
    done = threading.Event()
    try:
        config = {"model": {"name": str(model), "lora_rank": 4}, "pre_training": {"enabled": False},
                  "training": {"samples_per_epoch": 240, "batch_size": 2, "num_generations": 2,
                               "max_new_tokens": 8, "save_steps": 1000}}
        sid = requests.post(f"{server.url}/api/training/start", json={"config": config}, timeout=30).json()[
            "session"]["id"]
        client = socketio.Client()

        @client.on("training_update")
        def on_update(data):
            if data.get("logged_at") and "train_runtime" not in data:
                latencies.append((time.time() - data["logged_at"]) * 1000)

        @client.on("training_complete")
        def on_complete(_):
            done.set()

        client.connect(server.url, transports=["websocket"])
        client.call("join_session", {"session_id": sid})
        api: list[float] = []
        while not done.is_set():
            started = time.perf_counter()
            requests.get(f"{server.url}/api/training/sessions", timeout=10)
            api.append((time.perf_counter() - started) * 1000)
            time.sleep(0.05)
        client.disconnect()
        print(f"training_update events: {len(latencies)}")
        print(f"on_log -> client latency: p50 {percentile(latencies, 50):.1f} ms, p95 {percentile(latencies, 95):.1f} ms"
              f" (target p95 <= 100 ms)")
        print(f"GET /api/training/sessions while training ({len(api)} requests): p50 {percentile(api, 50):.1f} ms, "
              f"p95 {percentile(api, 95):.1f} ms (target p95 <= 50 ms)")
    finally:
        stop_server(server)


if __name__ == "__main__":
    main()
