"""Exports have a lifecycle (issue 18): start-up recovery, queued exports after a restart, cancellation that ends
llama.cpp's converter too, shutdown that does not wait on an export, session deletion that takes its exports
along, and downloads that leak nothing and never end short."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest
import requests

from services.training.liveness import process_started
from tests.export_fixtures import register_session
from tests.helpers import make_test_config
from tests.live_server import start_server, stop_server

pytestmark = pytest.mark.db


# -- helpers ------------------------------------------------------------------------------------------------------
def _session_row(app, session_id: str = "s1") -> str:
    """A finished session row (enough for exports that need no weights)."""
    from extensions import db
    from services.models.training import TrainingSession

    with app.app_context():
        db.session.add(TrainingSession(id=session_id, name=session_id, config={}, status="completed",
                                       output_dir=str(Path(app.config["OUTPUT_FOLDER"]) / session_id), last_logs=[]))
        db.session.commit()
    return session_id


def _export_row(app, session_id: str, export_id: str, status: str, files: dict[str, bytes] | None = None,
                **fields) -> Path:
    """An export row as some server left it; with ``files``, a completed export's folder and manifest."""
    import json

    from extensions import db
    from services.models.exports import ExportJob

    folder = Path(app.config["EXPORT_FOLDER"]) / session_id / export_id
    manifest = None
    if files is not None:
        folder.mkdir(parents=True)
        for name, data in files.items():
            (folder / name).write_bytes(data)
        manifest = {"files": [{"name": n, "size": len(d)} for n, d in files.items()], "format": "adapter"}
        (folder / "manifest.json").write_text(json.dumps(manifest))
    with app.app_context():
        db.session.add(ExportJob(id=export_id, session_id=session_id, format="adapter", status=status,
                                 progress=0.0, export_dir=str(folder), manifest=manifest, **fields))
        db.session.commit()
    return folder


def _status(app, export_id: str) -> str | None:
    from extensions import db
    from services.models.exports import ExportJob

    with app.app_context():
        db.session.expire_all()
        job = db.session.get(ExportJob, export_id)
        return job.status if job else None


def _wait(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _gone(process: psutil.Process) -> bool:
    try:
        return not process.is_running() or process.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _converters(root: psutil.Process) -> list[psutil.Process]:
    found = []
    for child in root.children(recursive=True):
        try:
            if any("convert_hf_to_gguf" in part for part in child.cmdline()):
                found.append(child)
        except psutil.Error:
            pass
    return found


@pytest.fixture
def slow_converter(tmp_path, monkeypatch) -> Path:
    """llama.cpp's tools folder with a converter that takes two minutes: a real subprocess to cancel."""
    from core.gguf_tools import TOOLS_ENV

    folder = tmp_path / "slow-tools"
    (folder / "conversion").mkdir(parents=True)
    (folder / "gguf-py").mkdir()
    for script in ("convert_hf_to_gguf.py", "convert_lora_to_gguf.py"):
        (folder / script).write_text("import time\ntime.sleep(120)\n")
    monkeypatch.setenv(TOOLS_ENV, str(folder))
    return folder


@pytest.fixture
def orphan_group():
    """A process group as a dead server's export child leaves it: the child and the converter it started."""
    process = subprocess.Popen([sys.executable, "-c", "import subprocess, sys; subprocess.run([sys.executable, "
                                "'-c', 'import time; time.sleep(120)'])"], start_new_session=True)
    root = psutil.Process(process.pid)
    _wait(lambda: root.children(), 30, "the orphan's own child")
    yield process, root.children()[0]
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()


# -- start-up recovery ----------------------------------------------------------------------------------------------
def test_a_dead_servers_running_export_is_interrupted_at_start_and_its_child_group_ended(test_config, orphan_group):
    from app_factory import create_app

    child, converter = orphan_group
    first = create_app(test_config)
    sid = _session_row(first)
    folder = _export_row(first, sid, "dead1", "running", server_pid=os.getpid(), server_boot_id="a-dead-server",
                         server_started=process_started(os.getpid()), child_pid=child.pid,
                         child_started=process_started(child.pid))
    folder.mkdir(parents=True)
    (folder / "half-written.gguf").write_bytes(b"x" * 100)
    _export_row(first, sid, "live1", "running", server_pid=os.getppid(), server_boot_id="another-live-server",
                server_started=process_started(os.getppid()))  # stands for a second server still running
    first.extensions["tunewright.exports"].shutdown()

    second = create_app(test_config)  # recovery runs at start
    try:
        assert _status(second, "dead1") == "interrupted"
        assert _status(second, "live1") == "running"  # its server still runs: not ours to touch
        assert child.wait(timeout=10) == -signal.SIGKILL
        _wait(lambda: _gone(converter), 10, "the orphaned converter to end")
        assert not folder.exists()
        client = second.test_client()
        body = client.get("/api/exports/dead1").get_json()
        assert "server stopped" in body["error"]
        assert client.post("/api/exports/dead1/cancel").status_code == 409
        assert client.delete("/api/exports/dead1").status_code == 200
        assert _status(second, "dead1") is None
    finally:
        second.extensions["tunewright.exports"].shutdown()


def test_cancelling_a_running_export_whose_server_is_gone_records_it(app, client):
    sid = _session_row(app)
    _export_row(app, sid, "stray1", "running", server_pid=os.getpid(), server_boot_id="gone")  # recovery not run
    body = client.post("/api/exports/stray1/cancel").get_json()
    assert body["export"]["status"] == "cancelled"
    assert client.delete("/api/exports/stray1").status_code == 200


def test_retry_queues_an_interrupted_export_again(app, client):
    sid = _session_row(app)
    _export_row(app, sid, "int1", "interrupted", error="The server stopped")
    app.extensions["tunewright.exports"].shutting_down = True  # keep it queued: this session has no weights
    body = client.post("/api/exports/int1/retry").get_json()["export"]
    assert body["status"] == "queued" and body["error"] is None
    assert client.post("/api/exports/int1/retry").status_code == 409


# -- cancellation and shutdown with a real converter process -------------------------------------------------------
@pytest.fixture
def trained(app, trained_session_dir, tiny_model_dir):
    return register_session(app, trained_session_dir, tiny_model_dir, "trained1")


@pytest.mark.slow
def test_cancel_kills_the_converters_process_group(app, client, trained, slow_converter):
    export_id = client.post("/api/exports/create", json={"session_id": trained, "format": "gguf",
                                                         "quantization": "Q8_0"}).get_json()["export"]["id"]
    converter = _wait(lambda: _converters(psutil.Process()), 120, "the converter to start")[0]
    export_child = converter.parent()
    assert client.post(f"/api/exports/{export_id}/cancel").status_code == 200
    _wait(lambda: _status(app, export_id) == "cancelled", 30, "the export to be cancelled")
    _wait(lambda: _gone(converter), 10, "the converter to end with its export")
    assert _gone(export_child)
    assert not Path(app.config["EXPORT_FOLDER"], trained, export_id).exists()


@pytest.mark.slow
def test_graceful_shutdown_abandons_a_running_export_at_once(app, client, trained, slow_converter):
    service = app.extensions["tunewright.exports"]
    running = client.post("/api/exports/create", json={"session_id": trained, "format": "gguf",
                                                       "quantization": "Q8_0"}).get_json()["export"]["id"]
    queued = client.post("/api/exports/create", json={"session_id": trained, "format": "adapter"}).get_json()
    converter = _wait(lambda: _converters(psutil.Process()), 120, "the converter to start")[0]
    started = time.monotonic()
    assert service.graceful_shutdown(timeout=30)
    elapsed = time.monotonic() - started
    statuses = (_status(app, running), _status(app, queued["export"]["id"]))
    assert elapsed < 20 and statuses == ("interrupted", "queued"), (elapsed, statuses)  # not the converter's 2 min
    _wait(lambda: _gone(converter), 10, "the converter to end")


@pytest.mark.slow
def test_deleting_a_session_ends_its_running_export_and_removes_its_export_folders(app, client, trained,
                                                                                   slow_converter):
    done = _export_row(app, trained, "done1", "completed", files={"model.gguf": b"weights" * 1000})
    running = client.post("/api/exports/create", json={"session_id": trained, "format": "gguf",
                                                       "quantization": "Q8_0"}).get_json()["export"]["id"]
    converter = _wait(lambda: _converters(psutil.Process()), 120, "the converter to start")[0]
    response = client.delete(f"/api/training/sessions/{trained}")
    assert response.status_code == 200, response.get_json()
    _wait(lambda: _gone(converter), 10, "the converter to end")
    assert not done.parent.exists()  # exports/<session>/ with every export in it
    assert _status(app, running) is None and _status(app, "done1") is None
    time.sleep(1)
    assert not done.parent.exists()  # and no child wrote it back


def test_deleting_a_session_removes_its_exports_and_their_folder(app, client):
    sid = _session_row(app, "gone1")
    folder = _export_row(app, sid, "done2", "completed", files={"a.bin": b"1" * 10})
    _export_row(app, sid, "wait2", "queued")
    other = _export_row(app, _session_row(app, "kept1"), "done3", "completed", files={"b.bin": b"2"})
    assert client.delete(f"/api/training/sessions/{sid}").status_code == 200
    assert not folder.parent.exists() and other.is_dir()
    assert _status(app, "done2") is None and _status(app, "wait2") is None and _status(app, "done3") == "completed"


# -- downloads ------------------------------------------------------------------------------------------------------
BIG = {f"part{i}.bin": os.urandom(1 << 20) for i in range(4)}  # incompressible: the writer cannot run far ahead


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_head_on_a_download_leaks_no_thread_and_no_file(app, client):
    sid = _session_row(app)
    _export_row(app, sid, "big1", "completed", files=BIG)
    assert client.head("/api/exports/big1/download").status_code == 200  # warm up imports and lazy state
    threads, fds = threading.active_count(), _open_fds()
    for _ in range(20):
        assert client.head("/api/exports/big1/download").status_code == 200
    time.sleep(0.5)
    assert threading.active_count() <= threads
    assert _open_fds() <= fds


def test_deleting_an_export_mid_download_aborts_the_stream(app, client):
    import tarfile

    sid = _session_row(app)
    _export_row(app, sid, "big2", "completed", files=BIG)
    whole = client.get("/api/exports/big2/download").data  # for comparison: a full archive reads fine
    with tarfile.open(fileobj=__import__("io").BytesIO(whole), mode="r:gz") as tar:
        assert len(tar.getnames()) == 1 + len(BIG)
    response = client.get("/api/exports/big2/download", buffered=False)
    chunks = iter(response.response)
    received = len(next(chunks))
    assert client.delete("/api/exports/big2").status_code == 200
    with pytest.raises(OSError):
        for chunk in chunks:
            received += len(chunk)
    response.close()
    assert received < len(whole)


# -- restarts with a real server process ----------------------------------------------------------------------------
@pytest.mark.slow
def test_queued_exports_start_after_a_restart_and_shutdown_does_not_wait_on_one(tmp_path, trained_session_dir,
                                                                               tiny_model_dir, slow_converter):
    from app_factory import create_app
    from core.gguf_tools import TOOLS_ENV
    from extensions import db

    config = {**make_test_config(tmp_path),
              "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'instance' / 'tunewright.db'}"}  # the server's
    before = create_app(config)  # what a server stopped with a queued export left behind
    sid = register_session(before, trained_session_dir, tiny_model_dir, "trained1")
    _export_row(before, sid, "waiting1", "queued")
    with before.app_context():
        db.engine.dispose()
    before.extensions["tunewright.exports"].shutdown()

    server = start_server(tmp_path, **{TOOLS_ENV: str(slow_converter)})
    try:
        url = f"{server.url}/api/exports"
        _wait(lambda: requests.get(f"{url}/waiting1", timeout=10).json()["status"] == "completed", 150,
              "the queued export to run after the restart")
        gguf = requests.post(f"{url}/create", json={"session_id": sid, "format": "gguf", "quantization": "Q8_0"},
                             timeout=30).json()["export"]["id"]
        converter = _wait(lambda: _converters(psutil.Process(server.process.pid)), 120, "the converter")[0]
        server.process.send_signal(signal.SIGINT)  # Ctrl+C
        assert server.process.wait(timeout=60) == 0  # not the converter's two minutes
        _wait(lambda: _gone(converter), 10, "the converter to end with the server")
    finally:
        stop_server(server)
    after = create_app(config)
    try:
        assert _status(after, gguf) == "interrupted"
        assert _status(after, "waiting1") == "completed"
    finally:
        after.extensions["tunewright.exports"].shutdown()


@pytest.mark.slow
def test_an_export_ends_its_process_group_when_its_server_dies(tmp_path, trained_session_dir, tiny_model_dir,
                                                               slow_converter):
    from core.gguf_tools import TOOLS_ENV
    from tests.export_fixtures import register_live_session

    server = start_server(tmp_path, **{TOOLS_ENV: str(slow_converter)})
    try:
        sid = register_live_session(server, trained_session_dir, tiny_model_dir, "trained1")
        requests.post(f"{server.url}/api/exports/create", json={"session_id": sid, "format": "gguf",
                                                                "quantization": "Q8_0"}, timeout=30)
        converter = _wait(lambda: _converters(psutil.Process(server.process.pid)), 120, "the converter")[0]
        export_child = converter.parent()
        assert os.getpgid(export_child.pid) != os.getpgid(server.process.pid)  # Ctrl+C goes to the server only
        server.process.kill()  # no shutdown hook runs
        server.process.wait()
        _wait(lambda: _gone(converter) and _gone(export_child), 15, "the orphaned export and converter to end")
    finally:
        stop_server(server)
