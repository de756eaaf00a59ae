"""Authentication overhead per request (issue 19; aim: under 2 ms added at p50 and p95).

The same cheap GET (``/api/training/methods``) 1 000 times through the app (Flask's test client: the server's
own work, no network) in single mode (no authentication) and in accounts mode with a browser session cookie, a
personal access token and a JWT; then a personal token's first use in a minute (the one request that writes
``last_used_at``), and the login itself (argon2id verify, RFC 9106 low-memory parameters: 64 MiB, 3 passes).

    .venv/bin/python bench/auth_overhead.py [--requests 1000]
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from _common import model_cache, percentile

PATH = "/api/training/methods"


def bench_app(mode: str):
    """An app on temporary folders in ``mode`` (single | accounts), with production password hashing."""
    from app_factory import create_app

    folder = Path(tempfile.mkdtemp(prefix="tunewright-auth-bench-"))
    config = {"INSTANCE_PATH": str(folder / "instance"), "MODEL_CACHE": model_cache(), "LOG_LEVEL": "WARNING",
              "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'bench.db'}", "AUTH_MODE_SETTING": mode,
              "PASSWORD_HASH_CHEAP": False,
              **{key: str(folder / key.lower()) for key in ("UPLOAD_FOLDER", "OUTPUT_FOLDER", "EXPORT_FOLDER",
                                                           "CONFIG_FOLDER", "LOG_DIR")}}
    return create_app(config)


def timed(clients: dict[str, tuple], count: int, rounds: int = 10) -> dict[str, list[float]]:
    """``count`` requests per client, interleaved in ``rounds`` blocks so that load from elsewhere on the machine
    falls on every variant alike."""
    for client, kwargs in clients.values():
        for _ in range(50):  # warm-up: imports, first queries, caches
            assert client.get(PATH, **kwargs).status_code == 200
    times: dict[str, list[float]] = {name: [] for name in clients}
    for _ in range(rounds):
        for name, (client, kwargs) in clients.items():
            for _ in range(count // rounds):
                started = time.perf_counter()
                response = client.get(PATH, **kwargs)
                times[name].append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200, (name, response.status_code)
    return times


def accounts_app():
    from extensions import db
    from services.auth import users

    app = bench_app("accounts")
    with app.app_context():
        user = users.register("bench", "bench@example.org", "a bench password 1")
        user_id = user.id
        db.session.commit()
    return app, user_id


def session_client(app, user_id: int):
    """A client with the session cookie a sign-in leaves (POST /api/auth/login when the accounts API exists)."""
    client = app.test_client()
    if "auth.login" in app.view_functions:
        response = client.post("/api/auth/login", json={"username": "bench", "password": "a bench password 1"})
        assert response.status_code == 200, response.json
        return client
    import flask
    from flask_login import login_user

    from extensions import db
    from services.models.auth import User

    with app.test_request_context("/"):
        login_user(db.session.get(User, user_id))
        value = app.session_interface.get_signing_serializer(app).dumps(dict(flask.session))
    client.set_cookie(app.config["SESSION_COOKIE_NAME"], value)
    return client


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=1000)
    count = parser.parse_args().requests

    from extensions import db
    from services.auth import tokens, users
    from services.models.auth import ApiToken, User

    single = bench_app("single")
    app, user_id = accounts_app()
    with app.app_context():
        user = db.session.get(User, user_id)
        pat_row, pat = tokens.create_personal_token(user, "bench", ["read"])
        pat_id = pat_row.id
        jwt = tokens.issue_jwt(user)["access_token"]

    results = timed({"single mode (no auth)": (single.test_client(), {}),
                     "session cookie": (session_client(app, user_id), {}),
                     "personal token": (app.test_client(), {"headers": {"Authorization": f"Bearer {pat}"}}),
                     "JWT": (app.test_client(), {"headers": {"Authorization": f"Bearer {jwt}"}})}, count)

    # A token's first use in a minute writes last_used_at (one UPDATE + commit): force it on every request.
    client, first_use = app.test_client(), []
    for _ in range(min(count, 200)):
        with app.app_context():
            db.session.get(ApiToken, pat_id).last_used_at = None
            db.session.commit()
        started = time.perf_counter()
        assert client.get(PATH, headers={"Authorization": f"Bearer {pat}"}).status_code == 200
        first_use.append((time.perf_counter() - started) * 1000)
    results["personal token, writing last_used_at"] = first_use

    base50, base95 = percentile(results["single mode (no auth)"], 50), percentile(results["single mode (no auth)"], 95)
    print(f"GET {PATH}, {count} requests each (Flask test client, SQLite; ms)")
    print(f"{'':40} {'p50':>7} {'p95':>7} {'+p50':>7} {'+p95':>7}")
    for name, values in results.items():
        p50, p95 = percentile(values, 50), percentile(values, 95)
        print(f"{name:40} {p50:7.3f} {p95:7.3f} {p50 - base50:+7.3f} {p95 - base95:+7.3f}"
              + (f"   (n={len(values)})" if len(values) != count else ""))

    with app.app_context():
        logins = []
        for _ in range(20):
            started = time.perf_counter()
            users.authenticate("bench", "a bench password 1")
            logins.append((time.perf_counter() - started) * 1000)
    print(f"login (users.authenticate: argon2id verify + last_login_at), 20 runs: "
          f"median {statistics.median(logins):.1f} ms, max {max(logins):.1f} ms")
    for app_ in (single, app):
        with app_.app_context():
            db.session.remove()
            db.engine.dispose()


if __name__ == "__main__":
    main()
