"""The OpenAI chat-completions wire format, the contract of ``/v1``: the request parsed once into a typed model,
and the response objects and SSE lines the studio writes when it generates itself (transformers versions).

Only what every backend honours is accepted; anything else in a body is ignored, as OpenAI's own servers do.
"""
from __future__ import annotations

import json
import time
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

MAX_MESSAGES = 200
MAX_CONTENT_CHARS = 50_000  # core.inference.limits.MAX_PROMPT_CHARS, per message


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "user", "assistant"]
    content: str = Field(max_length=MAX_CONTENT_CHARS)

    @field_validator("content", mode="before")
    @classmethod
    def _text_parts(cls, value: Any) -> Any:
        """OpenAI allows content as a list of parts; text parts are joined, anything else is refused."""
        if isinstance(value, list):
            if not all(isinstance(p, dict) and p.get("type") == "text" and isinstance(p.get("text"), str)
                       for p in value):
                raise ValueError("only text content parts are supported")
            return "".join(p["text"] for p in value)
        return value


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    model: str = Field(min_length=1, max_length=300)
    messages: list[ChatMessage] = Field(min_length=1, max_length=MAX_MESSAGES)
    stream: bool = False
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)  # the newer name of max_tokens
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, gt=0, le=1)
    seed: int | None = Field(default=None, ge=0, le=2**31 - 1)
    stop: str | list[str] | None = None
    presence_penalty: float | None = Field(default=None, ge=-2, le=2)
    frequency_penalty: float | None = Field(default=None, ge=-2, le=2)

    @property
    def requested_tokens(self) -> int | None:
        return self.max_completion_tokens or self.max_tokens

    def llama_body(self, alias: str, max_tokens: int) -> dict[str, Any]:
        """The body for llama_cpp.server: the options it honours, the model named by its alias."""
        body = self.model_dump(exclude_none=True, exclude={"model", "max_completion_tokens"})
        return {**body, "model": alias, "max_tokens": max_tokens}


class WireError(Exception):
    """A refusal in OpenAI's error shape: ``{"error": {"message", "type", "param", "code"}}``."""

    def __init__(self, status: int, message: str, type_: str = "invalid_request_error", param: str | None = None,
                 code: str | None = None, retry_after: int | None = None):
        super().__init__(message)
        self.status, self.message, self.type, self.param, self.code = status, message, type_, param, code
        self.retry_after = retry_after

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}


def parse_chat_request(data: Any) -> ChatRequest:
    if not isinstance(data, dict):
        raise WireError(400, "The body must be a JSON object.")
    try:
        return ChatRequest.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        param = ".".join(str(p) for p in first.get("loc", ()))
        raise WireError(400, f"{param}: {first.get('msg')}", param=param or None) from None


def completion_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex}"


def chat_completion(model: str, text: str, finish_reason: str, prompt_tokens: int, completion_tokens: int,
                    id_: str | None = None) -> dict[str, Any]:
    return {"id": id_ or completion_id(), "object": "chat.completion", "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "logprobs": None,
                         "finish_reason": finish_reason}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens}}


def chunk(id_: str, model: str, delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
    return {"id": id_, "object": "chat.completion.chunk", "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}]}


def sse(data: dict[str, Any] | str) -> bytes:
    """One server-sent event: ``data: <json>`` and a blank line (``data: [DONE]`` ends the stream)."""
    payload = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    return f"data: {payload}\n\n".encode()


DONE = sse("[DONE]")


def renamed_events(raw: bytes, model: str) -> tuple[list[bytes], bytes]:
    """Complete SSE events in ``raw`` with their ``model`` field set to ``model`` (llama.cpp's server may put its
    file path there; it names the alias when asked for it, and then the event's bytes go on untouched: JSON
    strings escape their quotes, so the unescaped ``"model": "<name>"`` can only be that key), and the
    incomplete rest. Each event goes out as soon as it is complete: no buffering
    beyond one event."""
    out: list[bytes] = []
    if b"\r" in raw:
        raw = raw.replace(b"\r\n", b"\n")  # sse-starlette may end lines with CRLF; a split CR rejoins its LF here
    named = b'"model": ' + json.dumps(model).encode()  # how the child writes it when it already says ``model``
    while True:
        end = raw.find(b"\n\n")
        if end < 0:
            return out, raw
        event, raw = raw[:end], raw[end + 2:]
        if event.startswith(b"data: {") and named in event:
            out.append(event + b"\n\n")  # already named as the version: passed on as is, no JSON round trip
        elif event.startswith(b"data: {"):
            try:
                payload = json.loads(event[6:])
            except ValueError:
                out.append(event + b"\n\n")
                continue
            payload["model"] = model
            out.append(sse(payload))
        else:
            out.append(event + b"\n\n")
