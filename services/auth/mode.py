"""Which access model the studio runs: ``single`` (one person, today's token rules) or ``accounts``.

The default follows the real exposure: a studio reachable beyond loopback, or started with the production
config, is shared by whoever reaches it, so it gets accounts; ``make run`` on loopback stays single-user.
"""
from __future__ import annotations

from flask import Flask, current_app

SINGLE = "single"
ACCOUNTS = "accounts"
SIGNUP_MODES = ("open", "approval", "closed")


def resolve_mode(setting: str | None, bind_host: str, production: bool) -> str:
    from services.security import is_loopback

    if setting:
        value = setting.strip().lower()
        if value not in (SINGLE, ACCOUNTS):
            raise RuntimeError(f"TUNEWRIGHT_AUTH must be 'single' or 'accounts', not {setting!r}")
        return value
    return ACCOUNTS if production or not is_loopback(bind_host) else SINGLE


def configure(app: Flask) -> None:
    """Derive AUTH_MODE, SIGNUP and MAX_RUNNING_PER_USER; called again by ``flask_app.main`` once the bind is known."""
    production = bool(app.config.get("PRODUCTION")) or app.config.get("ENV_NAME") == "production"
    mode = resolve_mode(app.config.get("AUTH_MODE_SETTING"), app.config.get("BIND_HOST") or "127.0.0.1", production)
    app.config["AUTH_MODE"] = mode
    signup = (app.config.get("SIGNUP") or "approval").strip().lower()
    if signup not in SIGNUP_MODES:
        raise RuntimeError(f"TUNEWRIGHT_SIGNUP must be one of {', '.join(SIGNUP_MODES)}, not {signup!r}")
    app.config["SIGNUP"] = signup
    if app.config.get("MAX_RUNNING_PER_USER") is None or app.config.get("_MAX_RUNNING_DERIVED"):
        # Not set: follows the mode (and follows it again when main() re-derives the mode from the bind).
        app.config["MAX_RUNNING_PER_USER"] = 1 if mode == ACCOUNTS else 0  # 0: no per-user limit
        app.config["_MAX_RUNNING_DERIVED"] = True


def accounts_enabled(app: Flask | None = None) -> bool:
    return (app or current_app).config.get("AUTH_MODE") == ACCOUNTS
