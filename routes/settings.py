"""The studio's settings API (/api/settings): today the Output Directory Base. Reading is for anyone signed in;
changing it needs the ``admin`` scope (services/auth/permissions.py), and so does probing a folder other than
the current base (checked by the service, since it depends on the body)."""
from __future__ import annotations

from flask import Blueprint, jsonify, request

from routes.request_json import json_body
from services import output_base

bp = Blueprint("settings", __name__)


@bp.get("")
def read():
    return jsonify(output_base.describe())


@bp.put("")
def update():
    """``{output_base}``: an absolute path; created when missing, refused unless it is a writable folder."""
    output_base.set_output_base(json_body().get("output_base"))
    return jsonify(output_base.describe())


@bp.post("/test-writable")
def test_writable():
    """``{path?}``: whether the current base (or, for administrators, any absolute path) is writable now."""
    body = json_body() if request.content_length or request.is_json else {}
    return jsonify(output_base.writable_report(body.get("path")))
