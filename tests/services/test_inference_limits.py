"""Issue 18, bounded in time: the inference worker stops a generation past its wall-clock limit, a full queue
answers 429 with Retry-After, and the next request is served once the worker is free (real worker process,
tiny model; a small limit and queue set by the app's config)."""
from __future__ import annotations

import threading
import time

import pytest

from tests.services.inference_helpers import in_flight, playground, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.db]


@pytest.fixture
def test_config(test_config):
    return {**test_config, "INFERENCE_TIME_LIMIT": 1, "INFERENCE_QUEUE_SIZE": 1, "INFERENCE_RETRY_AFTER": 7}


def long_generation(model_dir) -> dict:
    """2048 greedy tokens of a random model: several seconds of work, longer than the 1 s limit."""
    return {"model_id": f"base:{model_dir}", "prompt": "Count to a thousand.", "max_tokens": 2048, "temperature": 0}


def test_the_worker_aborts_a_generation_past_its_time_limit(client, tiny_model_dir):
    assert client.post("/api/models/test", json={**long_generation(tiny_model_dir), "max_tokens": 2}).status_code == 200
    started = time.monotonic()
    response = client.post("/api/models/test", json=long_generation(tiny_model_dir))
    assert response.status_code == 504, response.get_json()
    assert "time limit" in response.get_json()["error"] and time.monotonic() - started < 30
    quick = client.post("/api/models/test", json={**long_generation(tiny_model_dir), "max_tokens": 2})
    assert quick.status_code == 200  # the worker is free again


def test_a_full_queue_answers_429_with_retry_after(app, client, tiny_model_dir):
    pg = playground(app)
    events: list[dict] = []
    with app.app_context():
        model = pg.resolve(f"base:{tiny_model_dir}")
        request_id = pg.submit(model["spec"], pg.messages(model, "Count to a thousand."),
                               {"temperature": 0.0, "top_p": 1.0, "max_tokens": 2048, "seed": 0}, events.append)
    assert in_flight(app) == 1
    busy = client.post("/api/models/test", json={**long_generation(tiny_model_dir), "max_tokens": 2})
    assert busy.status_code == 429, busy.get_json()
    assert busy.headers["Retry-After"] == "7" and "busy" in busy.get_json()["error"]
    scoring = client.post("/api/rewards/test", json={"preset": "math", "samples": [{"completion": "4"}]})
    assert scoring.status_code == 429
    pg.cancel(request_id)
    assert wait_until(lambda: in_flight(app) == 0, 60)
    assert events[-1]["type"] in ("done", "error")
    assert client.post("/api/models/test", json={**long_generation(tiny_model_dir), "max_tokens": 2}).status_code == 200


def test_background_jobs_wait_for_a_place_instead_of_failing(app, client, tiny_model_dir):
    """A batch finds the queue full: it waits for the running request instead of failing."""
    pg = playground(app)
    with app.app_context():
        model = pg.resolve(f"base:{tiny_model_dir}")
        pg.submit(model["spec"], pg.messages(model, "Count."), {"temperature": 0.0, "top_p": 1.0, "max_tokens": 2048,
                                                                "seed": 0}, lambda event: None)
    created = client.post("/api/models/batch", json={"model_id": f"base:{tiny_model_dir}", "prompts": ["Hi", "Yo"],
                                                     "max_tokens": 2, "temperature": 0})
    assert created.status_code == 202
    batch_id = created.get_json()["batch"]["id"]
    assert wait_until(lambda: client.get(f"/api/models/batch/{batch_id}").get_json()["batch"]["status"]
                      not in ("queued", "running"), 120)
    assert client.get(f"/api/models/batch/{batch_id}").get_json()["batch"]["status"] == "completed"


def test_shutdown_stops_the_worker_cleanly(app, client, tiny_model_dir):
    assert client.post("/api/models/test", json={**long_generation(tiny_model_dir), "max_tokens": 2}).status_code == 200
    process = playground(app).worker._process
    threading.Thread(target=lambda: app.test_client().post("/api/models/test", json=long_generation(tiny_model_dir)),
                     daemon=True).start()
    assert wait_until(lambda: in_flight(app) == 1, 10)
    playground(app).shutdown()
    assert not process.is_alive() and process.exitcode == 0
