"""One way for commands to call Tunewright's JSON API, in this process or on a server.

``LocalApi`` builds the app here (no server is started) and calls the same routes through Flask's test
client; ``RemoteApi`` sends the same requests to ``--server URL``. So a command is written once, validation
and error messages are the server's own, and a local run lands in the same database the studio reads.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Protocol


class ApiError(Exception):
    """A 4xx/5xx answer: ``message`` and the ``details`` list of ``{path, message, hint}``."""

    def __init__(self, status: int, message: str, details: list | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = details or []


class Api(Protocol):
    url: str

    def call(self, method: str, path: str, json: Any = None, params: dict | None = None) -> dict: ...

    def upload(self, path: str, file: Path, fields: dict[str, str]) -> dict: ...


def _answer(status: int, body: Any) -> dict:
    if status >= 400:
        if isinstance(body, dict):
            raise ApiError(status, str(body.get("error") or f"HTTP {status}"), body.get("details"))
        raise ApiError(status, f"HTTP {status}")
    return body if isinstance(body, dict) else {"data": body}


def auth_headers(token: str | None = None) -> dict[str, str]:
    token = token or os.environ.get("TUNEWRIGHT_TOKEN")
    return {"Authorization": f"Bearer {token}"} if token else {}


class LocalApi:
    """The app in this process. Training sessions it starts run under this process's supervisor.

    The requests pass the app's access checks like any other: when this machine's config requires the token
    (a configured ``TUNEWRIGHT_TOKEN``, or a bind beyond loopback such as the production config's), ``--token``
    or ``TUNEWRIGHT_TOKEN`` is sent as a Bearer token."""

    def __init__(self, app, token: str | None = None):
        self.app = app
        self.url = f"local database ({app.config['SQLALCHEMY_DATABASE_URI'].split('://', 1)[0]})"
        self.headers = auth_headers(token)
        self._client = app.test_client()

    def call(self, method: str, path: str, json: Any = None, params: dict | None = None) -> dict:
        response = self._client.open("/api" + path, method=method.upper(), json=json, query_string=params,
                                     headers=self.headers)
        return self._answer(response)

    def upload(self, path: str, file: Path, fields: dict[str, str]) -> dict:
        with open(file, "rb") as handle:
            response = self._client.post("/api" + path, data={**fields, "file": (handle, file.name)},
                                         content_type="multipart/form-data", headers=self.headers)
        return self._answer(response)

    def _answer(self, response) -> dict:
        if response.status_code == 401:
            raise ApiError(401, self._token_help())
        return _answer(response.status_code, response.get_json(silent=True))

    def _token_help(self) -> str:
        """Why this process's own app refused it, in the terms of the environment a user controls."""
        from services.security import generated_token

        bind = self.app.config.get("BIND_HOST")
        if generated_token(self.app):
            return (f"this machine's config requires the access token (the studio binds to {bind}, beyond loopback: "
                    "TUNEWRIGHT_HOST or TUNEWRIGHT_ENV=production) and TUNEWRIGHT_TOKEN is not set: set "
                    "TUNEWRIGHT_TOKEN to the studio's token")
        if not self.headers:
            return "this machine's config requires its access token: set TUNEWRIGHT_TOKEN or pass --token"
        return "the access token given (--token) is not the one this machine's config sets (TUNEWRIGHT_TOKEN)"


class RemoteApi:
    """A running Tunewright server; ``TUNEWRIGHT_TOKEN`` (or ``--token``) is sent as a Bearer token."""

    def __init__(self, url: str, token: str | None = None, timeout: float = 60):
        import requests

        self.url = url.rstrip("/")
        self.headers = auth_headers(token)
        self.timeout = timeout
        self._session = requests.Session()
        self._session.headers.update(self.headers)

    def _send(self, method: str, path: str, **kwargs) -> dict:
        import requests

        try:
            response = self._session.request(method.upper(), self.url + "/api" + path, timeout=self.timeout,
                                             **kwargs)
        except requests.RequestException as exc:
            raise ApiError(0, f"cannot reach {self.url}: {exc}") from None
        try:
            body = response.json()
        except ValueError:
            body = None
        return _answer(response.status_code, body)

    def call(self, method: str, path: str, json: Any = None, params: dict | None = None) -> dict:
        return self._send(method, path, json=json, params=params)

    def upload(self, path: str, file: Path, fields: dict[str, str]) -> dict:
        with open(file, "rb") as handle:  # requests streams the multipart body from the open file
            return self._send("POST", path, data=fields, files={"file": (file.name, handle)})
