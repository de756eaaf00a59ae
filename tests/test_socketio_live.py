"""A real python-socketio client against a real server process receives `system_update` events."""
from __future__ import annotations

import threading
import time

import pytest
import requests
import socketio

from tests.live_server import start_server, stop_server
from tests.test_system_monitor import check_sample

pytestmark = pytest.mark.slow


def collect(url: str, count: int, timeout: float = 20.0) -> list[dict]:
    received: list[dict] = []
    done = threading.Event()
    client = socketio.Client(reconnection=False)

    @client.on("system_update")
    def on_update(data):
        received.append(data)
        if len(received) >= count:
            done.set()

    client.connect(url, transports=["websocket"], wait_timeout=10)
    try:
        assert done.wait(timeout), f"only {len(received)} system_update events in {timeout} s"
    finally:
        client.disconnect()
    return received


def test_client_receives_live_system_updates(live_server):
    events = collect(live_server.url, count=4)
    for event in events:
        check_sample(event)
    stamps = [event["timestamp"] for event in events]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)  # fresh samples, not one repeated


def test_one_sampler_serves_every_client(live_server):
    results: dict[str, list[dict]] = {}
    threads = [threading.Thread(target=lambda name=name: results.__setitem__(name, collect(live_server.url, 5)))
               for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(40)
    # Past the sample each client gets on connect, both see the same broadcast samples.
    common = {e["timestamp"] for e in results["a"][1:]} & {e["timestamp"] for e in results["b"][1:]}
    assert len(common) >= 2
    # A second sampler would interleave its samples: consecutive broadcasts would come closer than the interval.
    stamps = sorted({e["timestamp"] for e in results["a"][1:]})
    assert min(b - a for a, b in zip(stamps, stamps[1:])) > 0.3  # interval is 0.5 s


def test_page_and_vendored_assets_are_served(live_server):
    page = requests.get(live_server.url + "/", timeout=10)
    assert page.status_code == 200 and 'id="system-bar"' in page.text
    for asset in ("vendor/socket.io.min.js", "vendor/chart.umd.min.js", "vendor/bootstrap.min.css", "js/system_bar.js"):
        assert requests.get(f"{live_server.url}/static/{asset}", timeout=10).status_code == 200, asset


def test_eventlet_mode_serves_pages_and_events(tmp_path):
    """DESIGN §2: eventlet may be chosen for the web process; it must still serve pages and events."""
    server = start_server(tmp_path, TUNEWRIGHT_ASYNC_MODE="eventlet", TUNEWRIGHT_MONITOR_INTERVAL="0.3")
    try:
        assert requests.get(server.url + "/wizard/model", timeout=10).status_code == 200
        started = time.monotonic()
        events = collect(server.url, count=3)
        assert time.monotonic() - started < 15
        check_sample(events[-1])
    finally:
        stop_server(server)
