"""The Settings page: a frame that static/js/settings.js fills from /api/settings. Only callers who may change
the settings (the ``admin`` scope; everyone in the single-user studio) get the Save button enabled."""
from __future__ import annotations

from flask import Blueprint, render_template

from services.auth.current import current_principal

bp = Blueprint("settings_pages", __name__)


@bp.get("/settings")
def index():
    return render_template("settings.html", can_change=current_principal().allows("admin"))
