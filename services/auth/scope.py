"""The one place isolation lives: every service query for a user's things goes through ``owned`` or
``get_owned``. Another user's object answers exactly like one that does not exist (404), so ids reveal
nothing. Admins read and stop everything (``admin_ok=True`` at those call sites) but do not edit, delete,
export, train from or deploy another user's things: those calls leave ``admin_ok`` False.
"""
from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import Select

from extensions import db
from services.auth.current import current_principal
from services.errors import NotFoundError

T = TypeVar("T")


def visible_owner(owner_id: int | None, *, admin_ok: bool = False) -> bool:
    """Whether the current principal may see a thing owned by ``owner_id``."""
    principal = current_principal()
    if principal.user_id is None:  # single mode, or the bootstrap token before any account exists
        return True
    return owner_id == principal.user_id or (admin_ok and principal.is_admin)


def owned(query: Select, model: Any, *, admin_ok: bool = False) -> Select:
    """``query`` restricted to the current principal's rows of ``model`` (all rows in single mode; all rows for
    an admin when ``admin_ok``: the admin views)."""
    principal = current_principal()
    if principal.user_id is None or (admin_ok and principal.is_admin):
        return query
    return query.where(model.owner_id == principal.user_id)


def get_owned(model: type[T], ident: Any, *, admin_ok: bool = False, label: str | None = None) -> T:
    """The row, or NotFoundError (404) when it does not exist or belongs to someone else."""
    row = db.session.get(model, ident) if ident is not None else None
    if row is None or not visible_owner(row.owner_id, admin_ok=admin_ok):
        raise NotFoundError(f"{label or model.__name__} {ident} not found.")
    return row


def new_owner_id() -> int | None:
    """The owner to record on a row being created now."""
    return current_principal().user_id
