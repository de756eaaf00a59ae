"""Who may talk to the studio, written once for every route and the Socket.IO handshake.

- **Host**: only trusted names (DNS rebinding), else 400.
- **Origin**: a state-changing request (or a WebSocket) that carries an ``Origin`` must come from this
  studio's own origin or one in ``TUNEWRIGHT_ALLOWED_ORIGINS``, else 403. Browsers always send ``Origin`` on
  cross-site requests; scripts and curl send none and pass.
- **Token**: a configured token (``TUNEWRIGHT_TOKEN``) is always required, loopback included: behind a reverse
  proxy the studio binds to loopback while the network reaches it, and a ``Host`` header proves nothing. With
  none configured, one is generated when the studio listens beyond loopback (Jupyter's model); only a loopback
  bind with no token configured is open. Browsers send a cookie set from ``?token=…`` or the login form,
  scripts ``Authorization: Bearer``. A generated token is printed on the server's terminal, never logged.
- **Accounts** (``TUNEWRIGHT_AUTH=accounts``): every request is authenticated, scope-checked and, when a browser
  session authorises a change, CSRF-checked by services/auth/gate.py; the token above then only creates the
  first account.
- **Bodies**: JSON and form bodies are capped (uploads have their own limit); NaN/Infinity and NUL characters
  are refused by the JSON parser.
- **Headers**: a Content-Security-Policy without inline script, nosniff, no referrer, no framing.
"""
from __future__ import annotations

import hmac
import ipaddress
import json
import logging
import os
import re
import secrets
import socket
import sys
from collections.abc import Callable
from typing import Any, TextIO
from urllib.parse import urlencode, urlsplit

from flask import Flask, current_app, jsonify, redirect, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import BadRequest

from services.auth.mode import accounts_enabled
from services.auth.principal import Principal

log = logging.getLogger(__name__)

TOKEN_COOKIE = "tunewright_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
_LARGE_BODY = "_tunewright_large_body"
_ESCAPED_NUL = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")  # \u0000, not an escaped backslash before "u0000"
_HOST = re.compile(r"([a-z0-9.-]+|\[[a-f0-9]*:[a-f0-9.:]+\])(?::[0-9]{1,5})?")
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
       "font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
       "frame-ancestors 'none'")
TOKEN_HELP = ("This Tunewright server needs its access token: open the URL printed where the server started "
              "(it ends in ?token=…), or send 'Authorization: Bearer <token>' (TUNEWRIGHT_TOKEN sets it).")


def is_loopback(host: str) -> bool:
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _machine_names() -> list[str]:
    """Names a wildcard bind (0.0.0.0, ::) is reached by: host name, FQDN and every interface address."""
    names = {socket.gethostname(), socket.getfqdn()}
    try:
        import psutil

        for addresses in psutil.net_if_addrs().values():
            for address in addresses:
                if address.family in (socket.AF_INET, socket.AF_INET6):
                    names.add(address.address.split("%", 1)[0])
    except Exception:  # psutil missing or a sandbox without interfaces: the names above still count
        log.debug("could not list interface addresses", exc_info=True)
    return sorted(n for n in names if n)


def trusted_hosts(bind_host: str, configured: str | None) -> list[str] | None:
    """Trusted Host names: the configured list (``*`` = any), else loopback names and the bound host."""
    if configured:
        values = [v.strip() for v in configured.split(",") if v.strip()]
        return None if "*" in values else sorted({_bare(v) for v in values})
    hosts = list(LOOPBACK_HOSTS)
    if bind_host in ("0.0.0.0", "::", ""):
        hosts += _machine_names()
    elif bind_host not in hosts:
        hosts.append(bind_host)
    return sorted({_bare(h) for h in hosts})


def _bare(host: str) -> str:
    return host.strip().lower().strip("[]")


def host_trusted(host_header: str | None, trusted: list[str] | None) -> bool:
    """Whether a ``Host`` header (``name[:port]``, ``[v6][:port]``) names a trusted host. Hand-written because
    werkzeug's ``host_is_trusted`` cuts IPv6 entries at their first colon, so ``::1`` could never match."""
    if not host_header or not _HOST.fullmatch(host_header.lower()):
        return False
    if trusted is None:
        return True
    name = _HOST.fullmatch(host_header.lower()).group(1).strip("[]")
    return any(name == ref or (ref.startswith(".") and name.endswith(ref)) for ref in trusted)


def configure(app: Flask) -> None:
    """Derive the access settings from the config (called by the factory before anything is served)."""
    bind_host = app.config.get("BIND_HOST") or "127.0.0.1"
    app.config["TRUSTED_HOST_NAMES"] = trusted_hosts(bind_host, app.config.get("TRUSTED_HOSTS_SETTING"))
    app.config["ALLOWED_ORIGINS"] = frozenset(
        o.strip().rstrip("/") for o in (app.config.get("ALLOWED_ORIGINS_SETTING") or "").split(",") if o.strip())
    token = app.config.get("ACCESS_TOKEN_SETTING") or None
    if token is None and token_required(bind_host, app.config.get("REQUIRE_TOKEN")):
        token = app.config.get("ACCESS_TOKEN_GENERATED")
        if not token:
            token = app.config["ACCESS_TOKEN_GENERATED"] = secrets.token_urlsafe(24)
            # The token itself goes to the terminal only (announce_token): log files outlive it and get copied.
            log.info("access token generated (listening on %s): shown on the server's terminal, never logged",
                     bind_host)
    app.config["ACCESS_TOKEN"] = token


def token_required(bind_host: str, require_setting: bool | None = None) -> bool:
    """Whether a server with no configured token must generate one: when told so, else beyond loopback.
    (A configured token is enforced whatever this says.)"""
    return bool(require_setting) if require_setting is not None else not is_loopback(bind_host)


def generated_token(app: Flask) -> str | None:
    """The token this server generated for itself (None when one is configured or none is needed)."""
    token = app.config.get("ACCESS_TOKEN")
    return token if token and token == app.config.get("ACCESS_TOKEN_GENERATED") else None


def announce_token(app: Flask, stream: TextIO | None = None) -> None:
    """Print a generated token where the server was started (stderr), bypassing logging, whose handlers write
    files. Servers started by ``flask_app.main`` print it with their URL instead."""
    token = generated_token(app)
    if token:
        print(f"Tunewright access token (generated at start; set TUNEWRIGHT_TOKEN to choose one): {token}\n"
              f"  Browsers: open the studio's URL with ?token={token}. Scripts send 'Authorization: Bearer "
              f"{token}'.", file=stream or sys.stderr, flush=True)


# -- origins ------------------------------------------------------------------------------------------------
def _own_origin(environ: dict) -> str:
    return f"{environ.get('wsgi.url_scheme', 'http')}://{environ.get('HTTP_HOST', '')}"


def origin_allowed(origin: str | None, environ: dict, allowed: frozenset[str] | None = None) -> bool:
    """No Origin (scripts) passes; otherwise it must be ours or explicitly allowed. ``null`` never passes."""
    if origin is None:
        return True
    origin = origin.rstrip("/")
    if allowed is None:
        allowed = current_app.config["ALLOWED_ORIGINS"]
    return origin == _own_origin(environ) or origin in allowed


def socketio_origin_check(app: Flask) -> Callable[[str | None, dict], bool]:
    """python-engineio's ``cors_allowed_origins`` callable: the same rule as for HTTP."""
    def check(origin: str | None, environ: dict | None = None) -> bool:
        return origin_allowed(origin, environ or {}, app.config["ALLOWED_ORIGINS"])

    return check


# -- token --------------------------------------------------------------------------------------------------
def _token_matches(candidate: str | None, token: str) -> bool:
    return bool(candidate) and hmac.compare_digest(candidate.encode(), token.encode())


def _bearer(header: str | None) -> str | None:
    if header and header[:7].lower() == "bearer ":
        return header[7:].strip()
    return None


def request_token() -> str | None:
    return _bearer(request.headers.get("Authorization")) or request.cookies.get(TOKEN_COOKIE)


SOCKET_SIGN_IN_HELP = ("Sign in first: open the studio in a browser and sign in, or connect with auth: {token: …} "
                       "(or 'Authorization: Bearer …') holding a personal access token (tw_…) or a JWT from "
                       "POST /api/auth/token.")


def socket_access(environ: dict, auth: Any) -> tuple[str | None, Principal | None]:
    """Whether a Socket.IO handshake may connect: ``(refusal, None)``, or ``(None, principal)``. Origins are checked
    by engineio. Single mode: Host, then the access token (header, cookie or ``auth.token``); the principal is
    LOCAL. Accounts mode: Host, then the same proof as an HTTP request: a bearer token (``auth.token`` or the
    Authorization header: a personal token or a JWT), else the browser's signed-in session cookie, else the
    bootstrap access token while no account exists."""
    from services.auth.principal import LOCAL

    app = current_app
    if not host_trusted(environ.get("HTTP_HOST"), app.config["TRUSTED_HOST_NAMES"]):
        return "Untrusted Host header.", None
    from http.cookies import SimpleCookie

    cookie = SimpleCookie(environ.get("HTTP_COOKIE", ""))
    header = _bearer(environ.get("HTTP_AUTHORIZATION"))
    given = auth.get("token") if isinstance(auth, dict) and isinstance(auth.get("token"), str) else None
    offered = [cookie[TOKEN_COOKIE].value if TOKEN_COOKIE in cookie else None, header, given]
    token = app.config.get("ACCESS_TOKEN")
    bootstrap = bool(token) and any(_token_matches(o, token) for o in offered)
    if not accounts_enabled(app):
        return (None, LOCAL) if not token or bootstrap else (TOKEN_HELP, None)
    from services.auth.current import authenticate
    from services.auth.tokens import AuthError

    try:
        principal = authenticate(given or header, bootstrap)
    except AuthError as error:
        return error.message, None
    return (None, principal) if principal is not None else (SOCKET_SIGN_IN_HELP, None)


def socket_refusal(environ: dict, auth: Any) -> str | None:
    """Why a Socket.IO connection is refused, or None (see ``socket_access``)."""
    return socket_access(environ, auth)[0]


def set_token_cookie(response, token: str):
    response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="Strict", secure=request.is_secure,
                        max_age=30 * 24 * 3600)
    return response


def _wants_json() -> bool:
    from routes.errors import wants_json

    return wants_json()


def refuse(status: int, message: str, login: bool = False):
    """The refusal as JSON for API callers, else a page (``login``: the sign-in page, for a browser)."""
    if _wants_json():
        return jsonify(error=message, details=[]), status
    if login:
        return redirect("/login?" + urlencode({"next": request.full_path.rstrip("?")}))
    from flask import render_template

    return render_template("errors/error.html", status=status, title="Request refused", message=message), status


def _check_request():
    """before_request: Host, Origin, token, body size, in that order (a refused request reads no body)."""
    app = current_app
    if not host_trusted(request.headers.get("Host"), app.config["TRUSTED_HOST_NAMES"]):
        return jsonify(error=f"Untrusted Host header {request.headers.get('Host')!r}: open the studio by an "
                             "address it trusts, or add this one to TUNEWRIGHT_TRUSTED_HOSTS.", details=[]), 400
    if request.method not in SAFE_METHODS:
        origin = request.headers.get("Origin")
        if not origin_allowed(origin, request.environ):
            return refuse(403, f"Cross-site request refused: origin {origin!r} is not this studio's. Add it to "
                                "TUNEWRIGHT_ALLOWED_ORIGINS to allow it.")
    token = app.config.get("ACCESS_TOKEN")
    if token and request.endpoint != "static" and _token_matches(request.args.get("token"), token) \
            and request.method == "GET" and not request.path.startswith("/api/"):
        # Swap the token in the URL for a cookie so it leaves the address bar and history.
        args = [(k, v) for k, v in request.args.items(multi=True) if k != "token"]
        target = request.path + ("?" + urlencode(args) if args else "")
        return set_token_cookie(redirect(target), token)
    if accounts_enabled(app):
        from services.auth.gate import check_request

        offered = (_bearer(request.headers.get("Authorization")), request.cookies.get(TOKEN_COOKIE),
                   request.args.get("token"))
        refusal = check_request(_bearer(request.headers.get("Authorization")),
                                bool(token) and any(_token_matches(o, token) for o in offered))
        if refusal is not None:
            return refusal
    elif token and request.endpoint not in ("static", "security.login") \
            and not _token_matches(request.args.get("token"), token) and not _token_matches(request_token(), token):
        return refuse(401, TOKEN_HELP, login=True)
    view = app.view_functions.get(request.endpoint or "")
    if not getattr(view, _LARGE_BODY, False):
        request.max_content_length = app.config["MAX_BODY_BYTES"]
    return None


def _security_headers(response):
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("X-Frame-Options", "DENY")
    return response


def allow_large_body(view: Callable) -> Callable:
    """Mark a view that reads a large body itself (a streamed upload, with its own limit)."""
    setattr(view, _LARGE_BODY, True)
    return view


def safe_next(target: str | None) -> str:
    """Only paths on this site: ``//evil.example`` and absolute URLs become ``/``."""
    if not target or not target.startswith("/") or target.startswith("//") or urlsplit(target).netloc:
        return "/"
    return target


class StrictJSONProvider(DefaultJSONProvider):
    """Flask's JSON, refusing what JSON does not have (NaN, Infinity) and NUL characters (PostgreSQL text
    cannot hold them), so each is a clear 400 instead of a value that breaks something later."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        text = s.decode("utf-8") if isinstance(s, (bytes, bytearray)) else s
        if "\x00" in text or _ESCAPED_NUL.search(text):
            raise BadRequest("The JSON body holds a NUL character, which is not accepted.")

        def refuse(constant: str) -> None:
            raise BadRequest(f"The JSON body holds {constant}, which is not a JSON number: send a finite number.")

        try:
            return json.loads(text, parse_constant=refuse, **kwargs)
        except RecursionError:
            raise BadRequest("The JSON body is nested too deeply.") from None


def init_app(app: Flask) -> None:
    configure(app)
    app.json = StrictJSONProvider(app)
    app.before_request(_check_request)
    app.after_request(_security_headers)


def bind_host_from_env(default: str = "127.0.0.1") -> str:
    return os.environ.get("TUNEWRIGHT_HOST") or default
