"""Who is asking, and what they may do: one small value for HTTP, Socket.IO, the CLI and background work."""
from __future__ import annotations

from dataclasses import dataclass

SCOPES = ("read", "train", "export", "deploy", "admin")
ROLES = ("admin", "user")
STATUSES = ("pending", "active", "disabled")
ROLE_SCOPES: dict[str, frozenset[str]] = {
    "admin": frozenset(SCOPES),
    "user": frozenset(SCOPES) - {"admin"},
}


@dataclass(frozen=True)
class Principal:
    """``user_id`` None means nobody in particular owns what this principal makes or sees: the single-user
    studio, or the bootstrap access token before the first account exists. ``via`` says how it was proven:
    ``single``, ``bootstrap``, ``session`` (browser cookie: CSRF applies), ``pat`` or ``jwt``."""

    user_id: int | None
    username: str
    role: str
    scopes: frozenset[str]
    via: str
    token_version: int = 0

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def allows(self, scope: str | tuple[str, ...] | None) -> bool:
        """``scope``: one scope, or a tuple of which any one will do."""
        if isinstance(scope, tuple):
            return any(s in self.scopes for s in scope)
        return scope is None or scope in self.scopes


LOCAL = Principal(user_id=None, username="local", role="admin", scopes=frozenset(SCOPES), via="single")
BOOTSTRAP = Principal(user_id=None, username="bootstrap", role="admin", scopes=frozenset(SCOPES), via="bootstrap")


def for_user(user, via: str, scopes: frozenset[str] | None = None) -> Principal:
    """The principal of an active user; a token's scopes are cut to what the user's role allows today."""
    allowed = ROLE_SCOPES.get(user.role, frozenset())
    return Principal(user_id=user.id, username=user.username, role=user.role,
                     scopes=allowed if scopes is None else frozenset(scopes) & allowed, via=via,
                     token_version=user.token_version)
