"""Streaming generation for the Test step: ``test_generate`` starts one, tokens arrive as ``test_token`` in the
asking client's own room (its sid), then ``test_done``; ``test_stop`` cancels it. A client that goes away
(closed tab, lost connection) cancels its generation at the next token: nobody is left to read it."""
from __future__ import annotations

from flask import current_app, request

from extensions import socketio
from services.errors import ServiceError
from services.generation_input import clean_prompt, clean_settings, clean_system_prompt
from services.inference_client import BusyError
from services.playground import get_playground
from websockets.emit import safe_emit


def _connected(sid: str) -> bool:
    try:
        return socketio.server.manager.is_connected(sid, "/")
    except Exception:  # a manager without the check: keep streaming
        return True


@socketio.on("test_generate")
def on_test_generate(data):
    data = data if isinstance(data, dict) else {}
    sid = request.sid
    playground = get_playground()
    app = current_app._get_current_object()
    try:
        prompt = clean_prompt(data.get("prompt"))
        system_prompt = clean_system_prompt(data.get("system_prompt"))
        settings = clean_settings(data)
        model = playground.resolve(data.get("model_id"), data.get("session_id"))
    except ServiceError as exc:
        return {"ok": False, "error": exc.message}
    tag = data.get("tag")  # lets a page tell two streams apart (compare)
    cancelled = []

    def on_event(event: dict) -> None:
        payload = {"request_id": event["request_id"], "model_id": model["id"], "tag": tag}
        if event["type"] == "token":
            if not cancelled and not _connected(sid):
                cancelled.append(True)
                playground.cancel(event["request_id"])
            elif not cancelled:
                safe_emit("test_token", {**payload, "text": event["text"]}, to=sid)
            return
        if event["type"] == "done":
            with app.app_context():
                run_id = playground.record("stream", model["id"], prompt, settings, event).id
            payload.update(text=event["text"], tokens=event["tokens"], seconds=event["seconds"],
                           stopped=event["stopped"], run_id=run_id)
        else:
            payload.update(error=event["message"])
        safe_emit("test_done", payload, to=sid)

    messages = playground.messages(model, prompt, system_prompt)
    try:
        request_id = playground.submit(model["spec"], messages, settings, on_event)
    except BusyError as exc:
        return {"ok": False, "error": exc.message, "retry_after": exc.retry_after}
    return {"ok": True, "request_id": request_id, "model_id": model["id"]}


@socketio.on("test_stop")
def on_test_stop(data):
    get_playground().cancel(str((data if isinstance(data, dict) else {}).get("request_id", "")))
    return {"ok": True}
