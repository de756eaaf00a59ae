"""Session management: rename, priority while queued, the queue with reasons, the overview with filters."""
from __future__ import annotations

import time

import pytest

from tests.training_helpers import tiny_config

pytestmark = [pytest.mark.db, pytest.mark.slow]


def _start(client, config, **extra):
    response = client.post("/api/training/start", json={"config": config, **extra})
    assert response.status_code == 201, response.json
    return response.json["session"]["id"]


def _wait_done(client, sid, timeout=180):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = client.get(f"/api/training/sessions/{sid}").json["session"]["status"]
        if status in ("completed", "failed", "stopped"):
            return status
        time.sleep(0.2)
    raise AssertionError(f"{sid} still {status}")


def test_queue_rename_priority_and_overview(client, tiny_model_dir):
    long_run = tiny_config(tiny_model_dir, pre_training={"enabled": False}, training={"samples_per_epoch": 400})
    quick = tiny_config(tiny_model_dir, pre_training={"enabled": False}, training={"samples_per_epoch": 2})
    running = _start(client, long_run)
    first = _start(client, quick, priority="low")
    second = _start(client, quick, priority="low")

    data = client.get("/api/sessions").json
    queue = data["queue"]
    assert [q["session_id"] for q in queue] == [first, second]
    assert "free device" in queue[0]["reason"] and "1 queued session(s) go first" in queue[1]["reason"]

    response = client.patch(f"/api/sessions/{second}", json={"priority": "high"})
    assert response.status_code == 200 and response.json["session"]["priority"] == 2
    queue = client.get("/api/sessions").json["queue"]
    assert [q["session_id"] for q in queue] == [second, first] and queue[0]["priority"] == "high"

    assert client.patch(f"/api/sessions/{second}", json={"priority": "urgent"}).status_code == 400
    refused = client.patch(f"/api/sessions/{running}", json={"priority": "high"})
    assert refused.status_code == 409 and "queued" in refused.json["error"]

    renamed = client.patch(f"/api/sessions/{first}", json={"name": "  My <b>run</b>  "})
    assert renamed.json["session"]["name"] == "My <b>run</b>"
    assert client.get(f"/api/training/sessions/{first}").json["config"]["name"] == "My <b>run</b>"
    assert client.patch(f"/api/sessions/{first}", json={"name": "   "}).status_code == 400
    assert client.patch("/api/sessions/nope", json={"name": "x"}).status_code == 404

    rows = {s["id"]: s for s in client.get("/api/sessions").json["sessions"]}
    assert rows[second]["queue_position"] == 1 and rows[first]["queue_position"] == 2
    assert rows[running]["queue_position"] is None and rows[running]["method"] == "grpo"
    assert rows[running]["algorithm"] == "grpo"
    assert rows[running]["model"] == str(tiny_model_dir) and rows[first]["priority_name"] == "low"
    assert [s["id"] for s in client.get("/api/sessions?status=queued").json["sessions"]] == [second, first]
    assert client.get("/api/sessions?model=other").json["sessions"] == []
    assert client.get("/api/sessions").json["models"] == [str(tiny_model_dir)]

    for sid in (first, second, running):
        client.post("/api/training/stop", json={"session_id": sid})
    _wait_done(client, running)
    best = client.get("/api/sessions").json["sessions"]
    assert all(s["status"] == "stopped" for s in best)
