"""A real server process (`python flask_app.py`) on a free loopback port, for Socket.IO and browser tests."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LiveServer:
    url: str
    process: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def start_server(folder: Path, **env_overrides: str) -> LiveServer:
    port = free_port()
    folder.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ,
               TUNEWRIGHT_ENV="testing",
               TUNEWRIGHT_INSTANCE_DIR=str(folder / "instance"),
               TUNEWRIGHT_UPLOAD_DIR=str(folder / "uploads"),
               TUNEWRIGHT_OUTPUT_DIR=str(folder / "outputs"),
               TUNEWRIGHT_EXPORT_DIR=str(folder / "exports"),
               TUNEWRIGHT_CONFIG_DIR=str(folder / "configs"),
               TUNEWRIGHT_LOG_DIR=str(folder / "logs"),
               TUNEWRIGHT_MODEL_CACHE=str(folder / "models"),
               PYTHONUNBUFFERED="1")
    env.pop("DATABASE_URL", None)
    env.pop("TUNEWRIGHT_TOKEN", None)  # a token in the developer's shell would be enforced (loopback too)
    env.update(env_overrides)
    log_path = folder / "server.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen([sys.executable, "flask_app.py", "--port", str(port)], cwd=ROOT, env=env,
                                   stdout=log, stderr=subprocess.STDOUT)
    server = LiveServer(f"http://127.0.0.1:{port}", process, log_path)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{server.log()}")
        try:
            if requests.get(server.url + "/api/system/status", timeout=2).status_code < 500:  # 401: token mode
                return server
        except requests.ConnectionError:
            time.sleep(0.2)
    stop_server(server)
    raise RuntimeError(f"server did not answer within 60 s:\n{server.log()}")


def stop_server(server: LiveServer) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    server = start_server(tmp_path_factory.mktemp("live"), TUNEWRIGHT_MONITOR_INTERVAL="0.5")
    yield server
    stop_server(server)
