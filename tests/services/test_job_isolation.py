"""Per-user isolation of jobs where the id travels in the BODY (the URL-map walk in tests/isolation covers ids in
URLs), plus what lists show, what admins may do, and where new files go."""
from __future__ import annotations

import pytest

from tests.auth_helpers import accounts_app, acting_as, add_user, bearer  # noqa: F401  (fixture)
from tests.isolation.cases_jobs import _export, _session

pytestmark = pytest.mark.db


@pytest.fixture
def people(accounts_app):
    app = accounts_app
    a, b = add_user(app, "alice"), add_user(app, "bob")
    admin = add_user(app, "root", role="admin")
    return app, {"a": bearer(app, a), "b": bearer(app, b), "admin": bearer(app, admin), "ids": (a, b, admin)}


def _status(client, method, url, headers, body=None):
    response = client.open(url, method=method, json=body, headers=headers)
    return response.status_code, response.get_json(silent=True)


@pytest.mark.parametrize("path, body", [
    ("/api/training/stop", lambda sid, eid: {"session_id": sid}),
    ("/api/training/resume", lambda sid, eid: {"session_id": sid}),
    ("/api/exports/create", lambda sid, eid: {"session_id": sid, "format": "adapter"}),
    ("/api/models/test", lambda sid, eid: {"session_id": sid, "prompt": "hi"}),
    ("/api/models/test", lambda sid, eid: {"model_id": f"session:{sid}", "prompt": "hi"}),
    ("/api/models/test", lambda sid, eid: {"model_id": f"session:{sid}:checkpoint-1", "prompt": "hi"}),
    ("/api/models/test", lambda sid, eid: {"model_id": f"export:{eid}", "prompt": "hi"}),
    ("/api/models/compare", lambda sid, eid: {"session_id": sid, "prompt": "hi"}),
    ("/api/models/compare", lambda sid, eid: {"model_ids": [f"session:{sid}", f"export:{eid}"], "prompt": "hi"}),
    ("/api/models/batch", lambda sid, eid: {"model_id": f"session:{sid}", "prompts": ["hi"]}),
    ("/api/models/batch", lambda sid, eid: {"model_id": f"export:{eid}", "prompts": ["hi"]}),
    ("/api/models/batch", lambda sid, eid: {"session_id": sid, "dataset_split": "test", "n": 2}),
    ("/api/models/evaluate", lambda sid, eid: {"session_id": sid, "n": 2}),
])
def test_another_users_session_or_export_in_a_body_is_404(people, path, body):
    app, who = people
    a = who["ids"][0]
    sid = _session(app, a, status="stopped")
    eid = _export(app, a, "completed", format="merged")
    client = app.test_client()
    status, answer = _status(client, "POST", path, who["b"], body(sid, eid))
    assert status == 404, answer
    # The owner is not refused as a stranger: A's stopped session has no weights, so A hears 409 (and a stop of a
    # stopped session is a 409 too). (A resume would queue A's session for real; an export reference would start generating:
    # test_an_export_reference_resolves_for_its_owner_only covers that.)
    if path != "/api/training/resume" and "export:" not in str(body(sid, eid)):
        status, answer = _status(client, "POST", path, who["a"], body(sid, eid))
        assert status == 409, (status, answer)


def test_an_export_reference_resolves_for_its_owner_only(people):
    from services.errors import NotFoundError
    from services.playground import get_playground

    app, who = people
    a, b, admin = who["ids"]
    eid = _export(app, a, "completed", format="merged")
    for user in (b, admin):
        ctx = acting_as(app, user)
        try:
            with pytest.raises(NotFoundError):
                get_playground().resolve(f"export:{eid}")
        finally:
            ctx.pop()
    ctx = acting_as(app, a)
    try:
        assert get_playground().resolve(f"export:{eid}")["kind"] == "export-merged"
    finally:
        ctx.pop()


def test_a_missing_session_and_another_users_answer_alike(people):
    app, who = people
    sid = _session(app, who["ids"][0])
    client = app.test_client()
    theirs = client.get(f"/api/training/sessions/{sid}", headers=who["b"])
    missing = client.get("/api/training/sessions/nosuchsession", headers=who["b"])
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json["error"].replace(sid, "X") == missing.json["error"].replace("nosuchsession", "X")


def test_lists_show_only_the_callers_jobs_admins_included(people):
    app, who = people
    a, b, admin = who["ids"]
    mine, theirs = _session(app, a, status="queued"), _session(app, b, status="queued")
    export = _export(app, a, "completed")
    client = app.test_client()
    for headers, visible, hidden in ((who["a"], mine, theirs), (who["b"], theirs, mine), (who["admin"], None, mine)):
        listed = {s["id"] for s in client.get("/api/training/sessions", headers=headers).json["sessions"]}
        overview = client.get("/api/sessions", headers=headers).json
        jobs = {j["id"] for j in client.get("/api/v1/jobs", headers=headers).json["jobs"]}
        queue = {q["session_id"] for q in overview["queue"]}
        for ids in (listed, {s["id"] for s in overview["sessions"]}, jobs, queue):
            assert hidden not in ids and (visible is None or visible in ids)
        exports = {e["id"] for e in client.get("/api/exports/list", headers=headers).json["exports"]}
        assert (export in exports) == (headers is who["a"])
        testable = client.get("/api/models/list", headers=headers).json["testable"]
        assert not any(m.get("session_id") == mine for m in testable if headers is not who["a"])
    # Queue positions count everyone's queued sessions (they share the devices), rows show only one's own.
    queue = client.get("/api/sessions", headers=who["b"]).json["queue"]
    assert [q["session_id"] for q in queue] == [theirs] and queue[0]["owner_id"] == b


def test_admins_read_and_stop_anything_but_never_change_it(people):
    app, who = people
    a = who["ids"][0]
    done, queued = _session(app, a), _session(app, a, status="queued")
    failed_export = _export(app, a, "failed")
    queued_export = _export(app, a, "queued")
    client, admin = app.test_client(), who["admin"]
    assert client.get(f"/api/training/sessions/{done}", headers=admin).status_code == 200
    assert client.get(f"/api/v1/jobs/{done}/status", headers=admin).status_code == 200
    assert client.get(f"/sessions/{done}", headers=admin).status_code == 200
    assert client.get(f"/api/rewards/health/{done}", headers=admin).status_code == 200
    assert client.get(f"/api/exports/{failed_export}", headers=admin).status_code == 200
    # never: delete, rename, deploy, download, export, resume, retry, RAG, test another user's things
    for method, url, body in [
        ("DELETE", f"/api/training/sessions/{done}", None), ("PATCH", f"/api/sessions/{done}", {"name": "x"}),
        ("GET", f"/api/sessions/{done}/deployment", None), ("GET", f"/api/v1/jobs/{done}/deployment", None),
        ("GET", f"/api/v1/jobs/{done}/download", None), ("POST", "/api/exports/create",
                                                         {"session_id": done, "format": "adapter"}),
        ("POST", "/api/training/resume", {"session_id": done}), ("POST", f"/api/exports/{failed_export}/retry", {}),
        ("DELETE", f"/api/exports/{failed_export}", None), ("POST", "/api/models/test",
                                                            {"session_id": done, "prompt": "hi"}),
    ]:
        assert _status(client, method, url, admin, body)[0] == 404, (method, url)
    # stop / cancel: yes
    status, answer = _status(client, "POST", "/api/training/stop", admin, {"session_id": queued})
    assert status == 200 and answer["session"]["status"] == "stopped"
    status, answer = _status(client, "POST", f"/api/exports/{queued_export}/cancel", admin, {})
    assert status in (200, 409), answer  # 409: the export queue failed it first (it has no weights)


def test_new_sessions_and_exports_live_in_their_owners_folders(people, tiny_model_dir):
    from pathlib import Path

    from tests.training_helpers import tiny_config

    app, who = people
    a = who["ids"][0]
    client = app.test_client()
    config = tiny_config(tiny_model_dir, pre_training={"enabled": False})
    response = client.post("/api/training/start", json={"config": config}, headers=who["a"])
    assert response.status_code == 201, response.json
    session = response.json["session"]
    assert session["owner_id"] == a
    assert Path(session["output_dir"]).parent == Path(app.config["OUTPUT_FOLDER"]).resolve() / f"u{a}"
    client.post("/api/training/stop", json={"session_id": session["id"]}, headers=who["a"])
    app.extensions["tunewright.training"].shutdown()

    done = _session(app, a)
    ctx = acting_as(app, a)
    try:
        from extensions import db
        from services.exports import get_export_service
        from services.models.training import TrainingSession

        row = db.session.get(TrainingSession, done)
        (Path(row.output_dir) / "adapter").mkdir()
        (Path(row.output_dir) / "adapter" / "adapter_config.json").write_text("{}", encoding="utf-8")
        (Path(row.output_dir) / "adapter" / "adapter_model.safetensors").write_bytes(b"")
        job = get_export_service().create(done, "adapter")
        assert job.owner_id == a
        assert Path(job.export_dir).parent.parent == Path(app.config["EXPORT_FOLDER"]).resolve() / f"u{a}"
        get_export_service().shutdown()
    finally:
        ctx.pop()


def test_a_session_cannot_train_on_another_users_dataset(people, tiny_model_dir):
    from extensions import db
    from services.models.datasets import DatasetRecord
    from tests.training_helpers import tiny_config

    app, who = people
    a = who["ids"][0]
    with app.app_context():
        record = DatasetRecord(name="alice's", owner_id=a, source_kind="upload", format="jsonl",
                               status="processing")
        db.session.add(record)
        db.session.commit()
        dataset_id = record.id
    config = tiny_config(tiny_model_dir, dataset={"source": f"dataset:{dataset_id}"})
    client = app.test_client()
    theirs = client.post("/api/training/start", json={"config": config}, headers=who["b"])
    assert theirs.status_code == 404, theirs.json
    job = client.post("/api/v1/jobs", json={"dataset_id": dataset_id, "model_name": str(tiny_model_dir)},
                      headers=who["b"])
    assert job.status_code == 404, job.json
    own = client.post("/api/training/start", json={"config": config}, headers=who["a"])
    assert own.status_code == 400 and "processing" in own.json["error"]  # A's own: refused for its state only


def test_a_model_path_into_another_users_folder_is_404(people):
    from pathlib import Path

    app, who = people
    a = who["ids"][0]
    sid = _session(app, a)
    with app.app_context():
        from extensions import db
        from services.models.training import TrainingSession

        folder = Path(db.session.get(TrainingSession, sid).output_dir) / "merged"
    folder.mkdir()
    (folder / "config.json").write_text("{}", encoding="utf-8")
    for headers in (who["b"], who["admin"]):
        ctx = acting_as(app, who["ids"][1] if headers is who["b"] else who["ids"][2])
        try:
            from services.errors import NotFoundError
            from services.playground import get_playground

            with pytest.raises(NotFoundError):
                get_playground().resolve(model_path=str(folder))
        finally:
            ctx.pop()
    ctx = acting_as(app, a)
    try:
        from services.playground import get_playground

        assert get_playground().resolve(model_path=str(folder))["spec"]["path"] == str(folder.resolve())
    finally:
        ctx.pop()
