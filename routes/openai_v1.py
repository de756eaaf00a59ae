"""The OpenAI-compatible API of deployed versions (``/v1``): ``GET /v1/models``, ``POST /v1/chat/completions``.

Errors here take OpenAI's shape (``{"error": {"message", "type", "param", "code"}}``) so that OpenAI clients
report them properly; another user's model is a 404 like one that does not exist. A streamed answer is passed on
event by event (``stream_with_context``; ``X-Accel-Buffering: no`` keeps a reverse proxy from holding it back).
"""
from __future__ import annotations

from flask import Blueprint, Response, jsonify, request, stream_with_context
from werkzeug.exceptions import HTTPException

from core.deploy.wire import ChatRequest, WireError
from routes.contract import Responses, api
from routes.schemas.openai import OpenAIChatCompletion, OpenAIModelList
from services.deploy import get_deployer
from services.errors import ServiceError

bp = Blueprint("openai_v1", __name__)


@bp.errorhandler(WireError)
def wire_error(error: WireError):
    headers = {"Retry-After": str(error.retry_after)} if error.retry_after else {}
    return jsonify(error.body()), error.status, headers


def _kind(status: int) -> str:
    return "rate_limit_error" if status == 429 else "invalid_request_error" if status < 500 else "server_error"


@bp.errorhandler(ServiceError)
def service_error(error: ServiceError):
    return wire_error(WireError(error.status_code, error.message, type_=_kind(error.status_code),
                                retry_after=getattr(error, "retry_after", None)))


@bp.errorhandler(HTTPException)
def http_error(error: HTTPException):
    """What Flask refuses before the deploy service sees the body (a NUL character or NaN in it, nesting too
    deep, a body too large) is in OpenAI's shape too."""
    status = error.code or 500
    return wire_error(WireError(status, error.description or error.name, type_=_kind(status)))


@bp.get("/models")
@api.validate(resp=Responses(HTTP_200=OpenAIModelList), tags=["openai"])
def models():
    """The caller's deployed versions that this studio serves now (OpenAI's model list)."""
    data = [{"id": row.ref, "object": "model", "created": int(row.created_at.timestamp()),
             "owned_by": "tunewright", "type": row.type, "framework": row.framework}
            for row in get_deployer().models()]
    return jsonify(object="list", data=data)


# ChatRequest documents the body; the deploy service validates it with that same model (parse_chat_request) and
# refuses in OpenAI's shape, {"error": {"message", "type", "param", "code"}} with the field in ``param``, which
# OpenAI clients report properly. SpecTree's gate would answer the studio's {"error": "...", "details"} instead,
# so it is skipped (skip_validation), and with it the check of the answer: a non-streamed answer is the model
# server's own JSON passed on (llama.cpp's server), whose extra or missing fields are not ours to turn into a 500.
@bp.post("/chat/completions")
@api.validate(json=ChatRequest, resp=Responses(HTTP_200=(OpenAIChatCompletion, (
    "The answer (chat.completion); with stream: true, text/event-stream instead: data: <chat.completion.chunk> "
    "events, then data: [DONE]."))), tags=["openai"], skip_validation=True)
def chat_completions():
    """Answer a chat with a deployed version (OpenAI's chat completions), streamed with ``stream: true``.

    ``model`` is name, name:v3 or name@alias (a bare name: its newest deployed version). Errors have OpenAI's
    shape ``{"error": {"message", "type", "param", "code"}}``; 429 with Retry-After when its queue is full."""
    result = get_deployer().chat(request.get_json(silent=True))
    if isinstance(result, dict):
        return jsonify(result)
    return Response(stream_with_context(result), mimetype="text/event-stream",
                    headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
