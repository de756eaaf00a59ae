"""Model catalogue API."""
from flask import Blueprint, current_app, jsonify

from services.model_catalog import list_models

bp = Blueprint("models", __name__)


@bp.get("/list")
def list_():
    return jsonify(models=list_models(current_app.config["MODEL_CACHE"]))
