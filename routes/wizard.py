"""Wizard API: the browser session's draft config, model look-ups and the Review step's estimates."""
from __future__ import annotations

from flask import Blueprint, jsonify, request, session

from routes.contract import Responses, api
from routes.request_json import json_body
from routes.schemas.wizard import (WizardDraft, WizardDraftPatch, WizardDraftSource, WizardEstimate,
                                   WizardModelInfo, WizardModelQuery)
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
@api.validate(resp=Responses(HTTP_200=WizardDraft), tags=["wizard"])
def get_draft():
    """The browser's draft config, or the defaults when it has none.

    Reads give the stored draft or the defaults: a browser that only looks stores nothing."""
    return jsonify(wizard_draft.get(draft_id()))


@bp.patch("/draft")
@api.validate(json=WizardDraftPatch, resp=Responses(HTTP_200=WizardDraft), tags=["wizard"])
def patch_draft():
    """Change some fields of the browser's draft (kept only if the whole config stays valid)."""
    return jsonify(wizard_draft.update(draft_id(), request.get_json(silent=True)))


@bp.post("/draft/reset")
@api.validate(resp=Responses(HTTP_200=WizardDraft), tags=["wizard"])
def reset_draft():
    """Set the browser's draft back to the default config."""
    return jsonify(wizard_draft.reset(draft_id()))


@bp.post("/draft/from-config")
@api.validate(json=WizardDraftSource, resp=Responses(HTTP_200=WizardDraft), tags=["wizard"])
def draft_from_config():
    """Start the draft from a saved config or preset, or from a session's config."""
    body = json_body()
    return jsonify(wizard_draft.from_source(draft_id(), name=body.get("name"), session_id=body.get("session_id")))


@bp.get("/model-info")
@api.validate(query=WizardModelQuery, resp=Responses(HTTP_200=WizardModelInfo), tags=["wizard"])
def model_info():
    """Whether a base model is available here, its memory needs and whether it fits this machine's GPUs."""
    return jsonify(wizard_estimate.model_info(request.args.get("name", "")))


@bp.get("/estimate")
@api.validate(resp=Responses(HTTP_200=WizardEstimate), tags=["wizard"])
def estimate():
    """The draft's steps, time per step and duration, and its memory needs on this machine."""
    return jsonify(wizard_estimate.estimate(wizard_draft.get(draft_id())["config"]))
