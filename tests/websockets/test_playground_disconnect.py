"""Issue 18: a closed tab must not keep the inference worker busy. A real Socket.IO client starts a long stream
on a real server process and goes away after the first tokens; the server cancels the generation at the next
token and the next request is answered at once."""
from __future__ import annotations

import threading
import time

import pytest
import requests
import socketio

pytestmark = pytest.mark.slow


def test_a_client_that_disconnects_mid_stream_frees_the_worker(live_server, tiny_model_dir):
    prompt = f"Count to a thousand, slowly ({time.monotonic()})."  # unique: find this stream in the history
    first_token = threading.Event()
    client = socketio.Client(reconnection=False)
    client.on("test_token", lambda data: first_token.set())
    client.connect(live_server.url, transports=["websocket"], wait_timeout=10)
    try:
        ack = client.call("test_generate", {"model_id": f"base:{tiny_model_dir}", "prompt": prompt,
                                            "max_tokens": 2048, "temperature": 0}, timeout=30)
        assert ack["ok"], ack
        assert first_token.wait(120), "no token"
    finally:
        client.disconnect()

    started = time.monotonic()
    quick = requests.post(live_server.url + "/api/models/test", timeout=120,
                          json={"model_id": f"base:{tiny_model_dir}", "prompt": "Hi", "max_tokens": 2,
                                "temperature": 0})
    assert quick.status_code == 200, quick.text
    runs = requests.get(live_server.url + "/api/models/history", timeout=30).json()["runs"]
    stream = next(r for r in runs if r["prompt"] == prompt)
    assert stream["kind"] == "stream" and stream["tokens"] < 500, stream["tokens"]  # cancelled, not 2048
    assert time.monotonic() - started < 60
