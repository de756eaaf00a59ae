"""Isolation cases for jobs and their results: training sessions, the job API, exports, batch runs, evaluations,
RAG indexes and reward health. Each ``make`` writes A's rows directly (and the folders a route reads)."""
from __future__ import annotations

import json
import uuid

from tests.isolation.registry import case


def _session(app, owner_id: int, *, status: str = "completed", method: str | None = None) -> str:
    from core.training_config import default_config
    from extensions import db
    from services.auth.folders import owner_folder
    from services.models.training import TrainingSession

    with app.app_context():
        session_id = uuid.uuid4().hex[:12]
        config = default_config()
        config["model"]["name"] = "example-org/tiny-model"  # not the bundled model: nothing to prepare
        if method:
            config["method"] = method
        folder = owner_folder(app.config["OUTPUT_FOLDER"], owner_id) / session_id
        folder.mkdir(parents=True)
        db.session.add(TrainingSession(id=session_id, name=f"run {session_id}", config=config, status=status,
                                       priority=1, owner_id=owner_id, output_dir=str(folder), last_logs=[]))
        db.session.commit()
        return session_id


def session_id(app, owner_id):
    return {"session_id": _session(app, owner_id)}


def rag_session_id(app, owner_id):
    return {"session_id": _session(app, owner_id, method="rag")}


def job_id(app, owner_id):
    return {"job_id": _session(app, owner_id)}


def running_job_id(app, owner_id):
    return {"job_id": _session(app, owner_id, status="queued")}


def _export(app, owner_id: int, status: str, format: str = "adapter") -> str:
    """A's export row; a completed one has its folder, manifest and one file (so a download streams)."""
    from extensions import db
    from services.auth.folders import owner_folder
    from services.models.exports import ExportJob

    sid = _session(app, owner_id)
    with app.app_context():
        export_id = uuid.uuid4().hex[:12]
        folder = owner_folder(app.config["EXPORT_FOLDER"], owner_id) / sid / export_id
        manifest = None
        if status == "completed":
            folder.mkdir(parents=True)
            manifest = {"files": [{"name": "README.md"}], "size": 5}
            (folder / "README.md").write_text("hello", encoding="utf-8")
            (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
        db.session.add(ExportJob(id=export_id, session_id=sid, owner_id=owner_id, format=format, status=status,
                                 progress=1.0 if manifest else 0.0, manifest=manifest, export_dir=str(folder)))
        db.session.commit()
        return export_id


def completed_export(app, owner_id):
    return {"export_id": _export(app, owner_id, "completed")}


def failed_export(app, owner_id):
    return {"export_id": _export(app, owner_id, "failed")}


def queued_export(app, owner_id):
    return {"export_id": _export(app, owner_id, "queued")}


def batch_id(app, owner_id):
    from extensions import db
    from services.models.exports import BatchRun

    with app.app_context():
        run = BatchRun(id=uuid.uuid4().hex[:12], owner_id=owner_id, model_id="base:x", status="completed", total=1,
                       done=1, settings={}, results=[{"index": 0, "prompt": "p", "output": "o"}])
        db.session.add(run)
        db.session.commit()
        return {"batch_id": run.id}


def evaluation_id(app, owner_id):
    from extensions import db
    from services.models.exports import Evaluation

    sid = _session(app, owner_id)
    with app.app_context():
        row = Evaluation(session_id=sid, owner_id=owner_id, status="completed", reward={}, n=2,
                         result={"verdict": "no clear difference"})
        db.session.add(row)
        db.session.commit()
        return {"evaluation_id": row.id}


# Training sessions and their pages
case("training.session", session_id)
case("training.delete", session_id, methods=("DELETE",))
case("sessions.update", session_id, methods=("PATCH",), body={"name": "taken over"})
case("sessions.deploy", session_id)
case("session_pages.detail", session_id)
case("rewards.health", session_id)

# RAG over a session's index: A's session has none yet (409), B's answer is the 404 of a missing session
case("rag.ask", rag_session_id, methods=("POST",), body={"query": "what?"}, owner_statuses=(409,))
case("rag.retrieve", rag_session_id, methods=("POST",), body={"query": "what?"}, owner_statuses=(409,))
case("rag.add_documents", rag_session_id, methods=("POST",), body={"documents": ["a text"]}, owner_statuses=(409,))

# The job API (jobs are sessions)
case("api_v1_jobs.get", job_id)
case("api_v1_jobs.status", job_id)
case("api_v1_jobs.deploy", job_id)
case("api_v1_jobs.download", job_id, owner_statuses=(409,))  # completed, but no weights were written
case("api_v1_jobs.cancel", running_job_id, methods=("POST",))

# Exports
case("exports.detail", completed_export)
case("exports.download", completed_export)
case("exports.delete", completed_export, methods=("DELETE",))
case("exports.retry", failed_export, methods=("POST",))
case("exports.cancel", queued_export, methods=("POST",), owner_statuses=(409,))  # the queue may have failed it

# Batch runs and evaluations of the Test step
case("models.batch_status", batch_id)
case("models.batch_delete", batch_id, methods=("DELETE",))
case("models.evaluation", evaluation_id)
case("models.evaluation_delete", evaluation_id, methods=("DELETE",))

