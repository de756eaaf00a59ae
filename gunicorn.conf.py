"""gunicorn reads this file from the working directory: `gunicorn -w 1 --threads 100 -b 0.0.0.0:5000 flask_app:app`.

The studio's own hooks: queued sessions start when the worker is ready (as `python flask_app.py` does), and a
worker that exits first asks its training children to checkpoint and stop. A token the app generated is printed
on gunicorn's stderr (the terminal), never logged."""


def post_worker_init(worker):
    from services.security import announce_token

    app = worker.wsgi
    announce_token(app)
    with app.app_context():
        app.extensions["tunewright.training"].dispatch()
        app.extensions["tunewright.exports"].dispatch()


def worker_exit(server, worker):
    app = getattr(worker, "wsgi", None)
    if app is not None and hasattr(app, "extensions"):
        app.extensions["tunewright.exports"].graceful_shutdown()
        app.extensions["tunewright.training"].graceful_shutdown()
