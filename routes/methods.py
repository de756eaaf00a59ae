"""Training methods the server offers (``GET /api/training/methods``), each with its availability here."""
from flask import Blueprint, jsonify

from core.methods import list_methods
from routes.contract import Responses, api
from routes.schemas.system import TrainingMethods

bp = Blueprint("methods", __name__)


@bp.get("/methods")
@api.validate(resp=Responses(HTTP_200=TrainingMethods), tags=["training"])
def methods():
    """The training methods, each with whether it can run on this server and why not."""
    return jsonify(methods=list_methods())
