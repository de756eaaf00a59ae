"""The access-token form, shown when the studio requires its token and the browser has none yet."""
from flask import Blueprint, current_app, redirect, render_template, request

from services.security import _token_matches, safe_next, set_token_cookie

bp = Blueprint("security", __name__)


@bp.route("/login", methods=["GET", "POST"])
def login():
    token = current_app.config.get("ACCESS_TOKEN")
    target = safe_next(request.values.get("next"))
    if not token:
        return redirect(target)
    if request.method == "POST":
        if _token_matches(request.form.get("token", "").strip(), token):
            return set_token_cookie(redirect(target), token)
        return render_template("login.html", next=target, error="That token is not this server's."), 401
    return render_template("login.html", next=target, error=None), 401
