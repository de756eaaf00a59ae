"""The Sessions page (every session with filters, the queue, the actions on each) and one job's page."""
from flask import Blueprint, render_template

from services.training import get_training_service

bp = Blueprint("session_pages", __name__)


@bp.get("/sessions")
def index():
    return render_template("sessions.html")


@bp.get("/sessions/<session_id>")
def detail(session_id: str):
    """A job's page: its summary and how to deploy it (a missing id, or another user's, is the usual 404 page;
    an admin may read anyone's)."""
    service = get_training_service()
    session = service.get(session_id, admin_ok=True)
    return render_template("session_detail.html", session=session, summary=service.summary(session))
