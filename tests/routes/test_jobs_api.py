"""The v1 job API, the methods list and the RAG endpoints over HTTP, with real child processes on the tiny model."""
from __future__ import annotations

import io
import tarfile
import time

import pytest

from tests.dataset_fixtures import jsonl_bytes, upload_and_process
from tests.rag_fixtures import ADDED_FACT, ADDED_QUESTION, CAPITAL_QUESTION, FACT_ROWS
from tests.training_helpers import arithmetic_rows


def wait_job(client, job_id, timeout=240.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = client.get(f"/api/v1/jobs/{job_id}/status").json
        if status["status"] in ("completed", "failed", "stopped", "interrupted"):
            return status
        time.sleep(0.3)
    raise AssertionError(f"job {job_id} still {status['status']} after {timeout} s")


def test_methods_list_says_what_runs_here(client):
    import torch

    methods = {m["name"]: m for m in client.get("/api/training/methods").json["methods"]}
    assert set(methods) == {"grpo", "qlora", "unsloth", "standard", "rag"}
    assert methods["rag"]["outputs"] == ["rag_model"] and methods["qlora"]["available"]
    if not torch.cuda.is_available():
        assert methods["unsloth"]["available"] is False and "GPU" in methods["unsloth"]["reason"]


def test_bad_payloads_get_400_with_what_is_valid(client, tiny_model_dir):
    response = client.post("/api/v1/jobs/", json={"training_type": "dpo", "model_name": str(tiny_model_dir)})
    assert response.status_code == 400
    assert all(name in response.json["error"] for name in ("qlora", "unsloth", "rag", "standard", "grpo"))
    assert response.json["details"][0]["path"] == "training_type"

    response = client.post("/api/v1/jobs/", json={"training_type": "qlora", "model_name": "llama3.3:3b"})
    assert response.status_code == 400 and "llama3.2:3b" in response.json["error"]
    assert response.json["details"][0]["path"] == "model_name"

    response = client.post("/api/v1/jobs/", json={"training_type": "qlora", "model_name": str(tiny_model_dir),
                                                  "epoch": 2})
    assert response.status_code == 400 and "epoch" in response.json["error"]

    response = client.post("/api/v1/jobs/", json={"training_type": "rag", "model_name": str(tiny_model_dir),
                                                  "config": {"rag": {"chunk_size": 100, "chunk_overlap": 200}}})
    assert response.status_code == 400 and response.json["details"][0]["path"] == "rag.chunk_overlap"
    assert client.get("/api/v1/jobs/").json["jobs"] == []  # nothing was queued


def test_unsloth_is_refused_with_the_reason_on_a_cpu(client, tiny_model_dir):
    import torch

    if torch.cuda.is_available():
        pytest.skip("GPU machine: Unsloth is allowed")
    response = client.post("/api/v1/jobs/", json={"training_type": "unsloth", "model_name": str(tiny_model_dir)})
    assert response.status_code == 400
    assert "GPU" in response.json["error"] and response.json["details"][0]["path"] == "method"
    response = client.post("/api/training/start", json={"config": {"method": "unsloth",
                                                                   "model": {"name": str(tiny_model_dir)}}})
    assert response.status_code == 400 and "GPU" in response.json["error"]


def test_ollama_tags_map_to_the_catalogue(client):
    # Offline, the mapped Hub checkpoint is unavailable: the 400 names it, which shows the mapping happened.
    response = client.post("/api/v1/jobs/", json={"training_type": "qlora", "model_name": "qwen3:1.7b"})
    assert response.status_code == 400 and "Qwen/Qwen3-1.7B" in response.json["error"]


@pytest.mark.slow
def test_standard_job_runs_reports_status_and_downloads_as_tar_gz(client, tiny_model_dir, tmp_path):
    dataset = upload_and_process(client, "sums.jsonl", jsonl_bytes(arithmetic_rows(8)))
    payload = {"name": "sums", "description": "two steps of full fine-tuning", "training_type": "standard",
               "model_name": str(tiny_model_dir), "dataset_id": dataset["id"], "epochs": 1, "batch_size": 4,
               "learning_rate": 1e-3}
    response = client.post("/api/v1/jobs/", json=payload)
    assert response.status_code == 201, response.json
    job = response.json
    assert job["training_type"] == "standard" and job["description"] == payload["description"]
    assert job["dataset_id"] == dataset["id"] and job["output"] == f"{job['id']}/standard_model"

    # One device slot: a second job waits in the queue, and its download is refused with its status.
    queued = client.post("/api/v1/jobs", json={**payload, "name": "waits"}).json
    response = client.get(f"/api/v1/jobs/{queued['id']}/download")
    assert response.status_code == 409 and "queued" in response.json["error"]
    assert client.post(f"/api/v1/jobs/{queued['id']}/cancel").json["status"] == "stopped"

    status = wait_job(client, job["id"])
    assert status["status"] == "completed", status["error"]
    assert status["progress"] == 100.0 and status["step"] == status["total_steps"] == 2
    assert isinstance(status["loss"], float) and status["epoch"] == 1
    assert [j["id"] for j in client.get("/api/v1/jobs/").json["jobs"]] == [queued["id"], job["id"]]

    response = client.get(f"/api/v1/jobs/{job['id']}/download")
    assert response.status_code == 200 and response.mimetype == "application/gzip"
    assert f"{job['id']}-standard_model.tar.gz" in response.headers["Content-Disposition"]
    with tarfile.open(fileobj=io.BytesIO(response.get_data()), mode="r:gz") as tar:
        names = set(tar.getnames())
        tar.extractall(tmp_path, filter="data")
    assert {"standard_model/model.safetensors", "standard_model/config.json",
            "standard_model/tokenizer.json"} <= names
    from transformers import AutoModelForCausalLM

    AutoModelForCausalLM.from_pretrained(tmp_path / "standard_model")
    [version] = client.get("/api/registry/models/sums").json["versions"]
    assert (version["type"], version["framework"], version["method"]) == ("llm", "transformers", "standard")
    assert "model.safetensors" in {f["name"] for f in version["files"]}
    assert version["lineage"]["datasets"][0]["sha256"] == dataset["sha256"]
    assert client.get("/api/v1/jobs/nope/status").status_code == 404


@pytest.mark.slow
def test_rag_job_retrieves_adds_and_answers(client, tiny_model_dir):
    dataset = upload_and_process(client, "facts.jsonl", jsonl_bytes(FACT_ROWS))
    job = client.post("/api/v1/jobs/", json={"name": "facts", "training_type": "rag", "dataset_id": dataset["id"],
                                              "model_name": str(tiny_model_dir),
                                              "config": {"rag": {"chunk_size": 200, "chunk_overlap": 20}}}).json
    assert client.post(f"/api/rag/{job['id']}/retrieve", json={"query": "x"}).status_code == 409
    status = wait_job(client, job["id"])
    assert status["status"] == "completed", status["error"]
    [version] = client.get("/api/registry/models/facts").json["versions"]
    assert (version["type"], version["framework"]) == ("rag_index", "faiss")

    hits = client.post(f"/api/rag/{job['id']}/retrieve", json={"query": CAPITAL_QUESTION, "top_k": 3}).json
    assert len(hits["documents"]) == 3 and "Quelmont" in hits["documents"][0]["text"]
    assert hits["documents"][0]["score"] >= hits["documents"][1]["score"]

    response = client.post(f"/api/rag/{job['id']}/documents", json={"documents": [ADDED_FACT], "source": "notes"})
    assert response.status_code == 201 and response.json["index_size"] == len(FACT_ROWS) + 1
    top = client.post(f"/api/rag/{job['id']}/retrieve", json={"query": ADDED_QUESTION}).json["documents"][0]
    assert top["text"] == ADDED_FACT

    reply = client.post(f"/api/rag/{job['id']}/ask", json={"query": CAPITAL_QUESTION, "top_k": 2,
                                                           "max_new_tokens": 4}).json
    assert isinstance(reply["answer"], str) and "Quelmont" in reply["documents"][0]["text"]
    response = client.post(f"/api/rag/{job['id']}/ask", json={"query": "q", "model": "trained"})
    assert response.status_code == 400 and response.json["details"][0]["path"] == "model"

    for body, path in (({"query": ""}, "query"), ({"query": "q", "top_k": 0}, "top_k"),
                       ({"documents": []}, "documents")):
        url = f"/api/rag/{job['id']}/" + ("documents" if "documents" in body else "retrieve")
        response = client.post(url, json=body)
        assert response.status_code == 400 and response.json["details"][0]["path"] == path
    download = client.get(f"/api/v1/jobs/{job['id']}/download")
    with tarfile.open(fileobj=io.BytesIO(download.get_data()), mode="r:gz") as tar:
        assert sorted(tar.getnames()) == sorted(f"rag_model/{n}" for n in (
            "documents.json", "embeddings_metadata.json", "rag_config.json", "vector_index.faiss"))
