"""The sessions overview, renames and priorities (routes/sessions.py) and a finished session's deployment files.
The training service checks a new name and priority and says what it takes, so those are ``Checked``."""
from __future__ import annotations

from typing import Any

from routes.schemas.checked import Checked
from routes.schemas.common import Field, In, Name, Out
from routes.schemas.training import Session
from services.training.service import PRIORITIES


class SessionsQuery(In):
    status: Name | None = Field(None, description="Only sessions with this status (queued, starting, running, "
                                                  "stopping, completed, failed, stopped, interrupted).")
    model: str | None = Field(None, max_length=500, description="Only sessions of this base model.")


class SessionsUpdate(In):
    """Either or both; a session left alone answers as it is."""

    name: Checked("The new display name: 1 to 200 characters (the stored config's name follows).", type="string",
                  minLength=1, maxLength=200) = None
    priority: Checked("A queued session's new priority.", type="string", enum=list(PRIORITIES)) = None


class SessionsRow(Session):
    model: str | None = Field(None, description="The base model.")
    method: str | None = None
    algorithm: str | None = Field(None, description="The GRPO variant, for runs that do GRPO.")
    priority_name: str | None = Field(None, description="low, normal or high.")
    best_reward: float | None = Field(None, description="The best mean GRPO reward logged.")
    queue_reason: str | None = Field(None, description="Why a queued session waits.")


class SessionsQueued(Out):
    session_id: str
    owner_id: int | None = None
    position: int = Field(description="Its place in the whole queue (1: next).")
    priority: str
    reason: str
    waiting_reason: str


class SessionsOverview(Out):
    sessions: list[SessionsRow] = Field(description="The caller's sessions, newest first, filtered.")
    models: list[str] = Field(description="Every base model of the caller's sessions (for the filter).")
    queue: list[SessionsQueued] = Field(description="The caller's queued sessions in the order they will start.")


class SessionsEnvelope(Out):
    session: SessionsRow


class SessionDeployment(Out):
    session_id: str
    name: str | None = None
    status: str
    method: str | None = None
    base_model: str | None = None
    options: list[dict[str, Any]] = Field(description="Each way to run it (format adapter: Ollama with its base "
                                                      "model; gguf: Ollama and LM Studio), with the export that "
                                                      "holds it, its Modelfile and the commands from download to "
                                                      "first answer.")
    reason: str | None = Field(None, description="Why there is nothing to deploy yet.")
    token_required: bool | None = Field(None, description="Whether the download commands carry a token.")
