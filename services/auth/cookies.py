"""The browser session cookie: HttpOnly and SameSite=Lax (config), and ``Secure`` whenever the request came over
HTTPS. Flask only has a fixed ``SESSION_COOKIE_SECURE``; one studio is often reached both ways (plain HTTP on
loopback, HTTPS through a reverse proxy that sets X-Forwarded-Proto), so the flag follows the request."""
from __future__ import annotations

from flask import Flask, has_request_context, request
from flask.sessions import SecureCookieSessionInterface


class RequestSecureSessionInterface(SecureCookieSessionInterface):
    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config.get("SESSION_COOKIE_SECURE")) or (has_request_context() and request.is_secure)
