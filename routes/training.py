"""Training API: start, stop, resume, inspect and delete sessions."""
from __future__ import annotations

import json

from flask import Blueprint, current_app, jsonify, request

from core.training_config import default_config
from routes.request_json import json_body
from services.errors import NotFoundError, ServiceError
from services.storage import resolve_inside, safe_filename
from services.training import get_training_service
from services.training.records import session_detail, session_summary

bp = Blueprint("training", __name__)


def _saved_config(name: str) -> dict:
    if len(name) > 200:
        raise ServiceError("A saved config name has at most 200 characters.")
    path = resolve_inside(current_app.config["CONFIG_FOLDER"], safe_filename(name) + ".json")
    if not path.is_file():
        raise NotFoundError(f"No saved config named {name!r}.")
    return json.loads(path.read_text())


@bp.post("/start")
def start():
    data = json_body()
    config = _saved_config(str(data["config_name"])) if data.get("config_name") else data.get("config", {})
    session = get_training_service().create(config, session_id=data.get("session_id"),
                                            priority=data.get("priority", "normal"))
    return jsonify(session=session_summary(session)), 201


@bp.post("/stop")
def stop():
    session = get_training_service().stop(str(json_body().get("session_id", "")))
    return jsonify(session=session_summary(session))


@bp.post("/resume")
def resume():
    session = get_training_service().resume(str(json_body().get("session_id", "")))
    return jsonify(session=session_summary(session))


@bp.get("/sessions")
def sessions():
    return jsonify(sessions=get_training_service().list_sessions())


@bp.get("/sessions/<session_id>")
def session(session_id: str):
    """Every metric row, or ``?max_points=N`` of them evenly spread (what the charts replay on join)."""
    max_points = request.args.get("max_points", type=int)
    if max_points is not None and max_points < 2:
        raise ServiceError("max_points must be at least 2.")
    return jsonify(session_detail(get_training_service().get(session_id), max_points=max_points))


@bp.delete("/sessions/<session_id>")
def delete(session_id: str):
    get_training_service().delete(session_id)
    return jsonify(deleted=session_id)


@bp.get("/defaults")
def defaults():
    return jsonify(config=default_config())
