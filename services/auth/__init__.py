"""Accounts, roles, tokens and per-user isolation (issue 19). ``init_app`` binds Flask-Login, CSRF and the rate
limiter; the request hook itself stays in services/security.py, the one access policy."""
from __future__ import annotations

from flask import Flask

from extensions import csrf, limiter, login_manager


def init_app(app: Flask) -> None:
    from services.auth import mode

    mode.configure(app)
    from services.auth.cookies import RequestSecureSessionInterface

    app.session_interface = RequestSecureSessionInterface()
    login_manager.init_app(app)
    login_manager.session_protection = "basic"
    csrf.init_app(app)
    limiter.init_app(app)
    import services.auth.current  # noqa: F401  (registers the user loader)
    from services.auth import audit

    audit.prune_at_start(app)
