"""Per-user tracker secrets: encrypted at rest, names only over the API, owner-scoped, and handed to a training
child's environment only, never to its config, job, logs or the database in clear."""
from __future__ import annotations

import base64
import json
import multiprocessing as mp
import os
import time
from pathlib import Path

import pytest
from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import select

from tests.auth_helpers import accounts_app, add_user, bearer  # noqa: F401  (fixture)
from tests.training_helpers import tiny_config

pytestmark = pytest.mark.db

KEY = "wandb-secret-value-0123456789"


def _rows(app):
    from extensions import db
    from services.models.auth import UserSecret

    with app.app_context():
        return [(r.owner_id, r.name, r.ciphertext) for r in db.session.execute(select(UserSecret)).scalars()]


def test_a_secret_is_stored_encrypted_and_only_its_name_comes_back(accounts_app):
    app = accounts_app
    owner = add_user(app, "alice")
    client, auth = app.test_client(), bearer(app, owner)
    put = client.put("/api/auth/secrets/WANDB_API_KEY", json={"value": KEY}, headers=auth)
    assert put.status_code == 200, put.json
    assert put.json["name"] == "WANDB_API_KEY" and put.json["trackers"] == ["wandb"]
    listed = client.get("/api/auth/secrets", headers=auth)
    assert [s["name"] for s in listed.json["secrets"]] == ["WANDB_API_KEY"]
    assert "HF_TOKEN" in [a["name"] for a in listed.json["allowed"]]
    for answer in (put, listed):
        assert KEY not in answer.get_data(as_text=True)
    [(owner_id, name, ciphertext)] = _rows(app)
    assert owner_id == owner and name == "WANDB_API_KEY" and KEY not in ciphertext

    from services.auth.secrets import fernet
    from services.auth.tokens import jwt_key

    with app.app_context():
        assert fernet().decrypt(ciphertext.encode()).decode() == KEY
        with pytest.raises(InvalidToken):  # a key derived from another SECRET_KEY reads nothing
            fernet("another server's secret key").decrypt(ciphertext.encode())
        with pytest.raises(InvalidToken):  # nor does the JWT key from the same SECRET_KEY: the labels differ
            Fernet(base64.urlsafe_b64encode(jwt_key())).decrypt(ciphertext.encode())

    # Replacing keeps one row, with a new ciphertext.
    assert client.put("/api/auth/secrets/WANDB_API_KEY", json={"value": "second"}, headers=auth).status_code == 200
    [(_, _, replaced)] = _rows(app)
    assert replaced != ciphertext


def test_another_user_neither_sees_nor_deletes_a_secret(accounts_app):
    app = accounts_app
    alice, bob = add_user(app, "alice"), add_user(app, "bob")
    client = app.test_client()
    assert client.put("/api/auth/secrets/WANDB_API_KEY", json={"value": KEY},
                      headers=bearer(app, alice)).status_code == 200
    as_bob = bearer(app, bob)
    assert client.get("/api/auth/secrets", headers=as_bob).json["secrets"] == []
    assert client.delete("/api/auth/secrets/WANDB_API_KEY", headers=as_bob).status_code == 404
    assert len(_rows(app)) == 1
    # Bob's own value with the same name is his, apart from Alice's.
    assert client.put("/api/auth/secrets/WANDB_API_KEY", json={"value": "bobs"}, headers=as_bob).status_code == 200
    assert sorted(r[0] for r in _rows(app)) == sorted([alice, bob])
    as_alice = bearer(app, alice)
    assert client.delete("/api/auth/secrets/WANDB_API_KEY", headers=as_alice).status_code == 200
    assert [r[0] for r in _rows(app)] == [bob]


@pytest.mark.parametrize("name, body", [("PATH", {"value": "x"}), ("WANDB_API_KEY", {"value": ""}),
                                        ("WANDB_API_KEY", {"value": "two\nlines"}), ("WANDB_API_KEY", {})])
def test_unknown_names_and_bad_values_are_400(accounts_app, name, body):
    app = accounts_app
    answer = app.test_client().put(f"/api/auth/secrets/{name}", json=body, headers=bearer(app, add_user(app, "a")))
    assert answer.status_code == 400 and answer.json["error"]
    assert _rows(app) == []


def test_secrets_need_accounts_mode(client):
    assert client.get("/api/auth/secrets").status_code == 404


def test_a_run_gets_only_the_secrets_of_the_trackers_it_asked_for(accounts_app):
    from services.auth.secrets import secrets_for_run
    from tests.auth_helpers import acting_as

    app = accounts_app
    alice = add_user(app, "alice")
    client, auth = app.test_client(), bearer(app, alice)
    client.put("/api/auth/secrets/WANDB_API_KEY", json={"value": KEY}, headers=auth)
    client.put("/api/auth/secrets/MLFLOW_TRACKING_PASSWORD", json={"value": "mlflow-pw"}, headers=auth)
    with app.app_context():
        assert secrets_for_run(alice, ["tensorboard"]) == {}
        assert secrets_for_run(alice, ["wandb"]) == {"WANDB_API_KEY": KEY}
        # Names the owner has not stored are unset in the child: never borrowed from the server's environment.
        assert secrets_for_run(alice, ["mlflow"]) == {"MLFLOW_TRACKING_PASSWORD": "mlflow-pw",
                                                      "MLFLOW_TRACKING_TOKEN": None,
                                                      "MLFLOW_TRACKING_USERNAME": None}
        assert secrets_for_run(None, ["wandb"]) == {}  # single mode: the server's environment is the user's
        from services.models.training import TrainingSession
        from services.training import get_training_service

        context = acting_as(app, alice)
        try:
            session = TrainingSession(id="s", name="s", owner_id=alice, output_dir="/nowhere",
                                      config={"training": {"report_to": ["wandb"]}})
            assert get_training_service()._child_env(session) == {"WANDB_API_KEY": KEY}
        finally:
            context.pop()


def _report_env(env, names, conn):
    from core.training.worker import apply_env

    apply_env(env)
    conn.send({name: os.environ.get(name) for name in names})


def test_the_child_process_environment_gets_and_drops_what_it_is_given(monkeypatch):
    """The same spawn start method and ``apply_env`` as the training child (core/training/worker.run_child)."""
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", "the server's own")
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    names = ["WANDB_API_KEY", "MLFLOW_TRACKING_TOKEN"]
    process = ctx.Process(target=_report_env, args=({"WANDB_API_KEY": KEY, "MLFLOW_TRACKING_TOKEN": None},
                                                    names, child))
    process.start()
    assert parent.poll(60)
    assert parent.recv() == {"WANDB_API_KEY": KEY, "MLFLOW_TRACKING_TOKEN": None}
    process.join(10)


@pytest.mark.slow
def test_a_run_with_secrets_stored_writes_them_nowhere(accounts_app, tiny_model_dir):
    """A real session (child process, tensorboard) by a user holding secrets: the stored config, the job the
    child got, every file of the run folder and the database rows hold no secret value."""
    from extensions import db
    from services.models.training import TrainingMetric, TrainingSession

    app = accounts_app
    alice = add_user(app, "alice")
    client, auth = app.test_client(), bearer(app, alice)
    for name in ("WANDB_API_KEY", "HF_TOKEN", "MLFLOW_TRACKING_PASSWORD"):
        assert client.put(f"/api/auth/secrets/{name}", json={"value": f"{KEY}-{name}"}, headers=auth).status_code == 200
    config = tiny_config(tiny_model_dir, training={"report_to": ["tensorboard"]},
                         pre_training={"enabled": False})
    started = client.post("/api/training/start", json={"config": config}, headers=auth)
    assert started.status_code == 201, started.json
    sid = started.json["session"]["id"]
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        detail = client.get(f"/api/training/sessions/{sid}", headers=auth).json
        if detail["session"]["status"] in ("completed", "failed"):
            break
        time.sleep(0.3)
    assert detail["session"]["status"] == "completed", detail["session"]["error"]
    out = Path(detail["session"]["output_dir"])
    assert list((out / "tensorboard" / "grpo").glob("events.out.tfevents.*"))
    with app.app_context():
        session = db.session.get(TrainingSession, sid)
        stored = [json.dumps(session.config), json.dumps(session.last_logs), str(session.error)]
        stored += [json.dumps(m.values) for m in db.session.execute(
            select(TrainingMetric).where(TrainingMetric.session_id == sid)).scalars()]
        from services.training import get_training_service

        stored.append(json.dumps(get_training_service()._job(session, "cpu")))
    files = [p.read_bytes() for p in out.rglob("*") if p.is_file()]
    assert files and any(b"train/loss" in f for f in files)  # the event files are among them
    for text in stored:
        assert KEY not in text
    for content in files:
        assert KEY.encode() not in content
