"""The OpenAI-compatible API of deployed versions (routes/openai_v1.py, ``/v1``). The chat body is
core.deploy.wire's ``ChatRequest``, the model the deploy service parses every request with; the answers follow
OpenAI's chat-completions shapes."""
from __future__ import annotations

from typing import Any

from routes.schemas.common import Field, Out


class OpenAIModel(Out):
    id: str = Field(description="name:v<version>: what ``model`` names in a chat request (name and name@alias "
                                "work too).")
    object: str = "model"
    created: int = Field(description="Unix time the version was registered.")
    owned_by: str
    type: str
    framework: str


class OpenAIModelList(Out):
    object: str = "list"
    data: list[OpenAIModel]


class OpenAIChoice(Out):
    index: int
    message: dict[str, Any] = Field(description="{role: assistant, content}")
    finish_reason: str | None = Field(None, description="stop or length.")


class OpenAIUsage(Out):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class OpenAIChatCompletion(Out):
    """The answer of a request without ``stream`` (with ``stream: true`` the answer is ``text/event-stream``:
    ``data: <chat.completion.chunk>`` events, then ``data: [DONE]``)."""

    id: str
    object: str = "chat.completion"
    created: int
    model: str = Field(description="The version that answered (name:v<version>).")
    choices: list[OpenAIChoice | dict[str, Any]]
    usage: OpenAIUsage | dict[str, Any] | None = None
