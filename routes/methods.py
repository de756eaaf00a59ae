"""Training methods the server offers (``GET /api/training/methods``), each with its availability here."""
from flask import Blueprint, jsonify

from core.methods import list_methods

bp = Blueprint("methods", __name__)


@bp.get("/methods")
def methods():
    return jsonify(methods=list_methods())
