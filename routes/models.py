"""Models API: the catalogue and everything trained or exported (``/list``), and the Test step's generation:
``/test``, ``/compare``, ``/batch``, ``/evaluate``, ``/history``."""
from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request

from routes.request_json import json_body
from services.evaluation import batch_csv, batch_dict, evaluation_dict, get_batch_service, get_evaluation_service
from services.model_catalog import list_models
from services.playground import get_playground

bp = Blueprint("models", __name__)


@bp.get("/list")
def list_():
    """``models``: the base-model catalogue (as before, each with ``kind: base``); ``testable``: every model the
    Test step can pick (base, session, checkpoint, export-gguf, export-merged) with its ``id``."""
    catalogue = [{**m, "kind": "base", "model_id": f"base:{m['id']}"}
                 for m in list_models(current_app.config["MODEL_CACHE"])]
    testable = get_playground().list_models()
    return jsonify(models=catalogue, testable=testable,
                   sessions=[m for m in testable if m["kind"] in ("session", "checkpoint")],
                   exports=[m for m in testable if m["kind"].startswith("export-")])


@bp.post("/test")
def test():
    return jsonify(get_playground().test(json_body()))


@bp.post("/compare")
def compare():
    return jsonify(get_playground().compare(json_body()))


@bp.get("/history")
def history():
    return jsonify(runs=get_playground().history(request.args.get("limit", 50), request.args.get("model_id")))


@bp.post("/batch")
def batch():
    """JSON {model_id, prompts: [..] | text, filename?, dataset_split?, n?, temperature, …} or a multipart upload
    (``file`` plus the same fields as form values)."""
    if request.files.get("file"):
        upload = request.files["file"]
        data = {**request.form.to_dict(), "text": upload.read().decode("utf-8", "replace"),
                "filename": upload.filename or ""}
    else:
        data = json_body()
    return jsonify(batch=batch_dict(get_batch_service().create(data))), 202


@bp.get("/batch/<batch_id>")
def batch_status(batch_id: str):
    run = get_batch_service().get(batch_id, admin_ok=True)
    if request.args.get("format") == "csv":
        return Response(batch_csv(run), mimetype="text/csv",
                        headers={"Content-Disposition": f'attachment; filename="batch-{run.id}.csv"'})
    return jsonify(batch=batch_dict(run))


@bp.delete("/batch/<batch_id>")
def batch_delete(batch_id: str):
    get_batch_service().delete(batch_id)
    return "", 204


@bp.post("/evaluate")
def evaluate():
    """JSON {session_id, n (2-500), max_tokens?, reward?}: scored with the session's own reward unless given."""
    return jsonify(evaluation=evaluation_dict(get_evaluation_service().create(json_body()))), 202


@bp.get("/evaluations")
def evaluations():
    return jsonify(evaluations=get_evaluation_service().list(str(request.args.get("session_id", ""))))


@bp.get("/evaluations/<int:evaluation_id>")
def evaluation(evaluation_id: int):
    return jsonify(evaluation=evaluation_dict(get_evaluation_service().get(evaluation_id, admin_ok=True)))


@bp.delete("/evaluations/<int:evaluation_id>")
def evaluation_delete(evaluation_id: int):
    get_evaluation_service().delete(evaluation_id)
    return "", 204
