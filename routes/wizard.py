"""Wizard API: the browser session's draft config, model look-ups and the Review step's estimates."""
from __future__ import annotations

from flask import Blueprint, jsonify, request, session

from routes.request_json import json_body
from services import wizard_draft, wizard_estimate

bp = Blueprint("wizard", __name__)

COOKIE_KEY = "wizard_draft_id"


def draft_id() -> str:
    """The draft's key, kept in Flask's signed session cookie (given on first use, so the requests of one page
    share it; lasts 31 days). The key alone stores nothing: a draft row exists once something changed it.
    A key whose draft is another user's (the cookie outlived a logout on a shared browser) is replaced."""
    value = session.get(COOKIE_KEY)
    if not isinstance(value, str) or not 16 <= len(value) <= 64 or not wizard_draft.usable(value):
        value = wizard_draft.new_draft_id()
        session[COOKIE_KEY] = value
        session.permanent = True
    return value


@bp.get("/draft")
def get_draft():
    """Reads give the stored draft or the defaults: a browser that only looks stores nothing."""
    return jsonify(wizard_draft.get(draft_id()))


@bp.patch("/draft")
def patch_draft():
    return jsonify(wizard_draft.update(draft_id(), request.get_json(silent=True)))


@bp.post("/draft/reset")
def reset_draft():
    return jsonify(wizard_draft.reset(draft_id()))


@bp.post("/draft/from-config")
def draft_from_config():
    body = json_body()
    return jsonify(wizard_draft.from_source(draft_id(), name=body.get("name"), session_id=body.get("session_id")))


@bp.get("/model-info")
def model_info():
    return jsonify(wizard_estimate.model_info(request.args.get("name", "")))


@bp.get("/estimate")
def estimate():
    return jsonify(wizard_estimate.estimate(wizard_draft.get(draft_id())["config"]))
