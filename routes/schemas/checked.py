"""Fields the service checks itself: documented in the contract, let through by the model.

Several services already check a field with a message that says how to fix it (a suggested name, every broken
password rule at once, the hint of a config path, "reasoning_start must be text"), and the UI and the tests rely
on those messages. For such a field the model states the type and bounds in the document (``Checked``) and, when
the service needs it, marks it required there (``documented_required``), but accepts any value at run time, so
the service still answers. ``AsTrainingConfig`` does the same for a (partial) training config: the document
shows core/training_config.py's TrainingConfig, the service validates it and lists every problem with its path."""
from __future__ import annotations

from typing import Annotated, Any

from pydantic import ConfigDict, Field, PlainSerializer, PlainValidator, WithJsonSchema

from core.training_config import TrainingConfig


def Checked(description: str, **schema: Any) -> Any:  # noqa: N802 - used like a type
    """Any value at run time; ``schema`` (JSON Schema keywords: type, maxLength, enum…) in the document."""
    return Annotated[Any, WithJsonSchema(schema), Field(description=description)]


def documented_required(*names: str) -> ConfigDict:
    """A model config whose document lists ``names`` as required (the service refuses a request without them,
    with its own message), with no default shown for them."""

    def mark(schema: dict[str, Any]) -> None:
        schema["required"] = sorted(set(schema.get("required", [])) | set(names))
        for name in names:
            schema["properties"][name].pop("default", None)

    return ConfigDict(json_schema_extra=mark)


def _as_is(value: Any) -> Any:
    return value


# A training config, documented as #/components/schemas/TrainingConfig (every field optional: left out, it keeps
# its default or, in a PATCH, its current value), any value at run time. In an answer the same: the document
# shows TrainingConfig (serialization mode); the body the service built goes out as it is.
AsTrainingConfig = Annotated[Any, PlainValidator(_as_is, json_schema_input_type=TrainingConfig),
                             PlainSerializer(_as_is, return_type=TrainingConfig)]

__all__ = ["AsTrainingConfig", "Checked", "documented_required"]
