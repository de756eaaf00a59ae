"""The smoke check a version passes before it is marked deployed: one greedy chat request through the very
backend that will serve it. It checks the two things a client relies on first: the chat template renders, and
the answer ends on the model's stop tokens within the token limit (a model that never stops would answer every
request with ``max_tokens`` of text and hold its queue for the whole time)."""
from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Any

from core.deploy.wire import ChatMessage, ChatRequest, WireError

PROMPT = "Say hello in one short sentence."


def _template_problem(message: str) -> bool:
    lowered = message.lower()
    return "template" in lowered or "jinja" in lowered


def smoke_check(backend: Any, ref: str, system_prompt: str | None, max_tokens: int) -> dict[str, Any]:
    """``{"ok", "reason", "stage", "answer", "finish_reason", "completion_tokens", "max_tokens", "seconds",
    "checked_at"}``; ``stage`` names what failed: ``template``, ``generate`` or ``stop``."""
    messages = ([ChatMessage(role="system", content=system_prompt)] if system_prompt else []) + \
               [ChatMessage(role="user", content=PROMPT)]
    request = ChatRequest(model=ref, messages=messages, temperature=0.0, seed=0)
    result: dict[str, Any] = {"ok": False, "prompt": PROMPT, "max_tokens": max_tokens, "backend": backend.kind,
                              "checked_at": datetime.now(timezone.utc).isoformat()}
    started = time.monotonic()
    try:
        answer = backend.complete(request, max_tokens)
    except WireError as exc:
        result["seconds"] = round(time.monotonic() - started, 3)
        if _template_problem(exc.message):
            return {**result, "stage": "template", "reason": f"the chat template did not render: {exc.message}"}
        return {**result, "stage": "generate", "reason": f"the smoke request failed: {exc.message}"}
    result["seconds"] = round(time.monotonic() - started, 3)
    choice = answer["choices"][0]
    result.update(answer=(choice.get("message") or {}).get("content") or "", finish_reason=choice.get("finish_reason"),
                  completion_tokens=(answer.get("usage") or {}).get("completion_tokens"))
    if choice.get("finish_reason") != "stop":
        return {**result, "stage": "stop",
                "reason": f"the answer did not end on a stop token within {max_tokens} tokens (finish_reason "
                          f"{choice.get('finish_reason')!r}): the model does not end its answers"}
    return {**result, "ok": True, "reason": None, "stage": None}
