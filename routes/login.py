"""The sign-in page. Single mode: today's access-token form, shown when the studio requires its token.
Accounts mode: a username/password form (static/js/login.js posts it to /api/auth/login), except while no
account exists and the studio has an access token: then the token form, which unlocks the studio and creating
the first account (its administrator) on /register; the top bar links there meanwhile."""
from flask import Blueprint, current_app, g, redirect, render_template, request, url_for

from services.auth.mode import accounts_enabled
from services.security import _token_matches, safe_next, set_token_cookie

bp = Blueprint("security", __name__)


def _accounts_page(token: str | None, target: str):
    """The accounts-mode answer to GET /login, or None for the token form."""
    from services.auth.current import any_account_exists

    principal = g.get("tunewright_principal")  # set by the request hook; None: nobody signed in
    if principal is not None and principal.user_id is not None:
        return redirect(target)
    first = not any_account_exists()
    if first and principal is not None:  # the bootstrap token: create the administrator
        return redirect(url_for("auth_pages.register"))
    if first and token:
        return None
    return render_template("login.html", mode="accounts", next=target, first=first,
                           signup=current_app.config.get("SIGNUP"))


@bp.route("/login", methods=["GET", "POST"])
def login():
    token = current_app.config.get("ACCESS_TOKEN")
    target = safe_next(request.values.get("next"))
    if accounts_enabled() and request.method == "GET":
        page = _accounts_page(token, target)
        if page is not None:
            return page
    if not token:
        return redirect(target)
    if request.method == "POST":
        if _token_matches(request.form.get("token", "").strip(), token):
            return set_token_cookie(redirect(target), token)
        return render_template("login.html", mode="token", next=target,
                               error="That token is not this server's."), 401
    return render_template("login.html", mode="token", next=target, error=None), 401
