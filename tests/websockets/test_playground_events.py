"""Streaming generation received by a real Socket.IO client from a real server process."""
from __future__ import annotations

import threading

import pytest
import socketio

pytestmark = pytest.mark.slow


def test_tokens_stream_then_done_and_stop_works(live_server, tiny_model_dir):
    tokens: list[dict] = []
    finished: list[dict] = []
    done = threading.Event()
    client = socketio.Client(reconnection=False)
    client.on("test_token", tokens.append)

    @client.on("test_done")
    def on_done(data):
        finished.append(data)
        done.set()

    client.connect(live_server.url, transports=["websocket"], wait_timeout=10)
    try:
        ack = client.call("test_generate", {"model_id": f"base:{tiny_model_dir}", "prompt": "Count to ten.",
                                            "max_tokens": 12, "temperature": 0.8, "seed": 1}, timeout=30)
        assert ack["ok"], ack
        assert done.wait(180), "no test_done"
        result = finished[0]
        assert result["request_id"] == ack["request_id"] and "error" not in result, result
        assert len(tokens) >= 2 and all(t["request_id"] == ack["request_id"] for t in tokens)
        assert "".join(t["text"] for t in tokens) == result["text"] and result["tokens"] > 0

        done.clear()
        ack = client.call("test_generate", {"model_id": f"base:{tiny_model_dir}", "prompt": "Go on.",
                                            "max_tokens": 2000, "temperature": 0.8}, timeout=30)
        client.call("test_stop", {"request_id": ack["request_id"]}, timeout=30)
        assert done.wait(180)
        assert finished[-1]["stopped"] is True and finished[-1]["tokens"] < 2000

        refused = client.call("test_generate", {"model_id": "base:/nope", "prompt": "x"}, timeout=30)
        assert refused["ok"] is False and "not available" in refused["error"]
    finally:
        client.disconnect()
