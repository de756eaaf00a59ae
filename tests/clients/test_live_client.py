"""Against a real server process: the README's curl block as is, the Python client, and a RAG index that
survives a server restart."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from clients import JobFailed, TunewrightClient, TunewrightError
from core.default_model import FOLDER_NAME, MARKER
from tests.deploy_fixtures import prepared_smollm2
from tests.live_server import start_server, stop_server
from tests.rag_fixtures import ADDED_FACT, ADDED_QUESTION, CAPITAL_QUESTION, FACT_ROWS

pytestmark = pytest.mark.slow
README = Path(__file__).resolve().parents[2] / "README.md"


def readme_curl_block() -> str:
    text = README.read_text(encoding="utf-8")
    block = re.search(r"<!-- curl-examples:start -->\s*```bash\n(.*?)```\s*<!-- curl-examples:end -->", text, re.S)
    assert block, "README.md lost its curl-examples block"
    return block.group(1)


@pytest.fixture
def server_folder(tmp_path, tiny_model_dir):
    """A data folder whose 'prepared default model' is the tiny model, so `smollm2:135m` trains in seconds."""
    folder = tmp_path / "server"
    prepared = folder / "models" / FOLDER_NAME
    shutil.copytree(tiny_model_dir, prepared)
    (prepared / MARKER).write_text(json.dumps({"note": "tiny stand-in for tests"}))
    return folder


def test_readme_curl_examples_client_and_restart(server_folder, tmp_path):
    server = start_server(server_folder)
    try:
        work = tmp_path / "shell"
        work.mkdir()
        run = subprocess.run(["bash", "-euo", "pipefail", "-c", readme_curl_block()], cwd=work, capture_output=True,
                             text=True, timeout=300, env={"TW": server.url, "PATH": "/usr/bin:/bin"})
        assert run.returncode == 0, run.stderr + run.stdout + server.log()[-3000:]
        replies = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
        assert "Reset password" in replies[0]["documents"][0]["text"]
        assert replies[1]["added"] == 1 and replies[1]["index_size"] == 4
        assert "rag_model/vector_index.faiss" in run.stdout

        client = TunewrightClient(server.url)
        assert {m["name"] for m in client.methods()} == {"grpo", "qlora", "unsloth", "standard", "rag"}
        facts = tmp_path / "facts.jsonl"
        facts.write_text("".join(json.dumps(r) + "\n" for r in FACT_ROWS))
        dataset = client.upload_dataset(facts)
        job = client.create_job(name="facts", description="one fact per row", training_type="rag",
                                model_name="smollm2:135m", dataset_id=dataset["id"],
                                config={"rag": {"chunk_size": 200, "chunk_overlap": 20}})
        assert job["model_name"] == "HuggingFaceTB/SmolLM2-135M-Instruct"
        with pytest.raises(TunewrightError) as info:
            client.create_job(training_type="sft", model_name="smollm2:135m")
        assert info.value.status == 400 and "standard" in info.value.message
        final = client.wait(job["id"], timeout=240, poll=0.5)
        assert final["progress"] == 100.0
        model = client.model("facts")
        assert [v["type"] for v in model["versions"]] == ["rag_index"] and "facts" in [m["name"] for m in client.models()]
        assert client.register(session_id=job["id"])["ref"] == "facts:v1"  # the same weights: the same version
        assert client.set_alias("facts", "production", 1)["aliases"] == ["production"]
        saved = client.download_version("facts", 1, tmp_path / "facts-v1.tar.gz")
        with tarfile.open(saved) as tar:
            assert "facts-v1/vector_index.faiss" in tar.getnames()
        assert "Quelmont" in client.retrieve(job["id"], CAPITAL_QUESTION, top_k=3)[0]["text"]
        assert client.add_documents(job["id"], [ADDED_FACT])["index_size"] == len(FACT_ROWS) + 1
        assert client.register(session_id=job["id"])["ref"] == "facts:v2"  # the index changed: new content
        archive = client.download(job["id"], tmp_path / "facts.tar.gz")
        with tarfile.open(archive) as tar:
            assert "rag_model/documents.json" in tar.getnames()
    finally:
        stop_server(server)

    server = start_server(server_folder)  # same database and outputs: a restarted server
    try:
        client = TunewrightClient(server.url)
        assert client.get_job(job["id"])["status"] == "completed"
        assert "Quelmont" in client.retrieve(job["id"], CAPITAL_QUESTION)[0]["text"]
        assert client.retrieve(job["id"], ADDED_QUESTION, top_k=1)[0]["text"] == ADDED_FACT
    finally:
        stop_server(server)


def project_body(base_model: str, **extra) -> dict:
    """The cheapest project that trains: the built-in arithmetic set, 16 rows, LoRA on the tiny model."""
    return {"name": "client-maths", "base_model": base_model, "training_type": "standard", "max_rows": 16,
            "traits": [{"trait_type": "reasoning", "datasets": [{"source": "builtin:arithmetic", "percentage": 100}]}],
            "config": {"standard": {"full_finetune": False}, "training": {"batch_size": 4, "cpu_autocast": "off"}},
            **extra}


def test_client_scripts_a_project_from_preview_to_validated_run(tmp_path, tiny_model_dir):
    """The tiny random model trains in seconds but answers nothing, so its run fails validation's generation
    check; the embedded SmolLM2 then trains the same project to a passed validation."""
    smollm2 = prepared_smollm2()
    assert smollm2 is not None, "the embedded model is not prepared: `make test` prepares it first (`make model`)"
    server = start_server(tmp_path / "server")
    try:
        client = TunewrightClient(server.url)
        body = project_body(str(tiny_model_dir))
        assert client.check_project(body)["valid"] is True
        with pytest.raises(TunewrightError) as info:
            client.create_project(**{**body, "traits": [{"trait_type": "reasoning", "datasets": []}]})
        assert info.value.status == 400 and "traits.0.datasets" in [d["path"] for d in info.value.details]
        assert client.check_project({**body, "max_rows": 0})["errors"][0]["path"] == "max_rows"

        project = client.create_project(**body)
        assert project["status"] == "draft" and [p["id"] for p in client.projects()] == [project["id"]]
        planned = client.preview_project(body)
        assert {s["key"]: s["rows"] for s in planned["sources"]} == {"builtin:arithmetic": 16}
        assert client.preview_project(project["id"])["sources"] == planned["sources"]
        with pytest.raises(TunewrightError) as info:
            client.wait_project(project["id"], timeout=5)
        assert info.value.status == 409 and "not been started" in info.value.message

        client.start_project(project["id"], priority="high")
        with pytest.raises(JobFailed) as failed:
            client.wait_project(project["id"], timeout=240, poll=0.5)
        assert "failed validation" in failed.value.message and failed.value.details[0]["path"] == "generate"

        assert client.update_project(project["id"], base_model=str(smollm2))["base_model"] == str(smollm2)
        started = client.start_project(project["id"])
        done = client.wait_project(project["id"], timeout=480, poll=0.5)
        assert done["status"] == "completed" and done["validation"]["passed"] is True, done["validation"]
        assert done["validation"]["session_id"] == started["session_id"]
        manifest = client.project_manifest(project["id"])
        assert manifest["totals"]["train_rows"] == 16 and manifest["sources"][0]["key"] == "builtin:arithmetic"
        again = client.validate_project(project["id"])
        assert again["passed"] is True and [c["name"] for c in again["checks"]][-1] == "generate"

        assert client.delete_project(project["id"]) == {"deleted": project["id"]}
        with pytest.raises(TunewrightError) as info:
            client.project(project["id"])
        assert info.value.status == 404
    finally:
        stop_server(server)
