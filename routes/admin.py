"""The administrators' API (/api/admin): users (approve, disable, promote, reset a password), the audit log
and every user's queued and running jobs. The ``admin`` scope guards the whole blueprint (permissions.py)."""
from __future__ import annotations

from flask import Blueprint, jsonify, request

from routes.request_json import json_body
from services.auth import audit, users
from services.auth.current import current_principal
from services.auth.permissions import require_accounts
from services.auth.queue_view import all_jobs
from services.errors import ServiceError

bp = Blueprint("admin", __name__)


@bp.before_request
def _accounts_only():
    require_accounts()


@bp.get("/users")
def list_users():
    return jsonify(users=[users.user_dict(u) for u in users.list_users()])


@bp.patch("/users/<int:user_id>")
def update_user(user_id: int):
    """``{role?, status?}``: approve (status active), disable, promote or demote."""
    body = json_body()
    user = users.admin_update(user_id, role=body.get("role"), status=body.get("status"),
                              actor_id=current_principal().user_id)
    return jsonify(users.user_dict(user))


@bp.post("/users/<int:user_id>/password")
def reset_password(user_id: int):
    """``{password}``: a temporary password the user must change at their next sign-in."""
    body = json_body()
    return jsonify(users.user_dict(users.reset_password(user_id, body.get("password"))))


@bp.get("/audit")
def audit_log():
    limit = request.args.get("limit", "200")
    if not limit.isdigit():
        raise ServiceError("limit: a whole number from 1 to 1000.")
    return jsonify(events=audit.events(limit=int(limit[:6]), action=request.args.get("action") or None))


@bp.get("/queue")
def queue():
    return jsonify(all_jobs())
