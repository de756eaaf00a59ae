"""System status API: the same sample the ``system_update`` event carries."""
from flask import Blueprint, jsonify

from services.system_monitor import get_monitor

bp = Blueprint("system", __name__)


@bp.get("/status")
def status():
    return jsonify(get_monitor().sample())
