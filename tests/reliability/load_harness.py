"""The load run of issue 23, shared by ``bench/load.py`` (prints the figures) and ``tests/reliability/test_load.py``
(asserts on them).

One run: a real server process (the dev server as ``tests/live_server.py`` starts it, or gunicorn with threads as the
README's production command), a training of the tiny model long enough to log a step throughout the window, N
Socket.IO clients joined to its room, and an open-loop generator sending R requests/s to read endpoints for the
window. Every wait is bounded and every request has a timeout: nothing here can hang.

What is measured:
- each client's ``training_update`` sequence against the server's stored metric rows (no gap, duplicate, reorder);
- every request's status and latency (p50/p95/p99), the achieved request rate;
- the serving process's RSS (the gunicorn worker, not its arbiter; never the training child) before, during, after;
- how long a ``training_update`` takes from the child's ``on_log`` to the clients (a blocked server shows here);
- unexpected disconnects (a server that stops answering Socket.IO pings loses its clients).
"""
from __future__ import annotations

import os
import secrets
import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import engineio
import psutil
import requests
import socketio

from tests.live_server import LiveServer, ROOT, free_port, start_server, stop_server

EVENT_KEYS = ("phase", "step", "global_step")


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (the same rule as bench/_common.py); NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


# -- servers ---------------------------------------------------------------------------------------------------
@dataclass
class Studio:
    """A studio process under load: ``kind`` is ``dev`` (``python flask_app.py``) or ``gunicorn``."""
    kind: str
    live: LiveServer
    token: str | None = None

    @property
    def url(self) -> str:
        return self.live.url

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def serving_process(self) -> psutil.Process:
        """The process that answers requests and holds the Socket.IO rooms: gunicorn's one worker (the arbiter only
        forks and watches it), else the server itself. Training children are that process's children: not counted."""
        process = psutil.Process(self.live.process.pid)
        if self.kind == "gunicorn":
            workers = process.children(recursive=False)
            if len(workers) != 1:
                raise RuntimeError(f"expected one gunicorn worker, found {len(workers)}")
            return workers[0]
        return process

    def stop(self) -> None:
        if self.kind == "gunicorn":
            self.live.process.terminate()  # graceful: gunicorn.conf.py's worker_exit stops the trainings first
            try:
                self.live.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.live.process.kill()
                self.live.process.wait(timeout=30)
        else:
            stop_server(self.live)


def _data_env(folder: Path) -> dict[str, str]:
    """The same data folders as tests/live_server.py ``start_server``."""
    return dict(TUNEWRIGHT_INSTANCE_DIR=str(folder / "instance"), TUNEWRIGHT_UPLOAD_DIR=str(folder / "uploads"),
                TUNEWRIGHT_OUTPUT_DIR=str(folder / "outputs"), TUNEWRIGHT_EXPORT_DIR=str(folder / "exports"),
                TUNEWRIGHT_CONFIG_DIR=str(folder / "configs"), TUNEWRIGHT_LOG_DIR=str(folder / "logs"),
                TUNEWRIGHT_MODEL_CACHE=str(folder / "models"), PYTHONUNBUFFERED="1")


def start_gunicorn(folder: Path, threads: int | None = None, timeout: float = 120) -> Studio:
    """The README's production command on a loopback port: ``TUNEWRIGHT_ENV=production`` with a ``SECRET_KEY`` and an
    access token (production means accounts; before the first account exists the token is the credential),
    ``gunicorn -b <loopback> flask_app:app`` with gunicorn.conf.py's worker and threads (``threads`` overrides them
    as ``--threads`` would)."""
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    token = secrets.token_hex(24)
    env = dict(os.environ, TUNEWRIGHT_ENV="production", SECRET_KEY=secrets.token_hex(16), TUNEWRIGHT_TOKEN=token,
               TUNEWRIGHT_HOST="127.0.0.1", **_data_env(folder))
    env.pop("DATABASE_URL", None)
    log_path = folder / "gunicorn.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "gunicorn", *(["--threads", str(threads)] if threads else []),
                                    "-b", f"127.0.0.1:{port}", "flask_app:app"], cwd=ROOT, env=env, stdout=log,
                                   stderr=subprocess.STDOUT)
    studio = Studio("gunicorn", LiveServer(f"http://127.0.0.1:{port}", process, log_path), token)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}:\n{studio.live.log()[-4000:]}")
        try:
            if requests.get(studio.url + "/api/system/status", headers=studio.headers, timeout=5).status_code == 200:
                return studio
        except requests.RequestException:
            pass
        time.sleep(0.3)
    studio.stop()
    raise RuntimeError(f"gunicorn did not answer within {timeout:.0f} s:\n{studio.live.log()[-4000:]}")


def start_studio(kind: str, folder: Path, threads: int | None = None) -> Studio:
    if kind == "dev":  # system_update at the shipped 2 s, not the testing config's 0.2 s: the same events as gunicorn
        return Studio("dev", start_server(folder, TUNEWRIGHT_MONITOR_INTERVAL="2"))
    if kind == "gunicorn":
        return start_gunicorn(folder, threads)
    raise ValueError(f"unknown server kind {kind!r} (dev or gunicorn)")


# -- the training ------------------------------------------------------------------------------------------------
def long_config(model_dir: Path) -> dict:
    """GRPO on the tiny model for thousands of steps (400 prompts × 20 epochs at batch 2): far longer than any window,
    so metrics arrive throughout it; the run is stopped once the window is over. No SFT phase (one phase, one step
    sequence), no checkpoint until the stop."""
    return {"model": {"name": str(model_dir), "lora_rank": 4, "lora_alpha": 8},
            "pre_training": {"enabled": False},
            "training": {"samples_per_epoch": 400, "num_epochs": 20, "batch_size": 2, "num_generations": 2,
                         "max_new_tokens": 8, "save_steps": 1_000_000, "learning_rate": 1e-3,
                         "cpu_autocast": "off"}}


def _session(studio: Studio, sid: str, timeout: float = 30) -> dict:
    response = requests.get(f"{studio.url}/api/training/sessions/{sid}", headers=studio.headers, timeout=timeout)
    response.raise_for_status()
    return response.json()


def start_training(studio: Studio, model_dir: Path, timeout: float = 240) -> str:
    """Start the long run and wait (bounded) until it has logged a few steps: the window starts in steady state."""
    response = requests.post(f"{studio.url}/api/training/start", json={"config": long_config(model_dir)},
                             headers=studio.headers, timeout=60)
    if response.status_code != 201:
        raise RuntimeError(f"start refused: {response.status_code} {response.text[:500]}")
    sid = response.json()["session"]["id"]
    deadline = time.monotonic() + timeout
    detail = None
    while time.monotonic() < deadline:
        detail = _session(studio, sid)
        if detail["session"]["status"] in ("failed", "completed", "stopped"):
            raise RuntimeError(f"the training ended before the window: {detail['session']}")
        if len(detail["metrics"]) >= 3:
            return sid
        time.sleep(0.5)
    raise RuntimeError(f"no metrics within {timeout:.0f} s: {detail and detail['session']}")


def stop_training(studio: Studio, sid: str, timeout: float = 120) -> str:
    requests.post(f"{studio.url}/api/training/stop", json={"session_id": sid}, headers=studio.headers, timeout=30)
    deadline = time.monotonic() + timeout
    status = None
    while time.monotonic() < deadline:
        status = _session(studio, sid)["session"]["status"]
        if status not in ("queued", "running", "stopping"):
            return status
        time.sleep(0.5)
    return f"still {status} after {timeout:.0f} s"


# -- Socket.IO clients -------------------------------------------------------------------------------------------
class _InOrderEngineIO(engineio.Client):
    """python-engineio's client runs each received message's handler on a new thread, so two events that arrive in
    order can be handled (and recorded) out of order. Here every handler runs on the connection's read loop, in the
    order the server sent the messages: an order check then tests the server, not the client's thread scheduler."""

    def _trigger_event(self, event, *args, **kwargs):
        kwargs["run_async"] = False
        return super()._trigger_event(event, *args, **kwargs)


class InOrderClient(socketio.Client):
    def _engineio_client_class(self):
        return _InOrderEngineIO


class Watcher:
    """One Socket.IO client in the session's room: the history it was given on joining, then every live
    ``training_update`` as ``(phase, step, global_step)`` in arrival order, with the child-to-client latency."""

    def __init__(self, studio: Studio, sid: str):
        self.sid = sid
        self.lock = threading.Lock()
        self.history: list[tuple] = []
        self.updates: list[tuple] = []
        self.latencies_ms: list[float] = []
        self.disconnects: list[str] = []
        self.joined = threading.Event()
        self.client = InOrderClient(reconnection=False)
        self.client.on("training_history", self._on_history)
        self.client.on("training_update", self._on_update)
        self.client.on("disconnect", self._on_disconnect)
        self._closing = False
        self.client.connect(studio.url, transports=["websocket"], wait_timeout=30,
                            auth={"token": studio.token} if studio.token else None, headers=studio.headers)
        ack = self.client.call("join_session", {"session_id": sid}, timeout=30)
        if ack != {"ok": True}:
            raise RuntimeError(f"join_session answered {ack}")

    def _on_history(self, data):
        if data.get("session_id") == self.sid:
            with self.lock:
                self.history = [tuple(row[k] for k in EVENT_KEYS) for row in data.get("metrics", [])]
            self.joined.set()

    def _on_update(self, data):
        received = time.time()
        if data.get("session_id") != self.sid:
            return
        with self.lock:
            self.updates.append(tuple(data[k] for k in EVENT_KEYS))
            if data.get("logged_at") and "train_runtime" not in data:
                self.latencies_ms.append((received - data["logged_at"]) * 1000)

    def _on_disconnect(self, reason=None):
        if not self._closing:
            self.disconnects.append(str(reason))

    def highest(self) -> int:
        with self.lock:
            return max((u[2] for u in self.updates), default=-1)

    def snapshot(self) -> tuple[list[tuple], list[tuple], list[float]]:
        with self.lock:
            return list(self.history), list(self.updates), list(self.latencies_ms)

    def close(self) -> None:
        self._closing = True
        try:
            self.client.disconnect()
        except Exception:
            pass


def close_watchers(watchers: list[Watcher]) -> None:
    """Disconnect every client at once: websocket-client's close waits up to 3 s for the server's close frame,
    which the connection's read loop may already have taken, so one after another 100 clients take minutes."""
    if watchers:
        with ThreadPoolExecutor(max_workers=min(len(watchers), 50)) as pool:
            list(pool.map(Watcher.close, watchers))


def connect_watchers(studio: Studio, sid: str, count: int, timeout: float = 120) -> list[Watcher]:
    """``count`` clients joined to the room, ten connecting at a time; all must have their history in ``timeout``."""
    with ThreadPoolExecutor(max_workers=10) as pool:
        futures = [pool.submit(Watcher, studio, sid) for _ in range(count)]
        watchers, errors = [], []
        for future in futures:
            try:
                watchers.append(future.result(timeout=timeout))
            except Exception as exc:  # noqa: BLE001 - reported, the run fails below
                errors.append(repr(exc))
    deadline = time.monotonic() + 30
    for watcher in watchers:
        watcher.joined.wait(max(0.0, deadline - time.monotonic()))
    if errors or not all(w.joined.is_set() for w in watchers):
        close_watchers(watchers)
        raise RuntimeError(f"{len(errors)} of {count} clients could not join (first: {errors[:3]}); "
                           f"{sum(not w.joined.is_set() for w in watchers)} got no history")
    return watchers


def check_sequence(history: list[tuple], updates: list[tuple], expected: list[tuple]) -> list[str]:
    """What is wrong with one client's live ``updates`` against the server's rows logged after its history.

    ``expected``: the stored rows (in step order) from the first one after the client's history to the last one of
    the window. The live updates past the history must be exactly these. Updates the history already holds are
    allowed only before every newer one: a row committed between the join and the history read arrives both ways
    (websockets/training_events.py; clients de-duplicate by phase and step)."""
    seen = set(history)
    last = history[-1][2] if history else -1
    end = expected[-1][2] if expected else last
    problems = []
    fresh = [u for u in updates if u not in seen]
    stale = [u for u in updates if u in seen]
    first_fresh = next((i for i, u in enumerate(updates) if u not in seen), len(updates))
    if any(u in seen for u in updates[first_fresh:]):
        problems.append("an update already in the history came after newer ones")
    if len(stale) > 5:
        problems.append(f"{len(stale)} updates repeated the history (a join race explains one or two)")
    window = [u for u in fresh if u[2] <= end]
    if window != expected:
        missing = sorted(set(expected) - set(window), key=lambda u: u[2])
        extra = sorted(set(window) - set(expected), key=lambda u: u[2])
        duplicates = [u for u, n in Counter(window).items() if n > 1]
        reordered = any(a[2] >= b[2] for a, b in zip(window, window[1:]))
        problems.append(f"sequence differs from the stored rows: {len(window)} received vs {len(expected)} stored; "
                        f"missing {missing[:5]}, unexpected {extra[:5]}, duplicates {duplicates[:5]}, "
                        f"reordered={reordered}")
    return problems


# -- the request load --------------------------------------------------------------------------------------------
@dataclass
class RequestLoad:
    sent: int = 0
    skipped: int = 0  # scheduled but not sent: every worker busy and the backlog full (the server fell behind)
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    exceptions: list[str] = field(default_factory=list)  # timeouts, refused or reset connections
    error_samples: list[str] = field(default_factory=list)  # the first answers that were not a 2xx
    per_path: dict[str, list[float]] = field(default_factory=dict)

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)

    @property
    def bad(self) -> int:
        """Requests that did not end in a 2xx: 4xx, 5xx and exceptions."""
        return sum(n for status, n in self.statuses.items() if not 200 <= status < 300) + len(self.exceptions)

    @property
    def rate(self) -> float:
        return len(self.latencies_ms) / self.seconds if self.seconds else 0.0


def drive_requests(studio: Studio, paths: list[str], rate: float, seconds: float, workers: int = 50,
                   timeout: float = 10.0, stop: threading.Event | None = None) -> RequestLoad:
    """Open loop: request i is due at ``start + i / rate`` whatever the answers take (a slow server does not slow
    the load down), round-robin over ``paths``, on ``workers`` threads with kept-alive connections (enough for
    ``rate`` at a second per answer). A request that is due while ``2 × workers`` are already waiting is counted as
    skipped, so a stalled server cannot build an unbounded backlog; each request times out after ``timeout`` s."""
    result = RequestLoad(per_path={path: [] for path in paths})
    local = threading.local()
    lock = threading.Lock()
    inflight = threading.BoundedSemaphore(2 * workers)

    def one(path: str) -> None:
        try:
            http = getattr(local, "http", None)
            if http is None:
                http = local.http = requests.Session()
                http.headers.update(studio.headers)
            started = time.perf_counter()
            try:
                response = http.get(studio.url + path, timeout=timeout)
                _ = response.content
            except requests.RequestException as exc:
                with lock:
                    result.exceptions.append(f"{path}: {exc!r}"[:300])
                return
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                result.statuses[response.status_code] += 1
                result.latencies_ms.append(elapsed)
                result.per_path[path].append(elapsed)
                if not 200 <= response.status_code < 300 and len(result.error_samples) < 20:
                    result.error_samples.append(f"{path}: HTTP {response.status_code} {response.text[:200]}")
        finally:
            inflight.release()

    total = int(rate * seconds)
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for i in range(total):
            if stop is not None and stop.is_set():
                break
            delay = started + i / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            if not inflight.acquire(blocking=False):
                result.skipped += 1
                continue
            result.sent += 1
            pool.submit(one, paths[i % len(paths)])
    result.seconds = time.monotonic() - started  # the pool has drained: every request answered or timed out
    return result


# -- memory ------------------------------------------------------------------------------------------------------
class RssSampler:
    """The serving process's RSS every ``interval`` s on a daemon thread, until ``stop``."""

    def __init__(self, process: psutil.Process, interval: float = 2.0):
        self.process = process
        self.samples: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(interval,), daemon=True)

    def rss(self) -> int:
        return self.process.memory_info().rss

    def _run(self, interval: float) -> None:
        while not self._stop.wait(interval):
            try:
                self.samples.append(self.rss())
            except psutil.Error:
                return

    def start(self) -> "RssSampler":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


# -- one run -----------------------------------------------------------------------------------------------------
@dataclass
class LoadResult:
    kind: str
    clients: int
    window_s: float
    target_rate: float
    load: RequestLoad
    events_per_client: list[int]  # live training_update events of the window, per client
    sequence_problems: dict[int, list[str]]  # client index -> what was wrong
    disconnects: int
    event_latency_ms: list[float]
    rss_before: int
    rss_peak: int
    rss_after: int
    rss_after_disconnect: int
    steps_in_window: int
    stop_status: str
    duration_s: float
    load_average: tuple[float, float] = (0.0, 0.0)  # the machine's 1-minute load at the window's start and end
    server_cpu_s: float = 0.0  # CPU seconds the serving process used in the window (user + system)
    driver_cpu_s: float = 0.0  # and this process (the clients and the request generator)
    server_log_tail: str = ""

    @property
    def rss_growth_mb(self) -> float:
        return (self.rss_after - self.rss_before) / 2**20

    def report(self) -> str:
        mb = 2**20
        load = self.load
        events = self.events_per_client
        lines = [
            f"== load against the {self.kind} server: {self.clients} Socket.IO clients in one training room, "
            f"{self.target_rate:g} req/s for {self.window_s:g} s ==",
            f"training_update events per client: min {min(events, default=0)}, max {max(events, default=0)} "
            f"({self.steps_in_window} stored steps in the window); clients with a wrong sequence: "
            f"{len(self.sequence_problems)}; unexpected disconnects: {self.disconnects}",
            f"event latency (child on_log -> client), all clients: p50 {percentile(self.event_latency_ms, 50):.1f} ms, "
            f"p95 {percentile(self.event_latency_ms, 95):.1f} ms, p99 {percentile(self.event_latency_ms, 99):.1f} ms",
            f"requests: {load.sent} sent, {len(load.latencies_ms)} answered, {load.skipped} skipped (backlog full), "
            f"{load.rate:.1f} req/s achieved over {load.seconds:.1f} s; statuses {dict(sorted(load.statuses.items()))}; "
            f"5xx {load.server_errors}; failed (not 2xx, or no answer) {load.bad}",
            f"API latency: p50 {percentile(load.latencies_ms, 50):.1f} ms, p95 {percentile(load.latencies_ms, 95):.1f} ms, "
            f"p99 {percentile(load.latencies_ms, 99):.1f} ms, max {max(load.latencies_ms, default=float('nan')):.1f} ms",
            *(f"  {path}: p50 {percentile(v, 50):.1f} ms, p95 {percentile(v, 95):.1f} ms ({len(v)})"
              for path, v in load.per_path.items()),
            f"server RSS: before {self.rss_before / mb:.0f} MB, peak {self.rss_peak / mb:.0f} MB, after "
            f"{self.rss_after / mb:.0f} MB (growth {self.rss_growth_mb:+.0f} MB), after the clients left "
            f"{self.rss_after_disconnect / mb:.0f} MB",
            f"CPU in the window: server {self.server_cpu_s:.0f} s ({self.server_cpu_s / self.window_s:.0%} of a core), "
            f"clients and requests {self.driver_cpu_s:.0f} s ({self.driver_cpu_s / self.window_s:.0%})",
            f"training stopped: {self.stop_status}; whole run {self.duration_s:.0f} s; machine load average "
            f"{self.load_average[0]:.1f} -> {self.load_average[1]:.1f} on {os.cpu_count()} cores",
        ]
        for index, problems in list(self.sequence_problems.items())[:5]:
            lines.append(f"  client {index}: {'; '.join(problems)}")
        for failure in (load.exceptions + load.error_samples)[:5]:
            lines.append(f"  failed: {failure}")
        return "\n".join(lines)


def _cpu(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


def read_paths(sid: str) -> list[str]:
    """The read endpoints the Train page, the dashboard and scripts poll."""
    return [f"/api/training/sessions/{sid}", "/api/system/status", "/api/training/sessions", "/api/datasets/list",
            "/api/dashboard"]


def run_load(kind: str, model_dir: Path, folder: Path, window: float = 120.0, clients: int = 100,
             rate: float = 50.0, threads: int | None = None, log=print) -> LoadResult:
    """One whole run against a fresh server of ``kind`` (``threads``: gunicorn's ``--threads``, default
    gunicorn.conf.py's); the server is stopped whatever happens."""
    began = time.monotonic()
    studio = start_studio(kind, folder, threads)
    log(f"[{kind}] server answering after {time.monotonic() - began:.1f} s")
    watchers: list[Watcher] = []
    try:
        sid = start_training(studio, model_dir)
        log(f"[{kind}] training {sid} is logging after {time.monotonic() - began:.1f} s; connecting {clients} clients")
        serving = studio.serving_process()
        rss_before = serving.memory_info().rss
        watchers = connect_watchers(studio, sid, clients)
        sampler = RssSampler(serving).start()
        load_before = os.getloadavg()[0]
        cpu_before, driver_before = _cpu(serving), _cpu(psutil.Process())
        log(f"[{kind}] {clients} clients joined after {time.monotonic() - began:.1f} s; {rate:g} req/s for {window:g} s")
        load = drive_requests(studio, read_paths(sid), rate, window)
        load_after = os.getloadavg()[0]
        server_cpu, driver_cpu = _cpu(serving) - cpu_before, _cpu(psutil.Process()) - driver_before
        sampler.stop()
        rss_after = sampler.rss()
        # The window's last step: every client must have it (bounded wait), then their sequences are compared.
        rows = [tuple(row[k] for k in EVENT_KEYS) for row in _session(studio, sid)["metrics"]]
        end = rows[-1][2]
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and min(w.highest() for w in watchers) < end:
            time.sleep(0.2)
        problems: dict[int, list[str]] = {}
        events, latencies = [], []
        first_history_end = None
        for index, watcher in enumerate(watchers):
            history, updates, latency = watcher.snapshot()
            last = history[-1][2] if history else -1
            first_history_end = last if first_history_end is None else min(first_history_end, last)
            expected = [r for r in rows if last < r[2] <= end]
            wrong = check_sequence(history, updates, expected)
            if wrong:
                problems[index] = wrong
            events.append(len([u for u in updates if last < u[2] <= end]))
            latencies.extend(latency)
        disconnects = sum(len(w.disconnects) for w in watchers)
        close_watchers(watchers)
        watchers = []
        time.sleep(2)
        rss_after_disconnect = serving.memory_info().rss
        log(f"[{kind}] window checked after {time.monotonic() - began:.1f} s; stopping the training")
        stop_status = stop_training(studio, sid)
        log(f"[{kind}] training {stop_status} after {time.monotonic() - began:.1f} s")
        return LoadResult(kind=kind, clients=clients, window_s=window, target_rate=rate, load=load,
                          events_per_client=events, sequence_problems=problems, disconnects=disconnects,
                          event_latency_ms=latencies, rss_before=rss_before,
                          rss_peak=max([rss_before, rss_after, *sampler.samples]), rss_after=rss_after,
                          rss_after_disconnect=rss_after_disconnect,
                          steps_in_window=len([r for r in rows if (first_history_end or -1) < r[2] <= end]),
                          stop_status=stop_status, duration_s=time.monotonic() - began,
                          load_average=(load_before, load_after), server_cpu_s=server_cpu, driver_cpu_s=driver_cpu,
                          server_log_tail=studio.live.log()[-3000:])
    finally:
        close_watchers(watchers)
        studio.stop()
