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

from clients import TunewrightClient, TunewrightError
from core.default_model import FOLDER_NAME, MARKER
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
