"""The Admin page: users (approve, disable, promote, reset a password), the audit log, every user's
queued and running jobs and the training workers. Rendered as a frame; static/js/admin.js fills it from /api/admin."""
from __future__ import annotations

from flask import Blueprint, current_app, render_template

from services.auth.permissions import require_accounts
from services.executors import executor_name

bp = Blueprint("admin_pages", __name__)


@bp.before_request
def _accounts_only():
    require_accounts()


@bp.get("/admin")
def index():
    return render_template("admin.html", executor=executor_name(current_app))
