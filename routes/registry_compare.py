"""Compare registered versions (``/api/registry/compare``): GET the side-by-side overview, POST prompts to
answer with each version. Kept apart from routes/registry.py so the registry's own routes stay one page."""
from __future__ import annotations

from flask import Blueprint, jsonify, request

from routes.contract import Responses, api
from routes.request_json import json_body
from routes.schemas.registry import CompareAnswers, CompareOverview, CompareQuery
from services.registry import compare
from services.registry.compare import CompareRequest

bp = Blueprint("registry_compare", __name__)


@bp.get("/compare")
@api.validate(query=CompareQuery, resp=Responses(HTTP_200=CompareOverview), tags=["registry"])
def overview():
    """2-4 of the caller's versions side by side: their metrics, the config diff and the training curves.

    ``?v=name:v1&v=name:v2[&differences_only=1]``."""
    return jsonify(compare.overview(request.args.getlist("v"), request.args.get("differences_only") == "1"))


@bp.post("/compare")
@api.validate(json=CompareRequest, resp=Responses(HTTP_200=CompareAnswers), tags=["registry"])
def generate():
    """Answer the same prompts with every version and score each answer with the first version's reward.

    ``{versions: [2-4 refs], prompts: [..] | dataset: {dataset_id?, source?, split, n}, max_tokens,
    temperature, seed}``; at most 8 prompts and 4096 new tokens in all."""
    return jsonify(compare.generate(json_body()))
