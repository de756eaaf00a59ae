"""The fault suite (issue 23): each test injects one real fault into a real server process and its real training
child, then checks what the user is promised:

- the session ends with an error that names the fault in plain words (or, for the faults that are retried, is not
  hurt at all);
- the server keeps serving (a GET answers afterwards);
- the database passes an integrity check (``PRAGMA integrity_check`` on SQLite);
- nothing half-written looks complete: a checkpoint whose save was cut short is neither resumed from nor listed as a
  model, and the stored metrics hold every step exactly once.

Nothing under test is mocked: the server is ``python flask_app.py`` (tests/live_server.py), the child trains the tiny
model, the reward sandbox is bubblewrap, the full disk is a tmpfs mounted by the test, the lock is another SQLite
connection, the memory limit is RLIMIT_AS. Each test records what it saw; the table is printed at the end of the run
(the README's *Reliability* section quotes it).
"""
from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import threading
import time
from pathlib import Path

import psutil
import pytest
import requests

from core.training.paths import SessionPaths, checkpoint_complete, latest_checkpoint
from tests.live_server import LiveServer, start_server, stop_server
from tests.training_helpers import tiny_config

pytestmark = [pytest.mark.slow, pytest.mark.reliability]

FINAL = ("completed", "failed", "stopped", "interrupted")
RESULTS: list[tuple[str, str, str, float]] = []


@pytest.fixture(scope="module", autouse=True)
def fault_table(request):
    """Print what every fault test showed, as the table the README quotes."""
    yield
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is None or capture is None or not RESULTS:
        return
    with capture.global_and_fixture_disabled():  # a fixture's output is captured otherwise
        reporter.write_line("")
        reporter.write_sep("-", "fault suite")
        reporter.write_line("| fault | injected | outcome | seconds |")
        reporter.write_line("|---|---|---|---|")
        for fault, injected, outcome, seconds in RESULTS:
            reporter.write_line(f"| {fault} | {injected} | {outcome} | {seconds:.0f} |")


def record(fault: str, injected: str, outcome: str, started: float) -> None:
    RESULTS.append((fault, injected, outcome, time.monotonic() - started))


# -- helpers ----------------------------------------------------------------------------------------------------------
def api(server: LiveServer, method: str, path: str, **kwargs) -> requests.Response:
    return requests.request(method, server.url + path, timeout=kwargs.pop("timeout", 30), **kwargs)


def start_training(server: LiveServer, config: dict) -> str:
    response = api(server, "POST", "/api/training/start", json={"config": config})
    assert response.status_code == 201, response.text
    return response.json()["session"]["id"]


def detail(server: LiveServer, sid: str) -> dict:
    response = api(server, "GET", f"/api/training/sessions/{sid}")
    assert response.status_code == 200, response.text
    return response.json()


def wait_until(server: LiveServer, sid: str, predicate, timeout: float = 240.0, what: str = "") -> dict:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = detail(server, sid)
        if predicate(last["session"]):
            return last
        time.sleep(0.25)
    raise AssertionError(f"session {sid} never {what or 'got there'}; last: {last and last['session']}\n"
                         f"{server.log()[-3000:]}")


def wait_step(server: LiveServer, sid: str, step: int, phase: str = "grpo") -> dict:
    def reached(s):
        assert s["status"] not in FINAL, s
        return s["phase"] == phase and (s["step"] or 0) >= step
    return wait_until(server, sid, reached, what=f"reached {phase} step {step}")


def wait_final(server: LiveServer, sid: str, timeout: float = 300.0) -> dict:
    return wait_until(server, sid, lambda s: s["status"] in FINAL, timeout, "ended")


def steps(found: dict, phase: str) -> list[int]:
    """The stored metric rows of a phase, in order, straight from the API (duplicates would show twice)."""
    return [m["step"] for m in found["metrics"] if m["phase"] == phase]


def assert_serving(server: LiveServer) -> None:
    assert server.process.poll() is None, "the server process died"
    for path in ("/api/system/status", "/api/training/sessions", "/api/models/list"):
        response = api(server, "GET", path)
        assert response.status_code == 200, (path, response.status_code, response.text[:500])


def server_logs(folder: Path, server: LiveServer) -> str:
    log = folder / "logs" / "tunewright.log"
    return (log.read_text(errors="replace") if log.is_file() else "") + server.log()


def database_file(folder: Path) -> Path:
    return folder / "instance" / "tunewright.db"


def assert_integrity(folder: Path) -> None:
    with sqlite3.connect(database_file(folder), timeout=30) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert connection.execute("PRAGMA foreign_key_check").fetchall() == []


def child_pid(folder: Path, sid: str) -> int:
    """The training child's pid as the service recorded it on the session row (read-only connection)."""
    with sqlite3.connect(f"file:{database_file(folder)}?mode=ro", uri=True, timeout=30) as connection:
        (pid,) = connection.execute("SELECT child_pid FROM training_sessions WHERE id = ?", (sid,)).fetchone()
    return pid


def offered_checkpoints(server: LiveServer, sid: str) -> set[str]:
    """The checkpoints the Test step offers as models for a session (``checkpoints/grpo/checkpoint-N``)."""
    testable = api(server, "GET", "/api/models/list").json()["testable"]
    prefix = f"session:{sid}:"
    return {m["id"][len(prefix):] for m in testable if m["kind"] == "checkpoint" and m["id"].startswith(prefix)}


def assert_only_complete_checkpoints_offered(server: LiveServer, output: Path, sid: str) -> list[Path]:
    """No checkpoint cut short is listed by the Test step or accepted by export (offered ones are all complete);
    returns the incomplete ones."""
    offered = offered_checkpoints(server, sid)
    folders = [p for sub in ("sft", "grpo") for p in (output / "checkpoints" / sub).glob("checkpoint-*")]
    complete = {p.relative_to(output).as_posix() for p in folders if checkpoint_complete(p)}
    assert offered <= complete, (offered, complete)
    incomplete = [p for p in folders if not checkpoint_complete(p)]
    for folder in incomplete:
        label = folder.relative_to(output).as_posix()
        refused = api(server, "POST", "/api/exports/create",
                      json={"session_id": sid, "format": "adapter", "checkpoint": label})
        assert refused.status_code == 409 and "No checkpoint" in refused.text, (label, refused.text)
    return incomplete


def descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def quick(tiny_model_dir, grpo_steps: int, **sections) -> dict:
    """GRPO only (2 prompts a step), a checkpoint every step."""
    training = {"samples_per_epoch": 2 * grpo_steps, **sections.pop("training", {})}
    return tiny_config(tiny_model_dir, pre_training={"enabled": False}, training=training, **sections)


# -- 1. the web server SIGKILLed mid-run ------------------------------------------------------------------------------
def test_server_sigkill_mid_run_then_restart_and_resume_keeps_every_step_once(tmp_path, tiny_model_dir):
    started = time.monotonic()
    config = tiny_config(tiny_model_dir, training={"samples_per_epoch": 12})  # SFT 2 steps, then GRPO 6 steps
    server = start_server(tmp_path)
    try:
        sid = start_training(server, config)
        wait_step(server, sid, 3)
        orphans = descendants(server.process.pid)
        os.kill(server.process.pid, signal.SIGKILL)  # no goodbye: the database still says "running"
        server.process.wait()
    finally:
        stop_server(server)
    # The orphaned child notices, checkpoints the step it is in and exits, spooling the events nobody reads now.
    gone, alive = psutil.wait_procs(orphans, timeout=180)
    assert not alive, [p.cmdline() for p in alive]
    assert_integrity(tmp_path)

    server = start_server(tmp_path)  # the same folders and database
    try:
        session = detail(server, sid)["session"]
        assert session["status"] == "interrupted" and "resume" in session["error"], session
        assert_serving(server)
        response = api(server, "POST", "/api/training/resume", json={"session_id": sid})
        assert response.status_code == 200, response.text
        final = wait_final(server, sid)
        assert final["session"]["status"] == "completed", final["session"]["error"]
        assert steps(final, "sft") == [1, 2]
        assert steps(final, "grpo") == list(range(1, 7))  # every step exactly once: none lost, none twice
        global_steps = [m["global_step"] for m in final["metrics"]]
        assert global_steps == sorted(set(global_steps))
        assert_only_complete_checkpoints_offered(server, Path(final["session"]["output_dir"]), sid)
        assert_serving(server)
    finally:
        stop_server(server)
    assert_integrity(tmp_path)
    record("web server SIGKILL mid-run", "SIGKILL at GRPO step 3/6, restart, resume",
           "interrupted -> resumed -> completed; SFT 1-2, GRPO 1-6 each once", started)


# -- 2. the training child SIGKILLed ----------------------------------------------------------------------------------
def test_training_child_sigkill_fails_the_session_with_the_reason(tmp_path, tiny_model_dir):
    started = time.monotonic()
    server = start_server(tmp_path)
    try:
        sid = start_training(server, quick(tiny_model_dir, 6))
        wait_step(server, sid, 2)
        pid = child_pid(tmp_path, sid)
        assert pid in {p.pid for p in descendants(server.process.pid)}  # the recorded pid is the server's child
        os.kill(pid, signal.SIGKILL)
        final = wait_final(server, sid)
        session = final["session"]
        assert session["status"] == "failed"
        assert "exited with code -9" in session["error"] and "SIGKILL" in session["error"], session["error"]
        assert "last log lines" in session["error"]
        assert_serving(server)
        assert_integrity(tmp_path)
        output = Path(session["output_dir"])
        assert_only_complete_checkpoints_offered(server, output, sid)
        stored = steps(final, "grpo")
        assert stored == list(range(1, len(stored) + 1)) and len(stored) >= 2  # each step up to the kill, once
        resume_point = latest_checkpoint(SessionPaths(output).grpo_checkpoints)
        assert resume_point is not None  # what a resume would continue from (tests/test_training_service.py resumes)
    finally:
        stop_server(server)
    assert_integrity(tmp_path)
    record("training child SIGKILL", f"SIGKILL of the recorded child pid at step {session['step']}/6",
           f"failed: 'exited with code -9 (SIGKILL...)'; steps 1-{len(stored)} stored once, resumable from "
           f"{resume_point.name}", started)


# -- 3. the training child out of memory ------------------------------------------------------------------------------
def test_training_child_out_of_memory_under_its_address_space_limit(tmp_path, tiny_model_dir):
    """TUNEWRIGHT_TRAINING_MEMORY_LIMIT (RLIMIT_AS in the child): a 64-row SFT batch needs ~5.5 GB of address space
    where the run otherwise peaks near 2.8 GB; under a 4 GiB limit its first step's allocation fails."""
    started = time.monotonic()
    server = start_server(tmp_path, TUNEWRIGHT_TRAINING_MEMORY_LIMIT="4G")
    try:
        config = tiny_config(tiny_model_dir, pre_training={"max_samples": 64, "batch_size": 64},
                             training={"samples_per_epoch": 2})
        sid = start_training(server, config)
        session = wait_final(server, sid)["session"]
        assert session["status"] == "failed"
        assert session["error"].startswith("The training process ran out of memory (limit 4.0 GiB"), session["error"]
        assert "batch" in session["error"]  # says what to change
        assert_serving(server)
        assert_integrity(tmp_path)
        output = Path(session["output_dir"])
        assert_only_complete_checkpoints_offered(server, output, sid)
        assert not (output / "adapter").exists()  # no final model from a run that died
    finally:
        stop_server(server)
    assert_integrity(tmp_path)
    cause = "an allocation in the first step" if "can't allocate memory" in session["error"] else "while loading"
    record("training child out of memory", "TUNEWRIGHT_TRAINING_MEMORY_LIMIT=4G, SFT batch 64",
           f"failed: 'ran out of memory (limit 4.0 GiB)...' ({cause})", started)


# -- 4. a reward that hangs -------------------------------------------------------------------------------------------
HANG_BUSY = "def reward(prompt, completion, **fields):\n    while True:\n        pass\n"
HANG_DEAF = ("import signal, time\n\n"
             "def reward(prompt, completion, **fields):\n"
             "    signal.signal(signal.SIGALRM, signal.SIG_IGN)  # deaf to the sandbox's own timer\n"
             "    while True:\n"
             "        time.sleep(1)\n")


def _sandbox_available() -> bool:
    from core.sandbox import isolation

    return isolation().available


def test_a_reward_that_hangs_ends_in_a_timeout_and_the_server_keeps_serving(tmp_path, tiny_model_dir):
    if not _sandbox_available():
        pytest.skip("bubblewrap is not installed (bash scripts/setup_sandbox.sh); code rewards cannot run here")
    started = time.monotonic()
    server = start_server(tmp_path)
    try:
        created = {}
        for name, code in (("hang busy", HANG_BUSY), ("hang deaf", HANG_DEAF)):
            response = api(server, "POST", "/api/rewards/custom", json={"name": name, "kind": "code", "code": code})
            assert response.status_code == 201, response.text
            created[name] = response.json()["reward"]["id"]

        # The Rewards step's test panel: each sample times out; meanwhile the server answers at once.
        latencies: list[float] = []
        stop = threading.Event()

        def probe():
            while not stop.is_set():
                begun = time.monotonic()
                assert api(server, "GET", "/api/training/sessions").status_code == 200
                latencies.append(time.monotonic() - begun)
                time.sleep(0.2)

        prober = threading.Thread(target=probe, daemon=True)
        prober.start()
        begun = time.monotonic()
        tested = api(server, "POST", "/api/rewards/test", timeout=120,
                     json={"custom_id": created["hang deaf"], "samples": [{"completion": "4"}, {"completion": "5"}]})
        panel_seconds = time.monotonic() - begun
        stop.set()
        prober.join(10)
        assert tested.status_code == 200, tested.text
        notes = [s["components"][0] for s in tested.json()["samples"]]
        assert all(n["score"] is None and "timed out" in n["note"] for n in notes), notes
        assert latencies and max(latencies) < 2.0, latencies

        # Training with the busy one: every batch times out; after 3 such batches the run stops with the reason.
        config = quick(tiny_model_dir, 6, training={"batch_size": 1, "num_generations": 2, "samples_per_epoch": 6},
                       reward={"type": "custom", "custom": [{"id": created["hang busy"], "weight": 1.0}]})
        sid = start_training(server, config)
        sandboxes: set[int] = set()  # the training child's own sandbox workers (bubblewrap)
        while (session := detail(server, sid)["session"])["status"] not in FINAL:
            trainer = child_pid(tmp_path, sid) if session["status"] == "running" else None
            if trainer:
                sandboxes |= {p.pid for p in descendants(trainer) if p.name() == "bwrap"}
            time.sleep(0.5)
        assert session["status"] == "failed"
        error = session["error"]
        assert "custom reward 'hang_busy' failed on every sample of 3 batches" in error and "timed out" in error, error
        assert_serving(server)
        assert_integrity(tmp_path)
        time.sleep(1)
        assert sandboxes and not [pid for pid in sandboxes if psutil.pid_exists(pid)
                                  and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE]
    finally:
        stop_server(server)
    record("reward that hangs", "custom code reward: busy loop / ignores SIGALRM",
           f"test panel: 'timed out' per sample in {panel_seconds:.0f} s, GET p100 {max(latencies) * 1000:.0f} ms; "
           "run failed after 3 timed-out batches, sandbox gone", started)


# -- 5. the outputs disk full during checkpointing --------------------------------------------------------------------
@pytest.fixture
def small_disk(tmp_path):
    """A 64 MiB tmpfs mounted as the outputs folder (root only), unmounted afterwards."""
    outputs = tmp_path / "outputs"
    outputs.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m,mode=0700", "tmpfs", str(outputs)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {mounted.stderr.strip()}")
    try:
        yield outputs
    finally:
        if subprocess.run(["umount", str(outputs)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(outputs)], capture_output=True)


def fill(folder: Path, leave: int) -> Path:
    """Take all free space of ``folder``'s file system but ``leave`` bytes."""
    filler = folder / "filler.bin"
    free = shutil.disk_usage(folder).free
    with open(filler, "wb") as handle:
        os.posix_fallocate(handle.fileno(), 0, max(0, free - leave))
    return filler


def test_disk_full_while_checkpointing_fails_clearly_and_leaves_no_half_checkpoint(tmp_path, small_disk,
                                                                                   tiny_model_dir):
    started = time.monotonic()
    server = start_server(tmp_path, TUNEWRIGHT_MIN_FREE_DISK_BYTES="0")
    try:
        sid = start_training(server, quick(tiny_model_dir, 5))
        output = small_disk / sid
        wait_step(server, sid, 1)
        deadline = time.monotonic() + 60
        while latest_checkpoint(SessionPaths(output).grpo_checkpoints) is None:
            assert time.monotonic() < deadline, "no checkpoint was written"
            time.sleep(0.1)
        size = sum(f.stat().st_size for f in latest_checkpoint(SessionPaths(output).grpo_checkpoints).iterdir())
        filler = fill(small_disk, leave=size // 4)  # the next checkpoint cannot fit; log lines still do
        session = wait_final(server, sid)["session"]
        assert session["status"] == "failed"
        assert session["error"].startswith("The disk is full"), session["error"]
        assert "Free some space, then resume" in session["error"]
        assert_serving(server)
        assert_integrity(tmp_path)

        incomplete = assert_only_complete_checkpoints_offered(server, output, sid)
        assert incomplete, "the fault should have cut a checkpoint short"
        complete = latest_checkpoint(SessionPaths(output).grpo_checkpoints)
        assert complete is not None and all(int(p.name.split("-")[1]) > int(complete.name.split("-")[1])
                                            for p in incomplete)
        assert not (output / "adapter").exists()
        models = api(server, "GET", "/api/registry/models").json()["models"]
        assert not any(sid in str(m) for m in models)  # a failed run registers no model version

        # Space back: resume continues from the complete checkpoint; the torn one is removed, no step twice.
        filler.unlink()
        assert api(server, "POST", "/api/training/resume", json={"session_id": sid}).status_code == 200
        final = wait_final(server, sid)
        assert final["session"]["status"] == "completed", final["session"]["error"]
        assert steps(final, "grpo") == list(range(1, 6))
        assert not [p for p in (output / "checkpoints" / "grpo").glob("checkpoint-*") if not checkpoint_complete(p)]
        assert_serving(server)
    finally:
        stop_server(server)
    assert_integrity(tmp_path)
    record("outputs disk full while checkpointing", f"64 MiB tmpfs as outputs/, filled to {size // 4 // 1024} KiB free",
           f"failed: 'The disk is full...'; torn {', '.join(p.name for p in incomplete)} hidden, resumed from "
           f"{complete.name} after freeing space, GRPO 1-5 once", started)


# -- 6. SQLite locked while metrics are written -----------------------------------------------------------------------
def test_a_locked_sqlite_database_delays_metric_writes_but_loses_none(tmp_path, tiny_model_dir):
    started = time.monotonic()
    server = start_server(tmp_path)
    try:
        sid = start_training(server, quick(tiny_model_dir, 6))
        wait_step(server, sid, 1)
        before = detail(server, sid)["session"]["step"]
        locker = sqlite3.connect(database_file(tmp_path), timeout=30)
        locker.execute("BEGIN EXCLUSIVE")  # WAL: readers go on, every writer waits (5 s busy timeout, then errors)
        locked = time.monotonic()
        try:
            # Held past SQLite's 5 s busy timeout and until a refused write has been retried (at most a minute).
            while time.monotonic() - locked < 8 or ("retrying in" not in server_logs(tmp_path, server)
                                                    and time.monotonic() - locked < 60):
                assert api(server, "GET", f"/api/training/sessions/{sid}").status_code == 200  # reads still answer
                time.sleep(0.5)
        finally:
            locker.rollback()
            locker.close()
        held = time.monotonic() - locked
        final = wait_final(server, sid)
        assert final["session"]["status"] == "completed", final["session"]["error"]
        assert steps(final, "grpo") == list(range(1, 7))
        log = server_logs(tmp_path, server)
        retried = log.count("retrying in")
        assert retried >= 1 and "database is locked" in log  # the lock did refuse writes, and they were retried
        assert_serving(server)
    finally:
        stop_server(server)
    assert_integrity(tmp_path)
    record("SQLite database locked", f"BEGIN EXCLUSIVE for {held:.0f} s from step {before}",
           f"{retried} write(s) retried, completed with GRPO 1-6 once", started)


# -- 7. PostgreSQL restarted while metrics are written ---------------------------------------------------------------
@pytest.mark.db
def test_postgresql_restarted_mid_run_loses_no_metric_row(tmp_path, tiny_model_dir):
    """Runs under scripts/test_postgres.sh, which exports where its throwaway server lives."""
    url = os.environ.get("TUNEWRIGHT_TEST_DATABASE_URL", "")
    data, bin_dir = os.environ.get("TUNEWRIGHT_TEST_PG_DATA"), os.environ.get("TUNEWRIGHT_TEST_PG_BIN")
    if not url.startswith("postgresql") or not data or not bin_dir:
        pytest.skip("needs the PostgreSQL of scripts/test_postgres.sh (TUNEWRIGHT_TEST_PG_DATA, TUNEWRIGHT_TEST_PG_BIN)")
    from sqlalchemy import create_engine, text

    from services.database import normalise_database_url
    from tests.helpers import reset_database

    started = time.monotonic()
    reset_database(url)
    # -l: without a log file the restarted postmaster would keep our pipe open (pg_ctl restart reuses the rest).
    pg_ctl = [f"{bin_dir}/pg_ctl", "-D", data, "-l", str(Path(data).parent / "log"), "-w", "-m", "fast", "restart"]
    if os.geteuid() == 0:
        pg_ctl = ["runuser", "-u", "postgres", "--", *pg_ctl]
    server = start_server(tmp_path, DATABASE_URL=url)
    try:
        sid = start_training(server, quick(tiny_model_dir, 6))
        wait_step(server, sid, 1)
        restarted = subprocess.run(pg_ctl, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE, text=True, timeout=120)
        assert restarted.returncode == 0, restarted.stderr
        final = wait_final(server, sid)
        assert final["session"]["status"] == "completed", final["session"]["error"]
        assert steps(final, "grpo") == list(range(1, 7))
        assert_serving(server)
    finally:
        stop_server(server)
    engine = create_engine(normalise_database_url(url))
    with engine.connect() as connection:
        duplicates = connection.execute(text(
            "SELECT phase, step, count(*) FROM training_metrics WHERE session_id = :sid GROUP BY phase, step "
            "HAVING count(*) > 1"), {"sid": sid}).all()
    engine.dispose()
    assert duplicates == []
    retried = server_logs(tmp_path, server).count("retrying in")
    record("PostgreSQL restarted mid-run", "pg_ctl restart -m fast at step 1",
           f"{retried} write(s) retried (pre-ping reconnects the rest), completed with GRPO 1-6 once", started)
