"""Streaming generation for the Test step: ``test_generate`` starts one, tokens arrive as ``test_token`` in the
asking client's own room (its sid), then ``test_done``; ``test_stop`` cancels it."""
from __future__ import annotations

from flask import current_app, request

from extensions import socketio
from services.errors import ServiceError
from services.playground import clean_settings, get_playground
from websockets.emit import safe_emit


@socketio.on("test_generate")
def on_test_generate(data):
    data = data or {}
    sid = request.sid
    playground = get_playground()
    app = current_app._get_current_object()
    try:
        prompt = str(data.get("prompt") or "").strip()
        if not prompt:
            raise ServiceError("Write a prompt first.")
        model = playground.resolve(data.get("model_id"), data.get("session_id"))
        settings = clean_settings(data)
    except ServiceError as exc:
        return {"ok": False, "error": exc.message}
    tag = data.get("tag")  # lets a page tell two streams apart (compare)

    def on_event(event: dict) -> None:
        payload = {"request_id": event["request_id"], "model_id": model["id"], "tag": tag}
        if event["type"] == "token":
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

    messages = playground.messages(model, prompt, data.get("system_prompt"))
    request_id = playground.submit(model["spec"], messages, settings, on_event)
    return {"ok": True, "request_id": request_id, "model_id": model["id"]}


@socketio.on("test_stop")
def on_test_stop(data):
    get_playground().cancel(str((data or {}).get("request_id", "")))
    return {"ok": True}
