"""A deployed transformers/PEFT version: the Test step's inference worker code (services/inference_client.py and
core/inference/worker.py), one worker process per deployed version.

Its own process rather than the Test step's shared worker: API traffic and the Test step do not queue behind
each other, the model stays loaded while it is deployed (the shared worker's cache may drop it for a Test-step
model), and undeploying ends the process, which returns its memory exactly. The worker streams text pieces; this
module writes them in the OpenAI wire format.
"""
from __future__ import annotations

import queue
from collections.abc import Iterator
from typing import Any

from core.deploy import wire
from core.deploy.wire import ChatRequest, WireError
from services.inference_client import InferenceClient

ERROR_STATUS = {"too_long": 400, "timeout": 504}


class WorkerModel:
    kind = "inference worker"

    def __init__(self, app, ref: str, spec: dict, queue_size: int, log_name: str):
        self.ref, self.spec = ref, spec
        self.client = InferenceClient(app, queue_size=queue_size, log_name=log_name)
        self.wait_seconds = self.client.time_limit + self.client.load_seconds + 30

    @property
    def pid(self) -> int | None:
        return self.client.pid

    def start(self) -> None:
        """Nothing to wait for: the worker starts and loads the model on the first (smoke) request."""

    def stop(self) -> None:
        self.client.shutdown()

    def _submit(self, request: ChatRequest, max_tokens: int) -> tuple[str, queue.Queue]:
        if request.stop:
            raise WireError(400, f"{self.ref} is served by transformers, which stops on the model's own stop tokens: "
                                 "'stop' is not supported here.", param="stop")
        settings: dict[str, Any] = {"max_tokens": max_tokens}
        for key in ("temperature", "top_p", "seed"):
            value = getattr(request, key)
            if value is not None:
                settings[key] = value
        events: queue.Queue = queue.Queue()
        messages = [m.model_dump() for m in request.messages]
        request_id = self.client.submit({"op": "generate", "spec": self.spec, "messages": messages,
                                         "settings": settings}, events.put)
        return request_id, events

    def _next(self, events: queue.Queue, request_id: str) -> dict:
        try:
            event = events.get(timeout=self.wait_seconds)
        except queue.Empty:
            self.client.cancel(request_id)
            raise WireError(504, f"{self.ref} did not answer in time.", type_="server_error") from None
        if event["type"] == "error":
            raise WireError(ERROR_STATUS.get(event.get("code"), 500), f"{self.ref}: {event.get('message')}",
                            type_="invalid_request_error" if event.get("code") == "too_long" else "server_error")
        return event

    def complete(self, request: ChatRequest, max_tokens: int) -> dict[str, Any]:
        request_id, events = self._submit(request, max_tokens)
        while (event := self._next(events, request_id))["type"] != "done":
            pass
        return wire.chat_completion(self.ref, event.get("text", ""), _finish(event, max_tokens),
                                    int(event.get("prompt_tokens") or 0), int(event.get("tokens") or 0))

    def stream(self, request: ChatRequest, max_tokens: int) -> Iterator[bytes]:
        """Waits for the first token (an early error, e.g. a chat template that does not render, is raised
        before any byte is sent), then yields SSE events as the worker produces tokens."""
        request_id, events = self._submit(request, max_tokens)
        first = self._next(events, request_id)
        id_ = wire.completion_id()

        def chunks() -> Iterator[bytes]:
            event, finished = first, False
            try:
                yield wire.sse(wire.chunk(id_, self.ref, {"role": "assistant", "content": ""}))
                while True:
                    if event["type"] == "token":
                        yield wire.sse(wire.chunk(id_, self.ref, {"content": event["text"]}))
                    elif event["type"] == "done":
                        finished = True
                        yield wire.sse(wire.chunk(id_, self.ref, {}, _finish(event, max_tokens)))
                        yield wire.DONE
                        return
                    try:
                        event = self._next(events, request_id)
                    except WireError as exc:  # headers are sent: the error travels as an event
                        finished = True
                        yield wire.sse(exc.body())
                        return
            finally:
                if not finished:  # the client went away: stop generating
                    self.client.cancel(request_id)

        return chunks()


def _finish(event: dict, max_tokens: int) -> str:
    reason = event.get("finish_reason")
    if reason in ("stop", "length"):
        return reason
    return "length" if int(event.get("tokens") or 0) >= max_tokens else "stop"

