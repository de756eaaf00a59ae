"""Compare registered versions (``/api/registry/compare``): GET the side-by-side overview, POST prompts to
answer with each version. Kept apart from routes/registry.py so the registry's own routes stay one page."""
from __future__ import annotations

from flask import Blueprint, jsonify, request

from routes.request_json import json_body
from services.registry import compare

bp = Blueprint("registry_compare", __name__)


@bp.get("/compare")
def overview():
    """``?v=name:v1&v=name:v2[&differences_only=1]``: versions with metrics, the config diff, the curves."""
    return jsonify(compare.overview(request.args.getlist("v"), request.args.get("differences_only") == "1"))


@bp.post("/compare")
def generate():
    """``{versions: [2-4 refs], prompts: [..] | dataset: {dataset_id?, source?, split, n}, max_tokens,
    temperature, seed}``: every prompt answered by every version, each answer scored."""
    return jsonify(compare.generate(json_body()))
