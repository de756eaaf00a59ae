"""Deploying registry versions for real: llama.cpp server children for the bundled SmolLM2 GGUF, the inference
worker for a transformers model, the OpenAI wire format on /v1, queue bounds, eviction and memory."""
from __future__ import annotations

import json
import os
import signal
import time

import psutil
import pytest

from tests.auth_helpers import accounts_config, add_user, bearer, close_app
from tests.deploy_fixtures import broken_template_version, gguf_version, prepared_smollm2, transformers_version
from tests.helpers import reset_database

pytestmark = [pytest.mark.db, pytest.mark.slow]
ASK = {"messages": [{"role": "user", "content": "What is the capital of France?"}], "max_tokens": 48,
       "temperature": 0}


@pytest.fixture
def make_app(tmp_path):
    apps = []

    def make(**overrides):
        from app_factory import create_app

        config = accounts_config(tmp_path / f"app{len(apps)}", **overrides)
        if not apps:
            reset_database(config["SQLALCHEMY_DATABASE_URI"])
        app = create_app(config)
        apps.append(app)
        return app

    yield make
    for app in apps:
        close_app(app)


def deploy_url(v: dict, action: str = "deploy") -> str:
    return f"/api/registry/models/{v['name']}/versions/{v['version']}/{action}"


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_deploy_serves_the_gguf_and_undeploy_frees_its_memory(make_app):
    app = make_app()
    owner = add_user(app, "alice")
    headers = bearer(app, owner)
    client = app.test_client()
    v = gguf_version(app, owner)

    answer = client.post(deploy_url(v), headers=headers)
    assert answer.status_code == 200, answer.json
    version = answer.json["version"]
    assert version["status"] == "deployed" and version["status_reason"] is None
    smoke = version["deployment"]["smoke"]
    assert smoke["ok"] and smoke["finish_reason"] == "stop" and smoke["answer"]
    assert version["deployment"]["backend"] == "llama.cpp server"

    deployer = app.extensions["tunewright.deploy"]
    child = psutil.Process(deployer.pid_of(v["id"]))
    resident_bytes = child.memory_info().rss
    assert resident_bytes > 80 * 1024**2  # the 98 MB model lives in the child, not in the studio

    listed = client.get("/v1/models", headers=headers).json
    assert [m["id"] for m in listed["data"]] == ["smol:v1"] and listed["object"] == "list"
    reply = client.post("/v1/chat/completions", headers=headers, json={"model": "smol", **ASK})
    assert reply.status_code == 200, reply.json
    whole = reply.json["choices"][0]["message"]["content"]
    assert reply.json["model"] == "smol:v1" and len(whole) > 10
    assert reply.json["choices"][0]["finish_reason"] == "stop"

    streamed = client.post("/v1/chat/completions", headers=headers, json={"model": "smol@missing", **ASK})
    assert streamed.status_code == 404 and streamed.json["error"]["code"] == "model_not_found"
    streamed = client.post("/v1/chat/completions", headers=headers, json={"model": "smol:v1", "stream": True, **ASK})
    assert streamed.status_code == 200 and streamed.mimetype == "text/event-stream"
    events = [line[6:] for line in streamed.get_data(as_text=True).split("\n\n") if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert all(c["model"] == "smol:v1" and c["object"] == "chat.completion.chunk" for c in chunks)  # no file path
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks) == whole  # greedy: same answer

    too_many = client.post("/v1/chat/completions", headers=headers, json={**ASK, "model": "smol", "max_tokens": 10**6})
    assert too_many.status_code == 400 and too_many.json["error"]["param"] == "max_tokens"

    with app.app_context():
        stats = deployer.stats_for(v["id"])
    assert stats["requests"] == 2 and stats["errors"] == 0 and stats["resident"] and stats["queued"] == 0
    assert stats["p50_ms"] > 0 and stats["p95_ms"] >= stats["p50_ms"] and stats["ttft_p50_ms"] > 0
    [shown] = client.get("/api/dashboard", headers=headers).json["deployed"]  # the dashboard shows the same
    assert shown["ref"] == "smol:v1" and shown["stats"] == stats

    answer = client.post(deploy_url(v, "undeploy"), headers=headers)
    assert answer.status_code == 200 and answer.json["version"]["status"] == "ready"
    assert not psutil.pid_exists(child.pid) or child.status() == psutil.STATUS_ZOMBIE  # its memory is returned
    assert deployer.pid_of(v["id"]) is None
    assert client.get("/v1/models", headers=headers).json["data"] == []
    gone = client.post("/v1/chat/completions", headers=headers, json={"model": "smol", **ASK})
    assert gone.status_code == 404 and gone.json["error"]["type"] == "invalid_request_error"
    with app.app_context():
        assert deployer.stats_for(v["id"])["resident"] is False
        from extensions import db
        from services.models.auth import AuditEvent

        actions = [(e.action, e.target) for e in db.session.query(AuditEvent).order_by(AuditEvent.id)
                   if e.action.startswith("model.")]
    assert actions == [("model.deployed", "model:smol:v1"), ("model.undeployed", "model:smol:v1")]


def test_a_full_queue_is_429_and_other_users_models_are_404(make_app):
    app = make_app(DEPLOY_QUEUE_SIZE=1)
    alice, bob = add_user(app, "alice"), add_user(app, "bob")
    as_alice, as_bob = bearer(app, alice), bearer(app, bob)
    client = app.test_client()
    v = gguf_version(app, alice)
    assert client.post(deploy_url(v), headers=as_alice).status_code == 200

    # Bob: Alice's model does not exist for him, on /v1 and on the deploy routes alike.
    assert client.get("/v1/models", headers=as_bob).json["data"] == []
    refused = client.post("/v1/chat/completions", headers=as_bob, json={"model": "smol", **ASK})
    assert refused.status_code == 404 and refused.json["error"]["code"] == "model_not_found"
    assert client.post(deploy_url(v, "undeploy"), headers=as_bob).status_code == 404
    assert client.post(deploy_url(v), headers=as_bob).status_code == 404
    read_only = bearer(app, alice, ["read"])
    assert client.post(deploy_url(v, "undeploy"), headers=read_only).status_code == 403  # needs 'deploy'
    assert client.post("/v1/chat/completions", headers=read_only,
                       json={"model": "smol", **ASK, "max_tokens": 4}).status_code == 200  # read is enough

    # A stream holds the only place in the queue until it ends: the next request is refused at once.
    first = client.post("/v1/chat/completions", headers=as_alice, buffered=False,
                        json={"model": "smol", **ASK, "stream": True, "max_tokens": 200})
    assert first.status_code == 200
    busy = client.post("/v1/chat/completions", headers=as_alice, json={"model": "smol", **ASK})
    assert busy.status_code == 429 and busy.headers["Retry-After"].isdigit()
    assert busy.json["error"]["type"] == "rate_limit_error" and busy.json["error"]["code"] == "queue_full"
    with app.app_context():
        assert app.extensions["tunewright.deploy"].stats_for(v["id"])["queued"] == 1
    first.close()
    with app.app_context():
        assert app.extensions["tunewright.deploy"].stats_for(v["id"])["queued"] == 0
    again = client.post("/v1/chat/completions", headers=as_alice, json={"model": "smol", **ASK, "max_tokens": 8})
    assert again.status_code == 200, again.json


def test_the_least_recently_used_model_is_evicted_with_the_reason(make_app):
    app = make_app(MAX_DEPLOYED=1)
    alice, bob = add_user(app, "alice"), add_user(app, "bob")
    as_alice, as_bob = bearer(app, alice), bearer(app, bob)
    client = app.test_client()
    a, b = gguf_version(app, alice, "first"), gguf_version(app, bob, "second")
    assert client.post(deploy_url(a), headers=as_alice).status_code == 200
    deployer = app.extensions["tunewright.deploy"]
    a_pid = deployer.pid_of(a["id"])
    assert client.post(deploy_url(b), headers=as_bob).status_code == 200

    evicted = client.get(f"/api/registry/models/{a['name']}/versions/1", headers=as_alice).json
    assert evicted["status"] == "ready"
    assert evicted["status_reason"].startswith("evicted: second:v1 was deployed") and \
        "TUNEWRIGHT_MAX_DEPLOYED" in evicted["status_reason"]
    assert evicted["deployment"]["stopped"] == evicted["status_reason"]
    assert not psutil.pid_exists(a_pid) or psutil.Process(a_pid).status() == psutil.STATUS_ZOMBIE
    assert [r["ref"] for r in deployer.resident()] == ["second:v1"]


def test_a_dead_child_and_a_restart_never_leave_a_version_marked_deployed(make_app):
    app = make_app()
    alice = add_user(app, "alice")
    headers = bearer(app, alice)
    client = app.test_client()
    v = gguf_version(app, alice)
    assert client.post(deploy_url(v), headers=headers).status_code == 200
    os.kill(app.extensions["tunewright.deploy"].pid_of(v["id"]), signal.SIGKILL)

    def reported():
        row = client.get(f"/api/registry/models/smol/versions/1", headers=headers).json
        return row if row["status"] == "ready" else None

    row = wait_for(reported, 15, "the supervisor to report the dead child")
    assert row["status_reason"].startswith("stopped: its llama.cpp server exited with code")

    # A version recorded as deployed by a server that is gone: the next start-up says so.
    from extensions import db
    from services.deploy import mark_stale_deployments
    from services.models.registry import ModelVersion

    with app.app_context():
        db.session.get(ModelVersion, v["id"]).status = "deployed"
        db.session.commit()
    assert mark_stale_deployments(app) == 1
    row = client.get(f"/api/registry/models/smol/versions/1", headers=headers).json
    assert row["status"] == "ready" and "server restarted" in row["status_reason"]


def test_the_smoke_check_fails_on_a_broken_chat_template(make_app, tiny_model_dir):
    app = make_app()
    alice = add_user(app, "alice")
    headers = bearer(app, alice)
    client = app.test_client()
    v = broken_template_version(app, alice, tiny_model_dir)

    answer = client.post(deploy_url(v), headers=headers)
    assert answer.status_code == 422, answer.json
    assert "chat template did not render" in answer.json["error"] and "broken on purpose" in answer.json["error"]
    row = client.get(f"/api/registry/models/broken/versions/1", headers=headers).json
    assert row["status"] == "ready" and row["status_reason"].startswith("deploy failed: the chat template")
    smoke = row["deployment"]["smoke"]
    assert smoke["ok"] is False and smoke["stage"] == "template" and row["deployment"]["backend"] == "inference worker"
    assert app.extensions["tunewright.deploy"].resident() == []  # its worker was stopped
    assert client.get("/v1/models", headers=headers).json["data"] == []


def test_a_transformers_version_is_served_by_its_own_inference_worker(make_app):
    model_dir = prepared_smollm2()
    if model_dir is None:
        pytest.skip("the bundled model is not prepared in this checkout: `make model` (make test does it first)")
    app = make_app()
    alice = add_user(app, "alice")
    headers = bearer(app, alice)
    client = app.test_client()
    v = transformers_version(app, alice, model_dir)

    answer = client.post(deploy_url(v), headers=headers)
    assert answer.status_code == 200, answer.json
    deployment = answer.json["version"]["deployment"]
    assert deployment["backend"] == "inference worker" and deployment["smoke"]["finish_reason"] == "stop"
    deployer = app.extensions["tunewright.deploy"]
    worker = psutil.Process(deployer.pid_of(v["id"]))
    assert worker.memory_info().rss > 300 * 1024**2  # the fp32 weights (538 MB) live in the worker

    reply = client.post("/v1/chat/completions", headers=headers, json={**ASK, "model": "smolhf"})
    assert reply.status_code == 200, reply.json
    whole = reply.json["choices"][0]["message"]["content"]
    assert reply.json["model"] == "smolhf:v1" and "Paris" in whole
    assert reply.json["usage"]["completion_tokens"] > 0
    streamed = client.post("/v1/chat/completions", headers=headers, json={**ASK, "model": "smolhf", "stream": True})
    events = [line[6:] for line in streamed.get_data(as_text=True).split("\n\n") if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks) == whole  # greedy: same answer

    assert client.post(deploy_url(v, "undeploy"), headers=headers).status_code == 200
    wait_for(lambda: not psutil.pid_exists(worker.pid) or worker.status() == psutil.STATUS_ZOMBIE, 30,
             "the inference worker to end")


def test_a_rag_index_is_not_deployable(make_app):
    from extensions import db
    from services.models.registry import ModelVersion

    app = make_app()
    alice = add_user(app, "alice")
    headers = bearer(app, alice)
    v = gguf_version(app, alice, "index")
    with app.app_context():  # the registry's kind, as a RAG run's version has it
        row = db.session.get(ModelVersion, v["id"])
        row.type, row.framework = "rag_index", "faiss"
        db.session.commit()
    answer = app.test_client().post(deploy_url(v), headers=headers)
    assert answer.status_code == 409 and "RAG index" in answer.json["error"]


def test_the_inference_worker_writes_the_openai_wire_format(app, tiny_model_dir):
    """A transformers version's backend: the Test step's worker, one process of its own; the tiny random model
    never ends its answers, so every answer here stops at the token limit ("length")."""
    from core.deploy.wire import parse_chat_request
    from services.deploy.worker import WorkerModel

    backend = WorkerModel(app, "tiny:v1", {"kind": "hf", "path": str(tiny_model_dir)}, 2, "deploy-test.log")
    request = parse_chat_request({"model": "tiny", "temperature": 0, **{k: ASK[k] for k in ("messages",)}})
    try:
        whole = backend.complete(request, 6)
        assert whole["object"] == "chat.completion" and whole["model"] == "tiny:v1"
        assert whole["choices"][0]["finish_reason"] == "length" and whole["usage"]["prompt_tokens"] > 0
        pid = backend.pid
        assert pid is not None and psutil.Process(pid).memory_info().rss > 0
        events = [e.decode() for e in backend.stream(request, 6)]
        assert events[-1] == "data: [DONE]\n\n"
        chunks = [json.loads(e[6:]) for e in events[:-1]]
        assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
        assert chunks[-1]["choices"][0]["finish_reason"] == "length"
        assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks) == \
            whole["choices"][0]["message"]["content"]  # greedy: the stream is the same answer
    finally:
        backend.stop()
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def test_deleting_the_account_undeploys_and_deletes_its_versions(make_app):
    from extensions import db
    from services.auth.account import delete_account
    from services.models.auth import User
    from services.models.registry import ModelVersion
    from tests.auth_helpers import acting_as

    app = make_app()
    alice = add_user(app, "alice")
    v = gguf_version(app, alice)
    assert app.test_client().post(deploy_url(v), headers=bearer(app, alice)).status_code == 200
    pid = app.extensions["tunewright.deploy"].pid_of(v["id"])
    context = acting_as(app, alice)
    try:
        assert delete_account(db.session.get(User, alice), "alice") == {"deleted": "alice"}
        assert db.session.get(ModelVersion, v["id"]) is None
    finally:
        context.pop()
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
