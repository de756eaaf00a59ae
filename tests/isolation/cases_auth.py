"""Isolation cases of the account and admin routes: another user's token id is a 404; the admin routes are a
403 for anyone without the admin scope."""
from __future__ import annotations

from tests.isolation.registry import NOT_OWNED, case


def _token(app, owner_id: int) -> dict:
    from extensions import db
    from services.auth.tokens import create_personal_token
    from services.models.auth import User

    with app.app_context():
        row, _ = create_personal_token(db.session.get(User, owner_id), "isolation", ["read"])
        return {"token_id": row.id}


def _secret(app, owner_id: int) -> dict:
    from services.auth import secrets
    from tests.auth_helpers import acting_as

    with app.app_context():
        context = acting_as(app, owner_id)
        try:
            secrets.set_secret(owner_id, "WANDB_API_KEY", "owner-a-key")
        finally:
            context.pop()
    return {"name": "WANDB_API_KEY"}


def _user(app, owner_id: int) -> dict:
    return {"user_id": owner_id}


case("auth.revoke_token", _token, methods=("DELETE",))
case("auth.delete_secret", _secret, methods=("DELETE",))
NOT_OWNED["auth.set_secret"] = "the name of a secret in the caller's own namespace: PUT stores the caller's value"
case("admin.update_user", _user, methods=("PATCH",), body={"status": "active"}, admin_only=True)
case("admin.reset_password", _user, methods=("POST",), body={"password": "temporary 123"}, admin_only=True)
