"""Accounts for tests: an app in accounts mode, users made directly in the database, and their credentials."""
from __future__ import annotations

import pytest

from tests.helpers import make_test_config, reset_database


def accounts_config(tmp_path, **overrides) -> dict:
    config = make_test_config(tmp_path)
    config.update({"AUTH_MODE_SETTING": "accounts", "SIGNUP": "approval"}, **overrides)
    return config


@pytest.fixture
def accounts_app(tmp_path):
    from app_factory import create_app

    config = accounts_config(tmp_path)
    reset_database(config["SQLALCHEMY_DATABASE_URI"])
    app = create_app(config)
    yield app
    close_app(app)


def close_app(app) -> None:
    """Stop the app's background services and release its database connections."""
    from extensions import db

    for key in ("tunewright.training", "tunewright.exports", "tunewright.playground", "tunewright.deploy"):
        if key in app.extensions:
            app.extensions[key].shutdown()
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def add_user(app, username: str, *, role: str = "user", status: str = "active", password: str = "correct horse 1"):
    """A user row made directly (registration itself is tested in tests/routes/test_auth_api.py)."""
    from extensions import db
    from services.auth.passwords import hash_password
    from services.models.auth import User

    with app.app_context():
        user = User(username=username, email=f"{username}@example.org", password_hash=hash_password(password),
                    role=role, status=status, token_version=1, must_change_password=False)
        db.session.add(user)
        db.session.commit()
        return user.id


def bearer(app, user_id: int, scopes: list[str] | None = None) -> dict[str, str]:
    """``Authorization`` header with a new personal access token of the user."""
    from extensions import db
    from services.auth.tokens import create_personal_token
    from services.models.auth import User

    with app.app_context():
        user = db.session.get(User, user_id)
        _, secret = create_personal_token(user, "test", scopes or ["read", "train", "export", "deploy"])
    return {"Authorization": f"Bearer {secret}"}


def acting_as(app, user_id: int | None):
    """A request context whose principal is this user: for calling services directly as someone."""
    from extensions import db
    from services.auth.current import set_request_principal
    from services.auth.principal import LOCAL, for_user
    from services.models.auth import User

    context = app.test_request_context("/")
    context.push()
    set_request_principal(LOCAL if user_id is None else for_user(db.session.get(User, user_id), "pat"))
    return context
