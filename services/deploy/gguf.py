"""A deployed GGUF: a supervised llama.cpp server child (core/deploy/gguf_server.py) and the proxy to it.

The studio opens a loopback socket, hands it to the child with a random API key, and waits until the child
answers (its model is loaded before it serves). Requests are forwarded as they come; a streamed answer is
passed on event by event as the child writes it (``iter_content(chunk_size=None)`` yields what has arrived, and
each complete SSE event is forwarded at once with its ``model`` field set to the version's name: the child puts
its file path there). Stopping kills the child's whole process group.
"""
from __future__ import annotations

import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import requests

from config import PROJECT_ROOT
from core.deploy.wire import ChatRequest, WireError, renamed_events

log = logging.getLogger(__name__)

STOP_GRACE = 5.0  # seconds between SIGTERM and SIGKILL


class StartError(Exception):
    """The child did not come up: the message says why (its log's last lines)."""


def _tail(path: Path, lines: int = 8) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").strip().splitlines()[-lines:])
    except OSError:
        return ""


class GGUFServer:
    kind = "llama.cpp server"

    def __init__(self, ref: str, path: str, log_path: Path, *, n_ctx: int, start_seconds: float,
                 time_limit: float, on_exit: Callable[[int], None]):
        self.ref, self.path, self.log_path = ref, path, log_path
        self.n_ctx, self.start_seconds, self.time_limit = n_ctx, start_seconds, time_limit
        self.on_exit = on_exit
        self.process: subprocess.Popen | None = None
        self.url = ""
        self._key = secrets.token_urlsafe(24)
        self._http = requests.Session()
        self._http.headers["Authorization"] = f"Bearer {self._key}"
        self._stopping = False

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None and self.process.poll() is None else None

    # -- lifecycle ------------------------------------------------------------------------------------------
    def start(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        self.url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        env = {**os.environ, "TUNEWRIGHT_DEPLOY_KEY": self._key}
        command = [sys.executable, "-m", "core.deploy.gguf_server", "--model", self.path, "--alias", self.ref,
                   "--fd", str(listener.fileno()), "--n-ctx", str(self.n_ctx), "--parent", str(os.getpid())]
        with open(self.log_path, "ab") as log_file:
            self.process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdin=subprocess.DEVNULL,
                                            stdout=log_file, stderr=subprocess.STDOUT, pass_fds=(listener.fileno(),),
                                            start_new_session=True)  # its own group: stop() kills all of it
        listener.close()
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        threading.Thread(target=self._watch, name=f"deploy-{self.ref}", daemon=True).start()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.start_seconds
        while time.monotonic() < deadline:
            code = self.process.poll()
            if code is not None:
                raise StartError(f"the llama.cpp server exited with code {code} while loading "
                                 f"{Path(self.path).name}: {_tail(self.log_path) or 'no output'}")
            try:
                if self._http.get(self.url + "/v1/models", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise StartError(f"the llama.cpp server did not answer within {self.start_seconds:g} s")

    def _watch(self) -> None:
        """The supervisor: a child that ends without being stopped is reported (its version stops being
        deployed)."""
        code = self.process.wait()
        if not self._stopping:
            log.warning("llama.cpp server of %s exited with code %s", self.ref, code)
            self.on_exit(code)

    def stop(self) -> None:
        self._stopping = True
        process = self.process
        if process is None or process.poll() is not None:
            return
        for sig, wait in ((signal.SIGTERM, STOP_GRACE), (signal.SIGKILL, STOP_GRACE)):
            try:
                os.killpg(process.pid, sig)
            except ProcessLookupError:
                break
            try:
                process.wait(wait)
                break
            except subprocess.TimeoutExpired:
                continue
        self._http.close()

    # -- requests -------------------------------------------------------------------------------------------
    def _post(self, request: ChatRequest, max_tokens: int, stream: bool) -> requests.Response:
        try:
            response = self._http.post(self.url + "/v1/chat/completions", stream=stream,
                                       json={**request.llama_body(self.ref, max_tokens), "stream": stream},
                                       timeout=(5, self.time_limit))
        except requests.RequestException as exc:
            raise WireError(502, f"The llama.cpp server of {self.ref} did not answer: {exc}", type_="server_error")
        if response.status_code != 200:
            message = _error_message(response)
            response.close()
            status = 400 if response.status_code in (400, 422) else 502
            raise WireError(status, f"{self.ref}: {message}", type_="invalid_request_error" if status == 400
                            else "server_error")
        return response

    def complete(self, request: ChatRequest, max_tokens: int) -> dict[str, Any]:
        result = self._post(request, max_tokens, stream=False).json()
        result["model"] = self.ref
        return result

    def stream(self, request: ChatRequest, max_tokens: int) -> Iterator[bytes]:
        """Opens the stream now (an error is raised before any byte is sent), then yields SSE events."""
        response = self._post(request, max_tokens, stream=True)

        def events() -> Iterator[bytes]:
            rest = b""
            try:
                for piece in response.iter_content(chunk_size=None):
                    ready, rest = renamed_events(rest + piece, self.ref)
                    yield from ready
                if rest.strip():
                    yield rest
            finally:
                response.close()

        return events()


def _error_message(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:500] or f"HTTP {response.status_code}"
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return str(error.get("message"))[:2000]
    return str(body.get("detail") or body)[:2000] if isinstance(body, dict) else str(body)[:2000]
