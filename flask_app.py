"""Entry point: `python flask_app.py [--host H] [--port P]`, or `gunicorn -w 1 --threads 100 flask_app:app`."""
from __future__ import annotations

import argparse
import os

if os.environ.get("TUNEWRIGHT_ASYNC_MODE") == "eventlet":  # must patch before anything else imports socket
    import eventlet

    eventlet.monkey_patch()

from app_factory import create_app
from extensions import socketio

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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run the Tunewright studio.")
    parser.add_argument("--host", default=os.environ.get("TUNEWRIGHT_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("TUNEWRIGHT_PORT", "5000")))
    args = parser.parse_args(argv)
    print(f"Tunewright is running: open http://{args.host}:{args.port}/ in your browser (Ctrl+C stops it)",
          flush=True)
    # The Werkzeug server is fine for one machine; see the README for the gunicorn recipe.
    application = __getattr__("app")
    with application.app_context():
        application.extensions["tunewright.training"].dispatch()  # sessions left queued by the last run
    socketio.run(application, host=args.host, port=args.port, allow_unsafe_werkzeug=True, log_output=False)


if __name__ == "__main__":
    main()
