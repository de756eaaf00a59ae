"""``GET /api/dashboard``: the counts and series the home page shows (services/dashboard)."""
from flask import Blueprint, jsonify

from services.dashboard import dashboard as build_dashboard

bp = Blueprint("dashboard", __name__)


@bp.get("")
def dashboard():
    return jsonify(build_dashboard())
