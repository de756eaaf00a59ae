"""A small Python client for the job API (``/api/v1/jobs``), RAG endpoints, the model registry and projects
(``/api/projects``), for scripts and CI.

    from clients import TunewrightClient

    client = TunewrightClient("http://127.0.0.1:5000")          # token=... for a server that needs one
    job = client.create_job(name="faq", training_type="rag", model_name="smollm2:135m", dataset_id=3)
    client.wait(job["id"])                                       # polls /status until the job ends
    client.download(job["id"], "faq-index.tar.gz")
    print(client.retrieve(job["id"], "How do I reset my password?", top_k=3))

    project = client.create_project(name="maths", max_rows=2000, traits=[{"trait_type": "reasoning",
                                    "datasets": [{"source": "builtin:arithmetic", "percentage": 100}]}])
    client.start_project(project["id"])
    client.wait_project(project["id"])                           # the run ends and its output is validated

``token`` (default ``$TUNEWRIGHT_TOKEN``) travels as ``Authorization: Bearer``: on a studio with accounts a
personal access token (``tw_…``, made on the Account page or by ``POST /api/auth/tokens``) or a JWT
(``TunewrightClient.login(url, username, password)`` exchanges a password for one at ``POST /api/auth/token``;
it lasts 30 minutes); on a single-user studio its access token.

Needs only ``requests``. Errors from the server raise :class:`TunewrightError` with its message, the HTTP
status and the ``details`` list ({path, message, hint}) the API sends.
"""
from __future__ import annotations

import os
import time
from urllib.parse import quote
from pathlib import Path
from typing import Any

import requests

FINAL_STATUSES = {"completed", "failed", "stopped", "interrupted"}


class TunewrightError(RuntimeError):
    def __init__(self, status: int, message: str, details: list | None = None):
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message
        self.details = details or []


class JobFailed(TunewrightError):
    """``wait`` saw the job end in another status than ``completed``."""


class TunewrightClient:
    def __init__(self, base_url: str = "http://127.0.0.1:5000", token: str | None = None, timeout: float = 30.0):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()
        token = token or os.environ.get("TUNEWRIGHT_TOKEN")
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    @classmethod
    def login(cls, base_url: str, username: str, password: str, **kwargs: Any) -> "TunewrightClient":
        """A client holding a JWT for these credentials (``POST /api/auth/token``; short-lived: for a long
        script, create a personal access token once and pass it as ``token=``)."""
        anonymous = cls(base_url, token=None, **kwargs)
        anonymous.session.headers.pop("Authorization", None)  # not $TUNEWRIGHT_TOKEN: this is the sign-in
        answer = anonymous._json("POST", "/api/auth/token", json={"username": username, "password": password})
        return cls(base_url, token=answer["access_token"], **kwargs)

    def me(self) -> dict:
        """``{user, via, scopes}``: who this client's token signs in as (accounts mode)."""
        return self._json("GET", "/api/auth/me")

    # -- plumbing -------------------------------------------------------------------------------------------
    def _request(self, method: str, path: str, **kwargs) -> requests.Response:
        response = self.session.request(method, self.base_url + path, timeout=kwargs.pop("timeout", self.timeout),
                                        **kwargs)
        if response.status_code >= 400:
            try:
                body = response.json()
            except ValueError:
                body = {"error": response.text[:500]}
            raise TunewrightError(response.status_code, body.get("error", response.reason), body.get("details"))
        return response

    def _json(self, method: str, path: str, **kwargs) -> Any:
        return self._request(method, path, **kwargs).json()

    # -- datasets -------------------------------------------------------------------------------------------
    def upload_dataset(self, path: str | os.PathLike, timeout: float = 600.0, **form: str) -> dict:
        """Upload a JSON / JSONL / CSV / Parquet file and wait until the server has processed it."""
        path = Path(path)
        with open(path, "rb") as handle:
            dataset = self._json("POST", "/api/datasets/upload", files={"file": (path.name, handle)}, data=form,
                                 timeout=max(self.timeout, 600))["dataset"]
        deadline = time.monotonic() + timeout
        while dataset["status"] == "Processing":
            if time.monotonic() > deadline:
                raise TimeoutError(f"dataset {dataset['id']} still processing after {timeout} s")
            time.sleep(0.5)
            dataset = self._json("GET", f"/api/datasets/{dataset['id']}")["dataset"]
        if dataset["status"] != "Ready":
            raise TunewrightError(200, f"dataset {dataset['id']} is {dataset['status']}: {dataset.get('error')}")
        return dataset

    # -- jobs -----------------------------------------------------------------------------------------------
    def methods(self) -> list[dict]:
        return self._json("GET", "/api/training/methods")["methods"]

    def create_job(self, **payload: Any) -> dict:
        """``name, description, training_type, model_name, dataset_id, epochs, batch_size, learning_rate, ...``"""
        return self._json("POST", "/api/v1/jobs/", json=payload)

    def list_jobs(self) -> list[dict]:
        return self._json("GET", "/api/v1/jobs/")["jobs"]

    def get_job(self, job_id: str) -> dict:
        return self._json("GET", f"/api/v1/jobs/{job_id}")

    def status(self, job_id: str) -> dict:
        return self._json("GET", f"/api/v1/jobs/{job_id}/status")

    def cancel(self, job_id: str) -> dict:
        return self._json("POST", f"/api/v1/jobs/{job_id}/cancel")

    def wait(self, job_id: str, timeout: float = 3600.0, poll: float = 2.0, raise_on_failure: bool = True) -> dict:
        """Poll until the job ends; returns its last status (raises :class:`JobFailed` unless completed)."""
        deadline = time.monotonic() + timeout
        while True:
            status = self.status(job_id)
            if status["status"] in FINAL_STATUSES:
                if raise_on_failure and status["status"] != "completed":
                    raise JobFailed(200, f"job {job_id} ended {status['status']}: {status.get('error')}")
                return status
            if time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} still {status['status']} after {timeout} s")
            time.sleep(poll)

    def download(self, job_id: str, destination: str | os.PathLike) -> Path:
        """Save the job's output (a file, or a ``.tar.gz`` of its folder) to ``destination``; streamed."""
        destination = Path(destination)
        with self._request("GET", f"/api/v1/jobs/{job_id}/download", stream=True) as response:
            with open(destination, "wb") as out:
                for chunk in response.iter_content(chunk_size=1 << 20):
                    out.write(chunk)
        return destination

    # -- projects -------------------------------------------------------------------------------------------
    def projects(self) -> list[dict]:
        return self._json("GET", "/api/projects")["projects"]

    def project(self, project_id: int) -> dict:
        """The project with ``status`` (``draft``, then its latest run's), ``session_id`` and ``validation``."""
        return self._json("GET", f"/api/projects/{int(project_id)}")["project"]

    def create_project(self, **body: Any) -> dict:
        """``name, description, base_model, training_type, max_rows, output_dir, traits, mix, config``; a bad body
        raises :class:`TunewrightError` whose ``details`` list every problem with its path."""
        return self._json("POST", "/api/projects", json=body)["project"]

    def update_project(self, project_id: int, **changes: Any) -> dict:
        """Merge ``changes`` into the stored body (validated whole); refused (409) while its run is active."""
        return self._json("PATCH", f"/api/projects/{int(project_id)}", json=changes)["project"]

    def check_project(self, body: dict) -> dict:
        """``{valid, errors, output_dir?}``: the create rules without storing anything (a bad body does not raise)."""
        return self._json("POST", "/api/projects/check", json=body)

    def preview_project(self, body_or_id: dict | int) -> dict:
        """Rows, shares and shortfalls per dataset of a body's mix, or of a stored project's (by id)."""
        if isinstance(body_or_id, dict):
            return self._json("POST", "/api/projects/preview", json=body_or_id,
                              timeout=max(self.timeout, 300))["preview"]
        return self._json("GET", f"/api/projects/{int(body_or_id)}/preview", timeout=max(self.timeout, 300))["preview"]

    def start_project(self, project_id: int, priority: str | None = None) -> dict:
        """Freeze the mix into a new run and queue it; the project comes back with its ``session_id``."""
        body = {"priority": priority} if priority else None
        return self._json("POST", f"/api/projects/{int(project_id)}/start", json=body,
                          timeout=max(self.timeout, 600))["project"]

    def validate_project(self, project_id: int) -> dict:
        """Check the latest completed run's output again: ``{passed, checks: [{name, passed, detail}], ...}``."""
        return self._json("POST", f"/api/projects/{int(project_id)}/validate", timeout=max(self.timeout, 600))

    def project_manifest(self, project_id: int) -> dict:
        """The frozen mix of the latest run: sources with checksums and counts, per-trait counts, file hashes."""
        return self._json("GET", f"/api/projects/{int(project_id)}/manifest")["manifest"]

    def delete_project(self, project_id: int) -> dict:
        return self._json("DELETE", f"/api/projects/{int(project_id)}")

    def wait_project(self, project_id: int, timeout: float = 3600.0, poll: float = 2.0,
                     raise_on_failure: bool = True) -> dict:
        """Poll until the project's run ends and, when it completed, its validation (run by the server after
        the run) is stored; returns the project. Raises :class:`JobFailed` for a run that did not complete or
        an output that failed validation."""
        deadline = time.monotonic() + timeout
        while True:
            project = self.project(project_id)
            if project["status"] == "draft":
                raise TunewrightError(409, f"project {project_id} has not been started (start_project first)")
            if _project_settled(project):
                if raise_on_failure:
                    _raise_unless_passed(project)
                return project
            if time.monotonic() > deadline:
                waiting = "its validation" if project["status"] == "completed" else project["status"]
                raise TimeoutError(f"project {project_id} still waiting for {waiting} after {timeout} s")
            time.sleep(poll)

    # -- RAG ------------------------------------------------------------------------------------------------
    def retrieve(self, job_id: str, query: str, top_k: int | None = None) -> list[dict]:
        body: dict[str, Any] = {"query": query}
        if top_k is not None:
            body["top_k"] = top_k
        return self._json("POST", f"/api/rag/{job_id}/retrieve", json=body)["documents"]

    def ask(self, job_id: str, query: str, top_k: int | None = None, model: str = "base",
            max_new_tokens: int = 128) -> dict:
        body: dict[str, Any] = {"query": query, "model": model, "max_new_tokens": max_new_tokens}
        if top_k is not None:
            body["top_k"] = top_k
        return self._json("POST", f"/api/rag/{job_id}/ask", json=body, timeout=max(self.timeout, 300))

    def add_documents(self, job_id: str, documents: list[str], source: str = "added") -> dict:
        return self._json("POST", f"/api/rag/{job_id}/documents", json={"documents": documents, "source": source})

    # -- model registry -------------------------------------------------------------------------------------
    def models(self, **filters: str) -> list[dict]:
        """Registered models with their versions (filters: ``type``, ``status``, ``q``)."""
        return self._json("GET", "/api/registry/models", params=filters)["models"]

    def model(self, name: str) -> dict:
        return self._json("GET", f"/api/registry/models/{quote(name, safe='')}")

    def register(self, session_id: str | None = None, export_id: str | None = None,
                 name: str | None = None) -> dict:
        """Register a completed job or export; the same weights return the version that already holds them."""
        body = {k: v for k, v in (("session_id", session_id), ("export_id", export_id), ("name", name)) if v}
        return self._json("POST", "/api/registry/register", json=body)["version"]

    def set_alias(self, name: str, alias: str, version: int) -> dict:
        """Point ``name@alias`` at ``version`` (moving it from wherever it pointed)."""
        return self._json("PUT", f"/api/registry/models/{quote(name, safe='')}/aliases/{quote(alias, safe='')}",
                          json={"version": version})["version"]

    def download_version(self, name: str, version: int, destination: str | os.PathLike) -> Path:
        """Save a version's weights (a file, or a ``.tar.gz`` of its folder) to ``destination``; streamed."""
        destination = Path(destination)
        path = f"/api/registry/models/{quote(name, safe='')}/versions/{int(version)}/download"
        with self._request("GET", path, stream=True) as response:
            with open(destination, "wb") as out:
                for chunk in response.iter_content(chunk_size=1 << 20):
                    out.write(chunk)
        return destination


def _project_settled(project: dict) -> bool:
    """A run that did not complete is over; a completed one once the server has stored its validation."""
    if project["status"] not in FINAL_STATUSES:
        return False
    return project["status"] != "completed" or bool(project.get("validation"))


def _raise_unless_passed(project: dict) -> None:
    name = f"project {project['id']}"
    if project["status"] != "completed":
        raise JobFailed(200, f"{name} ended {project['status']}: {project.get('error')}")
    failed = [c for c in project["validation"].get("checks", []) if not c.get("passed")]
    if not project["validation"].get("passed"):
        named = "; ".join(f"{c.get('name')}: {c.get('detail')}" for c in failed) or "no check passed"
        raise JobFailed(200, f"{name} completed but its output failed validation ({named})",
                        [{"path": c.get("name", ""), "message": c.get("detail", ""), "hint": ""} for c in failed])
