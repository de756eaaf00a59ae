"""The Sessions page: every session with filters, the queue, and the actions on each."""
from flask import Blueprint, render_template

bp = Blueprint("session_pages", __name__)


@bp.get("/sessions")
def index():
    return render_template("sessions.html")
