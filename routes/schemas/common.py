"""Building blocks the area modules share."""
from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

MAX_NAME = 200
MAX_TEXT = 100_000

Name = Annotated[str, StringConstraints(max_length=MAX_NAME)]
SessionId = Annotated[str, StringConstraints(max_length=64)]
Text = Annotated[str, StringConstraints(max_length=MAX_TEXT)]
JsonObject = dict[str, Any]


class In(BaseModel):
    """A request body or query string: unknown keys are ignored (older clients keep working)."""

    model_config = ConfigDict(extra="ignore")


class Out(BaseModel):
    """A response: the fields named are promised, more may come."""

    model_config = ConfigDict(extra="allow")


class Empty(In):
    """An operation that reads no body (any JSON object is accepted and ignored)."""


class Deleted(Out):
    deleted: Any = Field(description="What was deleted (an id or a name).")


class Ok(Out):
    ok: bool = True


def many(description: str = "") -> Any:
    return Field(default_factory=list, description=description)


__all__ = ["Deleted", "Empty", "In", "JsonObject", "Name", "Ok", "Out", "SessionId", "Text", "many", "Field"]
