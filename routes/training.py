"""Training API: start, stop, resume, inspect and delete sessions."""
from __future__ import annotations

from flask import Blueprint, jsonify, request

from core.tracking import describe_trackers
from core.training_config import TrainingConfig, default_config
from routes.contract import Responses, api
from routes.request_json import json_body
from routes.schemas.common import Deleted
from routes.schemas.training import (ConfigEnvelope, SessionDetail, SessionDetailQuery, SessionEnvelope, SessionList,
                                     SessionRef, StartTraining, Trackers)
from services import configs
from services.errors import ServiceError
from services.training import get_training_service

bp = Blueprint("training", __name__)


@bp.post("/start")
@api.validate(json=StartTraining, resp=Responses(HTTP_201=SessionEnvelope), tags=["training"])
def start():
    """Queue a training session from a config or a saved config's name."""
    data = json_body()
    config = configs.load(str(data["config_name"]), mark_used=True) if data.get("config_name") \
        else data.get("config", {})
    service = get_training_service()
    session = service.create(config, session_id=data.get("session_id"), priority=data.get("priority", "normal"))
    return jsonify(session=service.summary(session)), 201


@bp.post("/stop")
@api.validate(json=SessionRef, resp=Responses(HTTP_200=SessionEnvelope), tags=["training"])
def stop():
    """Ask a running session to save a checkpoint and stop (a queued one is dropped from the queue)."""
    service = get_training_service()
    return jsonify(session=service.summary(service.stop(str(json_body().get("session_id", "")))))


@bp.post("/resume")
@api.validate(json=SessionRef, resp=Responses(HTTP_200=SessionEnvelope), tags=["training"])
def resume():
    """Queue a stopped, failed or interrupted session again from its last checkpoint."""
    service = get_training_service()
    return jsonify(session=service.summary(service.resume(str(json_body().get("session_id", "")))))


@bp.get("/sessions")
@api.validate(resp=Responses(HTTP_200=SessionList), tags=["training"])
def sessions():
    """The caller's sessions, newest first."""
    return jsonify(sessions=get_training_service().list_sessions())


@bp.get("/sessions/<session_id>")
@api.validate(query=SessionDetailQuery, resp=Responses(HTTP_200=SessionDetail), tags=["training"])
def session(session_id: str):
    """Every metric row, or ``?max_points=N`` of them evenly spread (what the charts replay on join). Admins may
    read anyone's."""
    max_points = request.args.get("max_points", type=int)
    if max_points is not None and max_points < 2:
        raise ServiceError("max_points must be at least 2.")
    service = get_training_service()
    return jsonify(service.detail(service.get(session_id, admin_ok=True), max_points=max_points))


@bp.delete("/sessions/<session_id>")
@api.validate(resp=Responses(HTTP_200=Deleted), tags=["training"])
def delete(session_id: str):
    """Delete a session that is not running, with its metrics and output folder."""
    get_training_service().delete(session_id)
    return jsonify(deleted=session_id)


@bp.get("/defaults")
@api.validate(resp=Responses(HTTP_200=ConfigEnvelope), tags=["training"])
def defaults():
    """The default training config (the embedded model, GRPO)."""
    return jsonify(config=default_config())


@bp.get("/schema")
@api.validate(tags=["training"])
def schema():
    """The config's JSON Schema: the wizard builds its forms from it, so new fields appear with no template."""
    return jsonify(TrainingConfig.model_json_schema())


@bp.get("/trackers")
@api.validate(resp=Responses(HTTP_200=Trackers), tags=["training"])
def trackers():
    """The experiment trackers ``training.report_to`` accepts, each with whether it is installed on this server
    (the Config step offers the installed ones)."""
    return jsonify(trackers=describe_trackers())
