"""The administrators' API (routes/admin.py): users, the audit log and everyone's queue."""
from __future__ import annotations

from typing import Any, Literal

from routes.schemas.auth import AuthUser, NewPassword
from routes.schemas.checked import Checked, documented_required
from routes.schemas.common import Field, In, JsonObject, Name, Out
from services.auth.principal import ROLES, STATUSES

Role = Literal[ROLES]  # type: ignore[valid-type]
AccountStatus = Literal[STATUSES]  # type: ignore[valid-type]


# -- requests ---------------------------------------------------------------------------------------------------
class AdminUserUpdate(In):
    role: Role | None = Field(None, description="Promote (admin) or demote (user); left out: unchanged.")
    status: AccountStatus | None = Field(None, description="active approves or enables, disabled signs the user "
                                                           "out everywhere; left out: unchanged.")


class AdminPasswordReset(In):
    model_config = documented_required("password")
    password: NewPassword = None


class AdminAuditQuery(In):
    limit: Checked("How many events, newest first: a whole number, 1 to 1000 (0 and larger numbers are "
                   "clamped); default 200.", type="integer", minimum=0) = None
    action: Name | None = Field(None, description="Only events of this action (e.g. login.failed, "
                                                  "settings.output_base).")


# -- answers ----------------------------------------------------------------------------------------------------
class AdminUserList(Out):
    users: list[AuthUser]


class AdminAuditEvent(Out):
    id: int
    at: str
    actor_id: int | None = None
    actor: str | None = None
    action: str
    target: str | None = None
    address: str | None = None
    detail: JsonObject | list[Any] | None = None


class AdminAuditLog(Out):
    events: list[AdminAuditEvent]


class AdminQueuedSession(Out):
    id: str
    name: str | None = None
    status: str
    priority: int | None = None
    owner_id: int | None = None
    owner: str | None = Field(None, description="The owner's username.")
    device: str | None = None
    created_at: str | None = None
    started_at: str | None = None


class AdminQueuedExport(Out):
    id: str
    session_id: str | None = None
    format: str
    status: str
    progress: float | None = None
    owner_id: int | None = None
    owner: str | None = None
    created_at: str | None = None


class AdminQueue(Out):
    sessions: list[AdminQueuedSession] = Field(description="Queued and running sessions, in queue order.")
    exports: list[AdminQueuedExport] = Field(description="Queued and running exports, oldest first.")
