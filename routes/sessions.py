"""Session management API for the sidebar and the Sessions page: the overview list with filters and the queue,
rename and priority changes. Start/stop/resume/delete stay in the training blueprint."""
from __future__ import annotations

from flask import Blueprint, jsonify, request

from routes.request_json import json_body
from services.deployment import deployment
from services.session_overview import overview
from services.training import get_training_service

bp = Blueprint("sessions", __name__)


@bp.get("")
def list_():
    return jsonify(overview(status=request.args.get("status") or None, model=request.args.get("model") or None))


@bp.patch("/<session_id>")
def update(session_id: str):
    body = json_body()
    service = get_training_service()
    session = None
    if "name" in body:
        session = service.rename(session_id, body["name"])
    if "priority" in body:
        session = service.set_priority(session_id, body["priority"])
    if session is None:
        session = service.get(session_id)
    return jsonify(session=service.summary(session))


@bp.get("/<session_id>/deployment")
def deploy(session_id: str):
    """The job page's Deploy panel: Modelfiles, LM Studio steps and commands for a finished session."""
    return jsonify(deployment(session_id, request.host_url))
