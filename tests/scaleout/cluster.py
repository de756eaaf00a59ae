"""A studio spread over processes on this host, as docs/scale-out.md lays it out over hosts: a Redis server, a
PostgreSQL database of its own (or one SQLite file: one host only), the web server with TUNEWRIGHT_EXECUTOR=rq and
`tunewright worker` processes with separate working folders sharing one storage folder. Used by the scale-out
tests and bench/queue_latency.py."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import requests

from tests.live_server import ROOT, LiveServer, free_port, start_server, stop_server


class RedisServer:
    """Debian's redis-server on loopback, without persistence: a restart forgets every queue (the worst case)."""

    def __init__(self, folder: Path):
        self.binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        self.folder = folder
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        import redis

        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.folder / "redis.log", "ab") as log:
            self.process = subprocess.Popen([self.binary, "--port", str(self.port), "--bind", "127.0.0.1",
                                             "--save", "", "--appendonly", "no", "--dir", str(self.folder)],
                                            stdout=log, stderr=subprocess.STDOUT)
        client = redis.Redis.from_url(self.url)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if client.ping():
                    return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not answer within 20 s")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def restart(self) -> None:
        self.kill()
        self.start()


class Database:
    """A PostgreSQL database made for this cluster on the test server (TUNEWRIGHT_TEST_DATABASE_URL's)."""

    def __init__(self, server_url: str):
        from sqlalchemy.engine import make_url

        self.name = f"tw_scaleout_{uuid.uuid4().hex[:8]}"
        self.admin_url = make_url(server_url).set(drivername="postgresql+psycopg", database="postgres")
        self.url = make_url(server_url).set(database=self.name).render_as_string(hide_password=False)

    def _run(self, statement: str) -> None:
        from sqlalchemy import create_engine, text

        engine = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.execute(text(statement))
        engine.dispose()

    def create(self) -> None:
        self._run(f'CREATE DATABASE "{self.name}"')

    def drop(self) -> None:
        self._run(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


class SqliteDatabase:
    """One SQLite file that every process of a one-host studio opens (the Workers panel's browser test)."""

    def __init__(self, path: Path):
        self.path = path
        self.url = f"sqlite:///{path}"

    def create(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def drop(self) -> None:
        pass


class Cluster:
    def __init__(self, folder: Path, database_url: str | None = None, grace: float = 5.0):
        """``database_url``: a PostgreSQL server (a database is made on it), or None for a SQLite file in
        ``folder`` (one host only)."""
        self.folder = folder
        self.storage = folder / "shared"
        self.redis = RedisServer(folder / "redis")
        self.database = Database(database_url) if database_url else SqliteDatabase(folder / "tunewright.db")
        self.grace = grace
        self.web: LiveServer | None = None
        self.workers: dict[str, subprocess.Popen] = {}

    def env(self) -> dict[str, str]:
        """What every process of the studio shares (as on every host of a real deployment)."""
        return {"TUNEWRIGHT_EXECUTOR": "rq", "REDIS_URL": self.redis.url, "DATABASE_URL": self.database.url,
                "TUNEWRIGHT_STORAGE": str(self.storage), "TUNEWRIGHT_WORKER_GRACE": str(self.grace),
                "TUNEWRIGHT_WORKER_HEARTBEAT": "1", "TUNEWRIGHT_AUTH": "single",
                **{f"TUNEWRIGHT_{kind}_DIR": str(self.storage / folder) for kind, folder in (
                    ("UPLOAD", "uploads"), ("OUTPUT", "outputs"), ("EXPORT", "exports"), ("CONFIG", "configs"))},
                "TUNEWRIGHT_MODEL_CACHE": str(self.storage / "models")}

    def start(self, workers: int = 2) -> "Cluster":
        self.redis.start()
        self.database.create()
        self.web = start_server(self.folder / "web", **self.env())
        for index in range(1, workers + 1):
            self.start_worker(f"w{index}")
        return self

    def start_worker(self, name: str) -> subprocess.Popen:
        workdir = self.folder / name
        workdir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "TUNEWRIGHT_ENV": "testing", "PYTHONUNBUFFERED": "1", **self.env()}
        env.pop("TUNEWRIGHT_TOKEN", None)
        with open(workdir / "worker.log", "ab") as log:
            process = subprocess.Popen([sys.executable, "-m", "cli", "worker", "--name", name, "--gpus", "none",
                                        "--workdir", str(workdir)], cwd=ROOT, env=env, stdout=log,
                                       stderr=subprocess.STDOUT, start_new_session=True)
        self.workers[name] = process
        self.wait(lambda: any(w["name"] == name and w["alive"] for w in self.api("GET", "/system/workers")["workers"]),
                  60, f"worker {name} to register", lambda: self.worker_log(name))
        return process

    def kill_worker(self, name: str) -> None:
        """SIGKILL the worker with everything under it, like a host that dies. Its process group is not enough:
        RQ puts each work-horse in a session of its own."""
        import psutil

        process = self.workers[name]
        tree = [process.pid] + [child.pid for child in psutil.Process(process.pid).children(recursive=True)]
        for pid in tree:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        process.wait(10)

    def worker_log(self, name: str) -> str:
        path = self.folder / name / "worker.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def api(self, method: str, path: str, **kwargs) -> dict:
        response = requests.request(method, f"{self.web.url}/api{path}", timeout=30, **kwargs)
        assert response.status_code < 400, (response.status_code, response.text)
        return response.json()

    def session(self, session_id: str) -> dict:
        return self.api("GET", f"/training/sessions/{session_id}")["session"]

    def wait(self, condition, timeout: float, what: str, context=lambda: "") -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return
            time.sleep(0.25)
        raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}\n{context()}")

    def stop(self) -> None:
        for name, process in self.workers.items():
            if process.poll() is None:
                self.kill_worker(name)
        if self.web is not None:
            stop_server(self.web)
        self.redis.kill()
        try:
            self.database.drop()
        except Exception:
            pass
