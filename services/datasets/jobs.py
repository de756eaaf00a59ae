"""Background processing: profile an uploaded file or a Hub dataset, then mark it Ready or Failed.

Jobs run on two daemon worker threads fed by a queue (the profiler is
CPU-bound and a burst of uploads must not starve the request threads). Daemon
threads, not a ThreadPoolExecutor: the executor joins its workers at exit, so
stopping the server would wait for a 10 GB file to finish; an interrupted job
is marked Failed on the next start instead. Each job opens its own app context
and database session. Progress is written at most twice a second and pushed to
browsers as ``dataset_update``.
"""
from __future__ import annotations

import logging
import queue
import threading
import time

from flask import Flask

from core.datasets import DatasetSpec, DatasetUnavailableError
from core.datasets.hub import load_hub_dataset
from core.datasets.profile import DatasetProfile, Profiler, profile_file
from extensions import db
from services.models import DatasetRecord
from websockets.emit import safe_emit

log = logging.getLogger(__name__)

WORKERS = 2
PROGRESS_INTERVAL = 0.5
EVENT = "dataset_update"

_queue: queue.Queue[tuple[Flask, int]] = queue.Queue()
_active: dict[int, threading.Event] = {}  # queued or running here -> set when done
_workers: list[threading.Thread] = []
_lock = threading.Lock()


def is_active(dataset_id: int) -> bool:
    with _lock:
        return dataset_id in _active


def submit(app: Flask, dataset_id: int) -> threading.Event:
    """Queue processing of a row that is already Processing (committed); the event is set when done."""
    with _lock:
        done = _active.setdefault(dataset_id, threading.Event())
        while len(_workers) < WORKERS:
            worker = threading.Thread(target=_work, daemon=True, name=f"dataset-job-{len(_workers)}")
            worker.start()
            _workers.append(worker)
    _queue.put((app, dataset_id))
    return done


def wait_all(timeout: float | None = None) -> bool:
    """Wait until the queued jobs are done (the benchmark and scripts use it); False on timeout."""
    with _lock:
        events = list(_active.values())
    deadline = None if timeout is None else time.monotonic() + timeout
    return all(event.wait(None if deadline is None else max(0.0, deadline - time.monotonic()))
               for event in events)


def _work() -> None:
    while True:
        app, dataset_id = _queue.get()
        try:
            _run(app, dataset_id)
        finally:
            with _lock:
                done = _active.pop(dataset_id, None)
            if done is not None:
                done.set()


def emit_update(record: DatasetRecord) -> None:
    """To everyone in single mode; to the owner's own sockets only when the dataset has an owner."""
    data = {"id": record.id, "status": record.status, "progress": round(record.progress or 0.0, 4),
            "row_count": record.row_count, "error": record.error}
    if record.owner_id is None:
        safe_emit(EVENT, data)
        return
    from services.auth.current import sockets_of

    for sid in sockets_of(record.owner_id):
        safe_emit(EVENT, data, to=sid)


def _run(app: Flask, dataset_id: int) -> None:
    try:
        with app.app_context():
            record = db.session.get(DatasetRecord, dataset_id)
            if record is None:
                return  # deleted before its turn
            try:
                profile = _profile(app, record)
            except DatasetUnavailableError as exc:
                profile = None
                _finish_failed(record, str(exc))
            except Exception as exc:  # a bug or an unreadable file: the row says so, the server goes on
                log.exception("processing dataset %s failed", dataset_id)
                profile = None
                _finish_failed(record, f"Processing failed unexpectedly: {type(exc).__name__}: {exc}")
            if profile is not None:
                _finish(record, profile)
            emit_update(record)
            db.session.remove()
    except Exception:  # e.g. the row was deleted while its file was read
        log.exception("dataset job %s ended with an error", dataset_id)


def _progress_writer(record: DatasetRecord):
    last = [0.0]

    def report(fraction: float, rows: int) -> None:
        now = time.monotonic()
        if now - last[0] < PROGRESS_INTERVAL:
            return
        last[0] = now
        record.progress = min(max(fraction, 0.0), 0.99)
        record.row_count = rows
        db.session.commit()
        emit_update(record)

    return report


def _profile(app: Flask, record: DatasetRecord) -> DatasetProfile:
    if record.source_kind == "upload":
        from services.datasets.records import stored_file

        return profile_file(stored_file(record), record.format, progress=_progress_writer(record))
    spec = DatasetSpec("hub", record.hub_id, split=record.split or "train", config_name=record.config_name,
                       cache_dir=app.config.get("HF_DATASETS_CACHE"))
    dataset = load_hub_dataset(spec)  # downloads (or reads the cache); raises DatasetUnavailableError
    report = _progress_writer(record)
    profiler = Profiler()
    total = max(len(dataset), 1)
    done = 0
    for batch in dataset.iter(batch_size=1000):
        names = list(batch)
        for values in zip(*batch.values()):
            profiler.add(dict(zip(names, values)))
        done += len(batch[names[0]]) if names else 0
        report(done / total, done)
    return profiler.finish()


def _finish(record: DatasetRecord, profile: DatasetProfile) -> None:
    from services.datasets.records import DatasetStatus, transition

    stats = dict(row_count=profile.row_count, columns=profile.columns, duplicate_count=profile.duplicate_count,
                 empty_count=profile.empty_count, sample_rows=profile.sample_rows,
                 warnings=record_warnings(record, profile), error_details=profile.errors)
    if not (record.mapping or {}).get("instruction") and not (record.mapping or {}).get("messages"):
        stats["mapping"] = profile.mapping.__dict__.copy()
    if profile.ok:
        transition(record, DatasetStatus.READY, **stats)
    else:
        transition(record, DatasetStatus.FAILED, error=profile.summary(), **stats)
    db.session.commit()


def record_warnings(record: DatasetRecord, profile: DatasetProfile) -> list[str]:
    warnings = list(profile.warnings)
    if profile.ok and not profile.mapping.is_usable() and not (record.mapping or {}).get("instruction"):
        warnings.append("no instruction column was recognised: choose the field mapping before training")
    if record.sha256:
        # Only the owner's own uploads: another user's dataset id must not leak through a warning.
        owner = DatasetRecord.owner_id.is_(None) if record.owner_id is None \
            else DatasetRecord.owner_id == record.owner_id
        twin = db.session.scalar(db.select(DatasetRecord.id).where(
            DatasetRecord.sha256 == record.sha256, DatasetRecord.id != record.id, owner).limit(1))
        if twin is not None:
            warnings.append(f"the same file was uploaded before as dataset {twin}")
    return warnings


def _finish_failed(record: DatasetRecord, message: str) -> None:
    from services.datasets.records import DatasetStatus, transition

    db.session.rollback()
    transition(record, DatasetStatus.FAILED, error=message)
    db.session.commit()
