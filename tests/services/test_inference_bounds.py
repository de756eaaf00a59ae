"""Issue 18, bounded in size: what one request can make the inference worker do, with the real worker process
and the tiny model. Every count and length a request sets has an upper bound, answered with a 400 that names
the field before any work is queued; what only a tokenizer can count is checked in the worker."""
from __future__ import annotations

import threading
import time

import psutil
import pytest

from tests.export_fixtures import register_session
from tests.services.inference_helpers import playground, worker_process

pytestmark = [pytest.mark.slow, pytest.mark.db]


def test_a_2mb_prompt_is_refused_fast_and_the_worker_stays_small(app, client, tiny_model_dir):
    model_id = f"base:{tiny_model_dir}"
    warm = client.post("/api/models/test", json={"model_id": model_id, "prompt": "Hi", "max_tokens": 2,
                                                 "temperature": 0})
    assert warm.status_code == 200, warm.get_json()
    worker = psutil.Process(worker_process(app).pid)
    rss_before = worker.memory_info().rss

    answers: list = []
    thread = threading.Thread(target=lambda: answers.append(app.test_client().post(
        "/api/models/test", json={"model_id": model_id, "prompt": "x " * 1_000_000, "max_tokens": 8})), daemon=True)
    started = time.monotonic()
    thread.start()
    thread.join(30)
    assert answers, "a 2 MB prompt got no answer within 30 s"
    assert answers[0].status_code == 400 and time.monotonic() - started < 10
    assert answers[0].get_json()["details"][0]["path"] == "prompt"
    assert worker.is_running() and worker.memory_info().rss < rss_before + 100 * 1024**2

    # Under the character bound but over the model's context (2048 positions): refused by the worker, not run.
    long = client.post("/api/models/test", json={"model_id": model_id, "prompt": "seven " * 3000, "max_tokens": 4})
    assert long.status_code == 400 and "tokens" in long.get_json()["error"], long.get_json()
    assert client.post("/api/models/test", json={"model_id": model_id, "prompt": "Hi", "max_tokens": 2,
                                                 "temperature": 0}).status_code == 200
    assert worker.memory_info().rss < rss_before + 100 * 1024**2


@pytest.fixture
def session_id(app, trained_session_dir, tiny_model_dir):
    return register_session(app, trained_session_dir, tiny_model_dir, "bounds1")


@pytest.mark.parametrize("url,body,path", [
    ("/api/models/test", {"max_tokens": 10**9}, "max_tokens"),
    ("/api/models/test", {"system_prompt": "s" * 30_000}, "system_prompt"),
    ("/api/models/evaluate", {"max_tokens": 10**9}, "max_tokens"),
    ("/api/models/evaluate", {"n": "ten"}, "n"),
    ("/api/models/evaluate", {"n": 10**9}, "n"),
    ("/api/models/batch", {"dataset_split": True, "n": "ten"}, "n"),
    ("/api/models/batch", {"dataset_split": True, "n": 10**9}, "n"),
    ("/api/models/batch", {"prompts": ["x" * 60_000]}, "prompts.0"),
    ("/api/models/batch", {"prompts": ["Hi"], "max_tokens": 10**9}, "max_tokens"),
])
def test_every_count_and_length_has_a_bound_answered_with_a_400_naming_the_field(client, session_id, url, body, path):
    body = {"session_id": session_id, "model_id": f"session:{session_id}", "prompt": "Hi", **body}
    response = client.post(url, json=body)
    assert response.status_code == 400, (response.status_code, response.get_json())
    assert path in [d["path"] for d in response.get_json()["details"]], response.get_json()


def test_history_limit_that_is_not_a_number_is_a_400(client):
    response = client.get("/api/models/history?limit=ten")
    assert response.status_code == 400 and response.get_json()["details"][0]["path"] == "limit"


def test_reward_testing_is_scored_in_the_inference_worker(app, client):
    samples = [{"prompt": "What is 2 + 2?", "completion": "<SOLUTION>4</SOLUTION>", "fields": {"answer": "4"}},
               {"prompt": "What is 2 + 3?", "completion": "no idea", "fields": {"answer": "5"}}]
    response = client.post("/api/rewards/test", json={"preset": "math", "samples": samples})
    assert response.status_code == 200, response.get_json()
    scores = [s["total"] for s in response.get_json()["samples"]]
    assert scores[0] > scores[1]
    process = worker_process(app)
    assert process is not None and process.is_alive() and process.pid != psutil.Process().pid
    assert playground(app).worker.served["score"] == 1
