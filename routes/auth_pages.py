"""Account pages: register, the Account page (profile, password, tokens, deletion) and sign-out. The pages
render a frame; static/js/login.js and static/js/account.js talk to the /api/auth endpoints."""
from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from flask_login import logout_user

from services.auth import users
from services.auth.current import any_account_exists, current_principal
from services.auth.mode import accounts_enabled
from services.auth.permissions import require_accounts
from services.auth.principal import SCOPES
from services.auth.tokens import AuthError

bp = Blueprint("auth_pages", __name__)


@bp.before_request
def _accounts_only():
    require_accounts()


@bp.app_context_processor
def inject_principal():
    """``principal`` for the top bar's Account/Admin/Sign-out links: None in single mode and when nobody is
    signed in (a public page)."""
    if not accounts_enabled():
        return {"accounts_mode": False, "principal": None}
    try:
        principal = current_principal()
    except AuthError:
        principal = None
    return {"accounts_mode": True, "principal": principal}


@bp.get("/register")
def register():
    first = not any_account_exists()
    closed = not first and current_app.config.get("SIGNUP") == "closed"
    return render_template("register.html", first=first, closed=closed, signup=current_app.config.get("SIGNUP"))


@bp.get("/account")
def account():
    principal = current_principal()
    if principal.user_id is None:  # the bootstrap token: nothing to show until an account exists
        return redirect(url_for("auth_pages.register"))
    return render_template("account.html", user=users.get_user(principal.user_id), scopes=SCOPES,
                           grantable=[s for s in SCOPES if s in principal.scopes])


@bp.route("/logout", methods=["GET", "POST"])
def logout():
    """POST (the top bar's form, CSRF-checked) signs out everywhere; GET leads to the Account page's button,
    so a link or an image elsewhere cannot sign anyone out."""
    principal = current_principal()
    if principal.via != "session" or principal.user_id is None:
        return redirect(url_for("security.login"))
    if request.method == "GET":
        return redirect(url_for("auth_pages.account"))
    users.logout_everywhere(users.get_user(principal.user_id))
    logout_user()
    session.clear()
    return redirect(url_for("security.login"))
