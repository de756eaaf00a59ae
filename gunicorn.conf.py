"""gunicorn reads this file from the working directory: `gunicorn -b 0.0.0.0:5000 flask_app:app`.

One worker (Socket.IO's rooms live in one process; docs/scale-out.md spreads training, not the web) with 500
threads. Every Socket.IO connection (a browser tab, a CLI watching a run) holds one thread for its whole life, so
the threads are the connections plus the requests being answered at once: with the 100 threads this command used
to give, 100 open tabs left none for HTTP and every API request hung (tests/reliability/test_load.py). Idle
threads cost nothing until used; ``--threads N`` on the command line overrides the number, and the cap on live
connections follows it (``post_worker_init``).

The studio's own hooks: queued sessions start when the worker is ready (as `python flask_app.py` does), and a
worker that exits first asks its training children to checkpoint and stop. A token the app generated is printed
on gunicorn's stderr (the terminal), never logged."""

workers = 1
worker_class = "gthread"
threads = 500
# Open sockets the worker accepts: the threads' connections plus kept-alive HTTP connections waiting between
# requests (gunicorn keeps ``worker_connections - threads`` of those).
worker_connections = 1500
# Seconds an idle kept-alive connection stays open (gunicorn's default: 2). A client that reuses a connection just as
# the server closes it gets "connection reset" (requests, and so the CLI and the Python client, do not retry): at
# 2 s that happened to 21 of 5 900 requests under load, and to 1 % of requests whose gaps were near 2 s. The gthread
# worker keeps idle connections in its poller, not on a thread, so a long timeout costs a socket each; 75 s is nginx's.
keepalive = 75


def post_worker_init(worker):
    from services.security import announce_token
    from websockets.connection import connection_capacity

    app = worker.wsgi
    announce_token(app)
    # Past this many live Socket.IO connections new ones are refused, so some threads always answer HTTP.
    app.config["MAX_SOCKET_CONNECTIONS"] = connection_capacity(worker.cfg.threads)
    with app.app_context():
        app.extensions["tunewright.training"].dispatch()
        app.extensions["tunewright.exports"].dispatch()


def worker_exit(server, worker):
    app = getattr(worker, "wsgi", None)
    if app is not None and hasattr(app, "extensions"):
        app.extensions["tunewright.exports"].graceful_shutdown()
        app.extensions["tunewright.training"].graceful_shutdown()
