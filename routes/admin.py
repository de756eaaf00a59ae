"""The administrators' API (/api/admin): users (approve, disable, promote, reset a password), the audit log
and every user's queued and running jobs. The ``admin`` scope guards the whole blueprint (permissions.py)."""
from __future__ import annotations

from flask import Blueprint, jsonify, request

from routes.contract import Responses, api
from routes.request_json import json_body
from routes.schemas.admin import (AdminAuditLog, AdminAuditQuery, AdminPasswordReset, AdminQueue, AdminUserList,
                                  AdminUserUpdate)
from routes.schemas.auth import AuthUser
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
@api.validate(resp=Responses(HTTP_200=AdminUserList), tags=["admin"])
def list_users():
    """Every account, oldest first."""
    return jsonify(users=[users.user_dict(u) for u in users.list_users()])


@bp.patch("/users/<int:user_id>")
@api.validate(json=AdminUserUpdate, resp=Responses(HTTP_200=AuthUser), tags=["admin"])
def update_user(user_id: int):
    """Approve, disable, promote or demote a user.

    ``{role?, status?}``: approve (status active), disable, promote or demote."""
    body = json_body()
    user = users.admin_update(user_id, role=body.get("role"), status=body.get("status"),
                              actor_id=current_principal().user_id)
    return jsonify(users.user_dict(user))


@bp.post("/users/<int:user_id>/password")
@api.validate(json=AdminPasswordReset, resp=Responses(HTTP_200=AuthUser), tags=["admin"])
def reset_password(user_id: int):
    """Set a temporary password for a user.

    ``{password}``: a temporary password the user must change at their next sign-in."""
    body = json_body()
    return jsonify(users.user_dict(users.reset_password(user_id, body.get("password"))))


@bp.get("/audit")
@api.validate(query=AdminAuditQuery, resp=Responses(HTTP_200=AdminAuditLog), tags=["admin"])
def audit_log():
    """The audit log, newest first: sign-ins and their failures, tokens, roles, deletions, settings."""
    limit = request.args.get("limit", "200")
    if not limit.isdigit():
        raise ServiceError("limit: a whole number from 1 to 1000.")
    return jsonify(events=audit.events(limit=int(limit[:6]), action=request.args.get("action") or None))


@bp.get("/queue")
@api.validate(resp=Responses(HTTP_200=AdminQueue), tags=["admin"])
def queue():
    """Every user's queued and running sessions and exports, with their owners."""
    return jsonify(all_jobs())
