"""The studio's settings API (/api/settings): today the Output Directory Base. Reading is for anyone signed in;
changing it needs the ``admin`` scope (services/auth/permissions.py), and so does probing a folder other than
the current base (checked by the service, since it depends on the body)."""
from __future__ import annotations

from flask import Blueprint, jsonify, request

from routes.contract import Responses, api
from routes.request_json import json_body
from routes.schemas.settings import Settings, SettingsUpdate, SettingsWritable, SettingsWritableProbe
from services import output_base

bp = Blueprint("settings", __name__)


@bp.get("")
@api.validate(resp=Responses(HTTP_200=Settings), tags=["settings"])
def read():
    """The Output Directory Base, its default and whether it is writable now."""
    return jsonify(output_base.describe())


@bp.put("")
@api.validate(json=SettingsUpdate, resp=Responses(HTTP_200=Settings), tags=["settings"])
def update():
    """Change the Output Directory Base (administrators).

    ``{output_base}``: an absolute path; created when missing, refused unless it is a writable folder."""
    output_base.set_output_base(json_body().get("output_base"))
    return jsonify(output_base.describe())


@bp.post("/test-writable")
@api.validate(json=SettingsWritableProbe, resp=Responses(HTTP_200=SettingsWritable), tags=["settings"])
def test_writable():
    """Probe whether the output base (or, for administrators, another folder) is writable now.

    ``{path?}``: whether the current base (or, for administrators, any absolute path) is writable now."""
    body = json_body() if request.content_length or request.is_json else {}
    return jsonify(output_base.writable_report(body.get("path")))
