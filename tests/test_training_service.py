"""Sessions through the HTTP API with real child processes on the tiny model."""
from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from core.training.paths import SessionPaths, latest_checkpoint
from tests.training_helpers import tiny_config, wait_for  # noqa: F401  (wait_for: also imported from here)

pytestmark = pytest.mark.slow


def status_is(*statuses):
    return lambda d: d["session"]["status"] in statuses


def start(client, config, **extra):
    response = client.post("/api/training/start", json={"config": config, **extra})
    assert response.status_code == 201, response.json
    return response.json["session"]["id"]


def test_session_runs_sft_then_grpo_and_stores_every_metric(client, tiny_model_dir):
    sid = start(client, tiny_config(tiny_model_dir), session_id="first-run")
    assert sid == "first-run"
    detail = wait_for(client, sid, status_is("completed", "failed"))
    assert detail["session"]["status"] == "completed", detail["session"]["error"]
    rows = detail["metrics"]
    sft = [r for r in rows if r["phase"] == "sft"]
    grpo = [r for r in rows if r["phase"] == "grpo"]
    assert [r["step"] for r in sft] == [1, 2] and [r["step"] for r in grpo] == [1, 2]
    assert all({"reward", "kl", "loss"} <= set(r) for r in grpo)
    assert "train_runtime" in grpo[-1]  # TRL's end-of-run summary merged into the last row, not a new step
    assert detail["samples"] and detail["logs"]
    out = Path(detail["session"]["output_dir"])
    assert (out / "adapter" / "adapter_model.safetensors").is_file() and (out / "train.log").is_file()
    listed = client.get("/api/training/sessions").json["sessions"]
    assert [s["id"] for s in listed] == [sid]
    # The completed run registered itself: a LoRA adapter version whose lineage names this session's config.
    [model] = client.get("/api/registry/models").json["models"]
    [version] = model["versions"]
    assert version["session_id"] == sid and version["type"] == "lora_adapter" and version["method"] == "grpo"
    assert version["digest"].startswith("sha256:") and version["lineage"]["config"]["grpo"]["kl_penalty"] == 0.05
    assert version["metrics"]["final"]["reward"] == pytest.approx(grpo[-1]["reward"], abs=1e-5)


def test_stop_mid_run_checkpoints_and_resume_continues_without_duplicates(client, tiny_model_dir):
    config = tiny_config(tiny_model_dir, pre_training={"enabled": False}, training={"samples_per_epoch": 12})
    sid = start(client, config)
    wait_for(client, sid, lambda d: d["session"]["status"] == "running" and d["session"]["step"] >= 1)
    assert client.post("/api/training/stop", json={"session_id": sid}).json["session"]["status"] in (
        "stopping", "stopped")
    detail = wait_for(client, sid, status_is("stopped", "failed", "completed"))
    assert detail["session"]["status"] == "stopped", detail["session"]["error"]
    stopped_at = max(r["step"] for r in detail["metrics"])
    assert stopped_at < 6
    checkpoint = latest_checkpoint(SessionPaths(Path(detail["session"]["output_dir"])).grpo_checkpoints)
    assert checkpoint is not None

    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(tiny_model_dir), str(checkpoint))

    # A server killed between the child's send and its own commit loses those rows; the resume restores
    # them from the checkpoint's log history.
    from extensions import db
    from services.models.training import TrainingMetric

    with client.application.app_context():
        db.session.execute(db.delete(TrainingMetric).where(TrainingMetric.session_id == sid))
        db.session.commit()

    assert client.post("/api/training/resume", json={"session_id": sid}).status_code == 200
    detail = wait_for(client, sid, status_is("completed", "failed"))
    assert detail["session"]["status"] == "completed", detail["session"]["error"]
    steps = [r["step"] for r in detail["metrics"] if r["phase"] == "grpo"]
    assert steps == [1, 2, 3, 4, 5, 6]


def test_a_killed_child_fails_the_session_and_the_server_keeps_serving(client, tiny_model_dir):
    config = tiny_config(tiny_model_dir, pre_training={"enabled": False}, training={"samples_per_epoch": 40})
    sid = start(client, config)
    wait_for(client, sid, lambda d: d["session"]["step"] >= 1)
    pid = client.application.extensions["tunewright.training"]._supervisors[sid].process.pid
    os.kill(pid, signal.SIGKILL)
    detail = wait_for(client, sid, lambda d: d["session"]["status"] in ("failed", "completed"))
    assert detail["session"]["status"] == "failed"
    assert "SIGKILL" in detail["session"]["error"] and "last log lines" in detail["session"]["error"]
    assert client.get("/api/system/status").status_code == 200
    assert client.post("/api/training/resume", json={"session_id": sid}).status_code == 200  # failed is resumable
    assert wait_for(client, sid, status_is("completed", "failed"))["session"]["status"] == "completed"


def test_queue_runs_one_session_at_a_time_by_priority(client, tiny_model_dir):
    quick = tiny_config(tiny_model_dir, pre_training={"enabled": False}, training={"samples_per_epoch": 2})
    first = start(client, quick)
    low = start(client, quick, priority="low")
    high = start(client, quick, priority="high")
    assert client.get(f"/api/training/sessions/{low}").json["session"]["status"] == "queued"
    for sid in (first, low, high):
        assert wait_for(client, sid, status_is("completed", "failed"))["session"]["status"] == "completed"
    started = {sid: client.get(f"/api/training/sessions/{sid}").json["session"]["started_at"]
               for sid in (first, low, high)}
    assert started[first] < started[high] < started[low]


def test_stopping_a_queued_session_cancels_it_and_delete_rules(client, tiny_model_dir):
    quick = tiny_config(tiny_model_dir, pre_training={"enabled": False}, training={"samples_per_epoch": 2})
    running = start(client, quick)
    queued = start(client, quick)
    assert client.post("/api/training/stop", json={"session_id": queued}).json["session"]["status"] == "stopped"
    response = client.delete(f"/api/training/sessions/{running}")
    assert response.status_code == 409 and "stop it" in response.json["error"]
    detail = wait_for(client, running, status_is("completed", "failed"))
    out = Path(detail["session"]["output_dir"])
    assert out.is_dir()
    assert client.delete(f"/api/training/sessions/{running}").status_code == 200
    assert not out.exists()
    assert client.get(f"/api/training/sessions/{running}").status_code == 404


@pytest.mark.parametrize("body, status, text", [
    ({"config": {}, "session_id": "../escape"}, 400, "session_id"),
    ({"config": {"model": {"name": "Qwen/Qwen3-4B"}}}, 400, "HF_HUB_OFFLINE"),
    ({"config": {"dataset": {"source": "builtin:nope"}}}, 404, "nope"),
    ({"config_name": "never-saved"}, 404, "never-saved"),
])
def test_bad_start_requests_are_refused_with_a_message(client, body, status, text):
    started = time.monotonic()
    response = client.post("/api/training/start", json=body)
    assert response.status_code == status and text in response.json["error"] + str(response.json["details"])
    assert time.monotonic() - started < 5  # offline checks answer at once
    assert client.get("/api/training/sessions").json["sessions"] == []


def test_an_uploaded_dataset_trains_and_cannot_be_deleted_while_in_use(client, tiny_model_dir):
    from tests.dataset_fixtures import QA_ROWS, jsonl_bytes, upload_and_process

    dataset = upload_and_process(client, "qa.jsonl", jsonl_bytes(QA_ROWS))
    assert dataset["status"] == "Ready"
    config = tiny_config(tiny_model_dir, dataset={"source": f"dataset:{dataset['id']}"},
                         pre_training={"enabled": False}, training={"samples_per_epoch": 12})
    sid = start(client, config)
    response = client.delete(f"/api/datasets/{dataset['id']}")
    assert response.status_code == 409 and sid in response.json["error"]
    detail = wait_for(client, sid, status_is("completed", "failed"))
    assert detail["session"]["status"] == "completed"
    assert detail["session"]["dataset_id"] == dataset["id"]
    assert client.delete(f"/api/datasets/{dataset['id']}").status_code == 200
