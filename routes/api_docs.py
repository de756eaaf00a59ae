"""The API's contract, readable: the OpenAPI document (generated from the code by routes/contract.py) and a
Swagger UI page over it, from the vendored swagger-ui-dist (nothing from a CDN). Both are public: the contract
holds no data, and Swagger UI's requests carry the caller's own credentials."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, render_template

from routes.contract import api, spec_for

bp = Blueprint("api_docs", __name__)


@bp.get("/openapi.json")
@api.validate(tags=["api_docs"])
def document():
    """The OpenAPI 3.1 document of every /api and /v1 operation (docs/openapi.json is the committed copy)."""
    return jsonify(spec_for(current_app))


@bp.get("/docs")
def page():
    return render_template("api/docs.html")
