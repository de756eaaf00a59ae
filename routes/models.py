"""Models API: the catalogue and everything trained or exported (``/list``), and the Test step's generation:
``/test``, ``/compare``, ``/batch``, ``/evaluate``, ``/history``."""
from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request

from routes.contract import Responses, api
from routes.request_json import json_body
from routes.schemas.models import (ModelBatchEnvelope, ModelBatchForm, ModelBatchQuery, ModelBatchRequest,
                                   ModelCatalogue, ModelCompareRequest, ModelCompareResult, ModelEvaluationEnvelope,
                                   ModelEvaluationList, ModelEvaluationsQuery, ModelHistory, ModelHistoryQuery,
                                   ModelTestRequest, ModelTestResult)
from services.evaluation import (EvaluateRequest, batch_csv, batch_dict, evaluation_dict, get_batch_service,
                                 get_evaluation_service)
from services.model_catalog import list_models
from services.playground import get_playground

bp = Blueprint("models", __name__)


@bp.get("/list")
@api.validate(resp=Responses(HTTP_200=ModelCatalogue), tags=["models"])
def list_():
    """The base-model catalogue and every model the Test step can try.

    ``models``: the base-model catalogue (as before, each with ``kind: base``); ``testable``: every model the
    Test step can pick (base, session, checkpoint, export-gguf, export-merged) with its ``id``."""
    catalogue = [{**m, "kind": "base", "model_id": f"base:{m['id']}"}
                 for m in list_models(current_app.config["MODEL_CACHE"])]
    testable = get_playground().list_models()
    return jsonify(models=catalogue, testable=testable,
                   sessions=[m for m in testable if m["kind"] in ("session", "checkpoint")],
                   exports=[m for m in testable if m["kind"].startswith("export-")])


@bp.post("/test")
@api.validate(json=ModelTestRequest, resp=Responses(HTTP_200=ModelTestResult), tags=["models"])
def test():
    """Answer one prompt with a model (stored in the test history)."""
    return jsonify(get_playground().test(json_body()))


@bp.post("/compare")
@api.validate(json=ModelCompareRequest, resp=Responses(HTTP_200=ModelCompareResult), tags=["models"])
def compare():
    """Answer one prompt with two models and the same settings (default: a session's base and its fine-tune)."""
    return jsonify(get_playground().compare(json_body()))


@bp.get("/history")
@api.validate(query=ModelHistoryQuery, resp=Responses(HTTP_200=ModelHistory), tags=["models"])
def history():
    """Your recent test and compare runs, newest first."""
    return jsonify(runs=get_playground().history(request.args.get("limit", 50), request.args.get("model_id")))


@bp.post("/batch")
@api.validate(json=ModelBatchRequest, form=ModelBatchForm, resp=Responses(HTTP_202=ModelBatchEnvelope),
              tags=["models"])
def batch():
    """Run many prompts through a model in the background: a list, text, an uploaded file or held-out rows.

    JSON {model_id, prompts: [..] | text, filename?, dataset_split?, n?, temperature, …} or a multipart upload
    (``file`` plus the same fields as form values)."""
    if request.files.get("file"):
        upload = request.files["file"]
        data = {**request.form.to_dict(), "text": upload.read().decode("utf-8", "replace"),
                "filename": upload.filename or ""}
    else:
        data = json_body()
    return jsonify(batch=batch_dict(get_batch_service().create(data))), 202


@bp.get("/batch/<batch_id>")
@api.validate(query=ModelBatchQuery, resp=Responses(HTTP_200=ModelBatchEnvelope), tags=["models"])
def batch_status(batch_id: str):
    """A batch run with its results so far (?format=csv: the results as a CSV file)."""
    run = get_batch_service().get(batch_id, admin_ok=True)
    if request.args.get("format") == "csv":
        return Response(batch_csv(run), mimetype="text/csv",
                        headers={"Content-Disposition": f'attachment; filename="batch-{run.id}.csv"'})
    return jsonify(batch=batch_dict(run))


@bp.delete("/batch/<batch_id>")
@api.validate(resp=Responses(HTTP_204=None), tags=["models"])
def batch_delete(batch_id: str):
    """Delete a finished batch run."""
    get_batch_service().delete(batch_id)
    return "", 204


@bp.post("/evaluate")
@api.validate(json=EvaluateRequest, resp=Responses(HTTP_202=ModelEvaluationEnvelope), tags=["models"])
def evaluate():
    """Score a fine-tune against its base on held-out rows, in the background.

    JSON {session_id, n (2-500), max_tokens?, reward?}: scored with the session's own reward unless given."""
    return jsonify(evaluation=evaluation_dict(get_evaluation_service().create(json_body()))), 202


@bp.get("/evaluations")
@api.validate(query=ModelEvaluationsQuery, resp=Responses(HTTP_200=ModelEvaluationList), tags=["models"])
def evaluations():
    """A session's evaluations, newest first."""
    return jsonify(evaluations=get_evaluation_service().list(str(request.args.get("session_id", ""))))


@bp.get("/evaluations/<int:evaluation_id>")
@api.validate(resp=Responses(HTTP_200=ModelEvaluationEnvelope), tags=["models"])
def evaluation(evaluation_id: int):
    """An evaluation with its result once completed (admins may read anyone's)."""
    return jsonify(evaluation=evaluation_dict(get_evaluation_service().get(evaluation_id, admin_ok=True)))


@bp.delete("/evaluations/<int:evaluation_id>")
@api.validate(resp=Responses(HTTP_204=None), tags=["models"])
def evaluation_delete(evaluation_id: int):
    """Delete a finished evaluation."""
    get_evaluation_service().delete(evaluation_id)
    return "", 204
