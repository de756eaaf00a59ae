"""Streaming generation for the Test step: ``test_generate`` starts one, tokens arrive as ``test_token`` in the
asking client's own room (its sid), then ``test_done``; ``test_stop`` cancels it. A client that goes away
(closed tab, lost connection) cancels its generation at the next token: nobody is left to read it.

Accounts mode: a model reference must name the user's own session or export (another user's answers as a missing
one), and ``test_stop`` stops only the user's own generations (an admin's: anyone's); request ids are counters."""
from __future__ import annotations

import threading

from flask import current_app, request

from extensions import socketio
from services.auth.current import current_principal
from services.errors import ServiceError
from services.generation_input import clean_prompt, clean_settings, clean_system_prompt
from services.inference_client import BusyError
from services.playground import get_playground
from websockets.access import check_model_reference
from websockets.emit import safe_emit
from websockets.registry import on

_owners: dict[str, int | None] = {}  # request id -> the user who started it, while it runs
_owners_lock = threading.Lock()


def _connected(sid: str) -> bool:
    try:
        return socketio.server.manager.is_connected(sid, "/")
    except Exception:  # a manager without the check: keep streaming
        return True


@on("test_generate")
def on_test_generate(data):
    data = data if isinstance(data, dict) else {}
    sid = request.sid
    playground = get_playground()
    app = current_app._get_current_object()
    try:
        prompt = clean_prompt(data.get("prompt"))
        system_prompt = clean_system_prompt(data.get("system_prompt"))
        settings = clean_settings(data)
        check_model_reference(data.get("model_id"), data.get("session_id"))
        model = playground.resolve(data.get("model_id"), data.get("session_id"))
    except ServiceError as exc:
        return {"ok": False, "error": exc.message}
    tag = data.get("tag")  # lets a page tell two streams apart (compare)
    cancelled, finished = [], []

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
        with _owners_lock:
            finished.append(True)
            _owners.pop(event["request_id"], None)
        safe_emit("test_done", payload, to=sid)

    messages = playground.messages(model, prompt, system_prompt)
    user_id = current_principal().user_id
    try:
        request_id = playground.submit(model["spec"], messages, settings, on_event)
    except BusyError as exc:
        return {"ok": False, "error": exc.message, "retry_after": exc.retry_after}
    with _owners_lock:
        if not finished:  # a request that ended already needs no owner
            _owners[request_id] = user_id
    return {"ok": True, "request_id": request_id, "model_id": model["id"]}


@on("test_stop")
def on_test_stop(data):
    request_id = str((data if isinstance(data, dict) else {}).get("request_id", ""))
    principal = current_principal()
    with _owners_lock:
        mine = request_id in _owners and (_owners[request_id] == principal.user_id or principal.is_admin)
    if mine or principal.user_id is None:  # single mode (or the bootstrap token): as before
        get_playground().cancel(request_id)
    return {"ok": True}  # the same answer either way: a request id of someone else's reveals nothing
