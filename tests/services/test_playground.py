"""The Test step's services through the API, with the real inference worker process and the tiny model."""
from __future__ import annotations

import csv
import io

import pytest

from tests.export_fixtures import register_session
from tests.helpers import poll

pytestmark = [pytest.mark.slow, pytest.mark.db]


@pytest.fixture
def session_id(app, trained_session_dir, tiny_model_dir):
    app.config["INFERENCE_CACHE_BYTES"] = 64 * 1024**2
    return register_session(app, trained_session_dir, tiny_model_dir, "trained1")


def test_list_test_compare_and_history(client, session_id, tiny_model_dir):
    listing = client.get("/api/models/list").get_json()
    ids = {m["id"]: m["kind"] for m in listing["testable"]}
    assert ids[f"session:{session_id}"] == "session"
    assert ids[f"session:{session_id}:checkpoints/grpo/checkpoint-2"] == "checkpoint"
    assert all(m["kind"] == "base" for m in listing["models"])

    answer = client.post("/api/models/test", json={"session_id": session_id, "prompt": "What is 2 + 3?",
                                                   "temperature": 0, "max_tokens": 8}).get_json()
    assert answer["tokens"] > 0 and answer["text"] and answer["seconds"] >= 0
    again = client.post("/api/models/test", json={"model_id": f"session:{session_id}", "prompt": "What is 2 + 3?",
                                                  "temperature": 0, "max_tokens": 8}).get_json()
    assert again["text"] == answer["text"]  # greedy, and the cached model answers the same

    compared = client.post("/api/models/compare", json={"session_id": session_id, "prompt": "Hi", "seed": 3,
                                                        "max_tokens": 6, "temperature": 0.9}).get_json()
    assert [r["model_id"] for r in compared["results"]] == [f"base:{tiny_model_dir}", f"session:{session_id}"]
    runs = client.get("/api/models/history").get_json()["runs"]
    assert [r["kind"] for r in runs[:4]] == ["compare", "compare", "interactive", "interactive"]
    assert runs[-1]["prompt"] == "What is 2 + 3?" and runs[-1]["settings"]["max_tokens"] == 8

    assert client.post("/api/models/test", json={"session_id": session_id, "prompt": "x",
                                                 "temperature": 9}).status_code == 400
    assert client.post("/api/models/test", json={"model_path": "../../etc", "prompt": "x"}).status_code == 404
    assert client.post("/api/models/test", json={"model_id": "base:/nonexistent", "prompt": "x"}).status_code == 404


def test_batch_of_20_prompts_gives_json_and_csv(client, session_id):
    prompts = "\n".join(f"What is {i} + 1?" for i in range(19)) + "\n"
    upload = {"file": (io.BytesIO((prompts + '{"prompt": "What is 9 + 9?", "expected": "18"}').encode()), "p.txt")}
    assert client.post("/api/models/batch", data={**upload, "model_id": "x"},
                       content_type="multipart/form-data").status_code == 404
    jsonl = "".join(f'{{"prompt": "What is {i} + 1?", "expected": "{i + 1}"}}\n' for i in range(20))
    created = client.post("/api/models/batch", json={"model_id": f"session:{session_id}", "text": jsonl,
                                                     "filename": "p.jsonl", "max_tokens": 4, "temperature": 0})
    assert created.status_code == 202
    batch = poll(client, f"/api/models/batch/{created.get_json()['batch']['id']}", "batch")
    assert batch["status"] == "completed" and batch["done"] == batch["total"] == 20
    assert [r["expected"] for r in batch["results"]] == [str(i + 1) for i in range(20)]
    assert all(isinstance(r["match"], bool) and r["tokens"] >= 0 for r in batch["results"])
    text = client.get(f"/api/models/batch/{batch['id']}?format=csv").get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 20 and rows[3]["prompt"] == "What is 3 + 1?" and rows[3]["output"] == batch["results"][3]["output"]


def test_reward_evaluation_reports_base_vs_fine_tuned_with_an_interval(client, session_id):
    created = client.post("/api/models/evaluate", json={"session_id": session_id, "n": 6, "max_tokens": 8})
    assert created.status_code == 202
    row = poll(client, f"/api/models/evaluations/{created.get_json()['evaluation']['id']}", "evaluation")
    assert row["status"] == "completed", row["error"]
    result = row["result"]
    for side in ("base", "fine_tuned"):
        total = result[side]["total"]
        assert total["n"] == 6 and total["ci_low"] <= total["mean"] <= total["ci_high"]
        assert set(result[side]["components"]) == {"format", "correctness"}
    diff = result["difference"]
    assert diff["ci_low"] <= diff["mean"] <= diff["ci_high"] and result["verdict"]
    assert row["reward"]["preset_name"] == "math" and result["confidence"] == 0.95
    stored = client.get(f"/api/models/evaluations?session_id={session_id}").get_json()["evaluations"]
    assert stored[0]["id"] == row["id"]
    bad = client.post("/api/models/evaluate", json={"session_id": session_id,
                                                    "reward": {"type": "preset", "preset_name": "nope"}})
    assert bad.status_code == 400
