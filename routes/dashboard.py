"""``GET /api/dashboard``: the counts and series the home page shows (services/dashboard)."""
from flask import Blueprint, jsonify

from routes.contract import Responses, api
from routes.schemas.dashboard import Dashboard
from services.dashboard import dashboard as build_dashboard

bp = Blueprint("dashboard", __name__)


@bp.get("")
@api.validate(resp=Responses(HTTP_200=Dashboard), tags=["dashboard"])
def dashboard():
    """The caller's counts, 30 days of activity, recent runs, deployed models and this machine's stats."""
    return jsonify(build_dashboard())
