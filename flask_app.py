"""Entry point: `python flask_app.py [--host H] [--port P]`, or `gunicorn flask_app:app` (gunicorn.conf.py: one worker, threads)."""
from __future__ import annotations

import argparse
import os
import signal

if os.environ.get("TUNEWRIGHT_ASYNC_MODE") == "eventlet":  # must patch before anything else imports socket
    import eventlet

    eventlet.monkey_patch()

from app_factory import create_app
from extensions import socketio
from services import security
from services.auth import mode as auth_mode
from services.auth.current import any_account_exists

_app = None


def __getattr__(name: str):
    """``flask_app.app`` is created on first access (gunicorn's ``flask_app:app``, ``flask --app``), not on import:
    training children are spawned processes that re-import this module and must not build a server."""
    global _app
    if name == "app":
        if _app is None:
            _app = create_app()
        return _app
    raise AttributeError(name)


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run the Tunewright studio.")
    parser.add_argument("--host", default=os.environ.get("TUNEWRIGHT_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("TUNEWRIGHT_PORT", "5000")))
    args = parser.parse_args(argv)
    application = __getattr__("app")
    application.config["BIND_HOST"] = args.host  # the access policy (mode, token, trusted hosts) follows the bind
    auth_mode.configure(application)
    security.configure(application)
    url = f"http://{'[' + args.host + ']' if ':' in args.host else args.host}:{args.port}/"
    # Printed on the terminal, never logged: logs/ outlives the token and gets copied around.
    token = application.config.get("ACCESS_TOKEN")
    if token:
        why = ("Token generated at start (set TUNEWRIGHT_TOKEN to choose one)"
               if security.generated_token(application) else "TUNEWRIGHT_TOKEN is set")
        print(f"Tunewright is running: open {url}?token={token} in your browser (Ctrl+C stops it)\n"
              f"  {why}: the token is required. Scripts send 'Authorization: Bearer {token}'.", flush=True)
    else:
        print(f"Tunewright is running: open {url} in your browser (Ctrl+C stops it)", flush=True)
    if auth_mode.accounts_enabled(application):
        with application.app_context():
            first = not any_account_exists()
        print("  Accounts are on (TUNEWRIGHT_AUTH=accounts): " + (
            f"create the administrator account at {url}register first." if first else "sign in at /login."),
            flush=True)
    # SIGTERM (docker stop, systemd) takes the same graceful path as Ctrl+C.
    signal.signal(signal.SIGTERM, _interrupt)
    service = application.extensions["tunewright.training"]
    exports = application.extensions["tunewright.exports"]
    with application.app_context():
        service.dispatch()  # sessions left queued by the last run
        exports.dispatch()  # and exports
    try:
        # The Werkzeug server is fine for one machine; see the README for the gunicorn recipe.
        socketio.run(application, host=args.host, port=args.port, allow_unsafe_werkzeug=True, log_output=False)
    except KeyboardInterrupt:
        pass
    finally:
        print("Tunewright is stopping: running sessions stop at a checkpoint first…", flush=True)
        exports.graceful_shutdown()  # nothing to keep: abandoned at once, not waited for
        application.extensions["tunewright.deploy"].shutdown()  # deployed models' servers and workers
        service.graceful_shutdown()


if __name__ == "__main__":
    main()
