"""The `openai` package, pointed at a running studio's /v1 with a tw_ token, gets answers streamed and not
(accounts mode, a real server process, the bundled SmolLM2 GGUF served by its llama.cpp server child)."""
from __future__ import annotations

import shutil
import time
import uuid

import psutil
import pytest
import requests

from tests.live_server import start_server, stop_server

pytestmark = [pytest.mark.slow]
PASSWORD = "correct horse 1"


def _gguf_export(folder, owner_id: int) -> str:
    """A completed GGUF export row of the bundled model in the live server's database; returns its id."""
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from core.default_model import bundled_gguf_path
    from services.models.exports import ExportJob
    from services.models.training import TrainingSession

    session_id, export_id = uuid.uuid4().hex[:12], uuid.uuid4().hex[:12]
    target = folder / "exports" / session_id / export_id
    target.mkdir(parents=True)
    shutil.copy(bundled_gguf_path(), target / "SmolLM2-135M-Instruct-Q4_1.gguf")
    engine = create_engine(f"sqlite:///{folder / 'instance' / 'tunewright.db'}")
    with Session(engine) as db_session:
        db_session.add(TrainingSession(id=session_id, name="smol", config={}, status="completed", owner_id=owner_id,
                                       output_dir=str(folder / "outputs" / session_id), last_logs=[]))
        db_session.flush()
        db_session.add(ExportJob(id=export_id, session_id=session_id, owner_id=owner_id, format="gguf",
                                 status="completed", quantization="Q4_1", progress=1.0, export_dir=str(target),
                                 manifest={}))
        db_session.commit()
    engine.dispose()
    return export_id


@pytest.fixture(scope="module")
def accounts_server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("deploy-live")
    server = start_server(folder, TUNEWRIGHT_AUTH="accounts")
    yield server, folder
    stop_server(server)


def test_the_openai_client_gets_answers_streamed_and_not(accounts_server):
    from openai import NotFoundError, OpenAI

    server, folder = accounts_server
    user = requests.post(server.url + "/api/auth/register", timeout=30,
                         json={"username": "alice", "email": "alice@example.org", "password": PASSWORD}).json()
    jwt = requests.post(server.url + "/api/auth/token", json={"username": "alice", "password": PASSWORD},
                        timeout=30).json()["access_token"]
    made = requests.post(server.url + "/api/auth/tokens", json={"name": "deploy", "scopes": ["read", "deploy"]},
                         headers={"Authorization": f"Bearer {jwt}"}, timeout=30).json()
    token = made["token"]
    assert token.startswith("tw_")
    auth = {"Authorization": f"Bearer {token}"}
    export_id = _gguf_export(folder, user["id"])
    registered = requests.post(server.url + "/api/registry/register", json={"export_id": export_id, "name": "smol"},
                               headers={"Authorization": f"Bearer {jwt}"}, timeout=60)  # registering: 'train'
    assert registered.status_code == 201, registered.text
    deployed = requests.post(server.url + "/api/registry/models/smol/versions/1/deploy", headers=auth, timeout=300)
    assert deployed.status_code == 200, deployed.text

    client = OpenAI(base_url=server.url + "/v1", api_key=token, max_retries=0, timeout=120)
    assert [m.id for m in client.models.list().data] == ["smol:v1"]
    messages = [{"role": "user", "content": "Say hello."}]
    reply = client.chat.completions.create(model="smol", messages=messages, max_tokens=48, temperature=0)
    text = reply.choices[0].message.content
    assert text and reply.model == "smol:v1" and reply.choices[0].finish_reason == "stop"
    assert reply.usage.completion_tokens > 0

    pieces, finish = [], None
    with client.chat.completions.create(model="smol:v1", messages=messages, max_tokens=48, temperature=0,
                                        stream=True) as stream:
        for chunk in stream:
            if chunk.choices:
                pieces.append(chunk.choices[0].delta.content or "")
                finish = chunk.choices[0].finish_reason or finish
    assert "".join(pieces) == text and finish == "stop"  # greedy: the stream is the same answer, in pieces
    assert len([p for p in pieces if p]) > 1

    with pytest.raises(NotFoundError):
        client.chat.completions.create(model="nobody-has-this", messages=messages, max_tokens=8)
    anonymous = requests.post(server.url + "/v1/chat/completions", json={"model": "smol", "messages": messages},
                              timeout=30)
    assert anonymous.status_code == 401  # accounts mode: /v1 needs a token (or a browser session)

    # A studio that dies without cleaning up (SIGKILL) leaves no model server behind: the child watches its parent.
    child = psutil.Process(deployed.json()["version"]["deployment"]["pid"])
    server.process.kill()
    server.process.wait()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and child.is_running() and child.status() != psutil.STATUS_ZOMBIE:
        time.sleep(0.2)
    assert not child.is_running() or child.status() == psutil.STATUS_ZOMBIE
