"""Session management API for the sidebar and the Sessions page: the overview list with filters and the queue,
rename and priority changes. Start/stop/resume/delete stay in the training blueprint."""
from __future__ import annotations

from flask import Blueprint, jsonify, request

from routes.contract import Responses, api
from routes.request_json import json_body
from routes.schemas.sessions import SessionDeployment, SessionsEnvelope, SessionsOverview, SessionsQuery, SessionsUpdate
from services.deployment import deployment
from services.session_overview import overview
from services.training import get_training_service

bp = Blueprint("sessions", __name__)


@bp.get("")
@api.validate(query=SessionsQuery, resp=Responses(HTTP_200=SessionsOverview), tags=["sessions"])
def list_():
    """The caller's sessions with their method, model and best reward, filtered, and their queue."""
    return jsonify(overview(status=request.args.get("status") or None, model=request.args.get("model") or None))


@bp.patch("/<session_id>")
@api.validate(json=SessionsUpdate, resp=Responses(HTTP_200=SessionsEnvelope), tags=["sessions"])
def update(session_id: str):
    """Rename a session, or change a queued session's priority."""
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
@api.validate(resp=Responses(HTTP_200=SessionDeployment), tags=["sessions"])
def deploy(session_id: str):
    """How to run a finished session in Ollama or LM Studio: its Modelfiles, steps and commands.

    The job page's Deploy panel: Modelfiles, LM Studio steps and commands for a finished session."""
    return jsonify(deployment(session_id, request.host_url))
