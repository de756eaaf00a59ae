"""The web server's half of the rq executor against a real Redis and the real database (no worker process): routing
to free workers in fair order, the attempt fence, a lost worker's sessions, a restarted Redis, stop requests."""
from __future__ import annotations

from datetime import timedelta

import pytest
from rq import Queue
from rq.job import Job

from core.model_registry import CATALOG
from extensions import db
from services.executors.rq_dispatch import HANDOFF_GRACE, STOP_KEY, fits
from services.executors.workers import queue_name, register
from services.models.base import utcnow
from services.models.training import TrainingSession
from services.models.workers import Worker
from services.training.status import Status
from tests.helpers import make_test_config, reset_database
from tests.scaleout.cluster import RedisServer
from tests.training_helpers import tiny_config

pytestmark = pytest.mark.db


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory):
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.kill()


@pytest.fixture
def rq_app(tmp_path, redis_server):
    from app_factory import create_app

    redis_server.restart()  # an empty Redis for each test
    config = {**make_test_config(tmp_path), "EXECUTOR": "rq", "REDIS_URL": redis_server.url,
              "SCALE_OUT_REPAIR": False, "WORKER_GRACE_SECONDS": 30}
    reset_database(config["SQLALCHEMY_DATABASE_URI"])
    app = create_app(config)
    with app.app_context():
        yield app
        db.session.remove()
    with app.app_context():
        db.engine.dispose()


def service_of(app):
    return app.extensions["tunewright.training"]


def jobs_in(app, worker: str) -> list[str]:
    return Queue(queue_name(worker), connection=service_of(app).remote.redis).job_ids


def session(session_id: str) -> TrainingSession:
    return db.session.get(TrainingSession, session_id, populate_existing=True)


def test_sessions_go_one_per_free_worker_and_the_rest_wait(rq_app, tiny_model_dir):
    register("w1", "b1", [], slots=1)
    register("w2", "b2", [], slots=1)
    ids = [service_of(rq_app).create(tiny_config(tiny_model_dir)).id for _ in range(3)]
    rows = [session(i) for i in ids]
    handed = [s for s in rows if s.rq_job_id]
    assert sorted(s.worker for s in handed) == ["w1", "w2"]
    assert all(s.status == "queued" and s.attempt == 1 for s in handed)
    assert [s for s in rows if not s.rq_job_id][0].attempt == 0
    for s in handed:
        assert jobs_in(rq_app, s.worker) == [s.rq_job_id]
        assert Job.fetch(s.rq_job_id, connection=service_of(rq_app).remote.redis).args == (s.id, 1)
    summary = service_of(rq_app).summary(rows[2])
    assert summary["worker"] is None and "waiting for a free device" in summary["waiting_reason"]


def test_a_lost_worker_gets_nothing_and_its_hand_offs_return(rq_app, tiny_model_dir):
    register("w1", "b1", [], slots=1)
    sid = service_of(rq_app).create(tiny_config(tiny_model_dir)).id
    assert session(sid).worker == "w1"
    db.session.get(Worker, "w1").last_heartbeat = utcnow() - timedelta(seconds=31)
    db.session.commit()
    service_of(rq_app).remote.reconcile(service_of(rq_app))
    assert session(sid).rq_job_id is None and session(sid).worker is None  # queued for whoever comes next
    register("w2", "b2", [], slots=1)
    service_of(rq_app).remote.reconcile(service_of(rq_app))
    assert session(sid).worker == "w2" and session(sid).attempt == 2


def test_a_job_redis_forgot_is_handed_out_again(rq_app, redis_server, tiny_model_dir):
    register("w1", "b1", [], slots=1)
    sid = service_of(rq_app).create(tiny_config(tiny_model_dir)).id
    first = session(sid).rq_job_id
    redis_server.restart()  # no persistence: the queue is gone
    service = service_of(rq_app)
    service.remote.reconcile(service)
    assert session(sid).rq_job_id == first  # too young to judge: the enqueue may still be on its way
    session(sid).updated_at = utcnow() - HANDOFF_GRACE - timedelta(seconds=1)
    db.session.commit()
    service.remote.reconcile(service)
    again = session(sid)
    assert again.rq_job_id not in (None, first) and again.attempt == 2
    assert jobs_in(rq_app, "w1") == [again.rq_job_id]


def test_the_attempt_fences_a_worker_declared_lost(rq_app, tiny_model_dir):
    service = service_of(rq_app)
    register("w1", "b1", [], slots=1)
    config = tiny_config(tiny_model_dir, training={"auto_resume": True})
    sid = service.create(config).id
    job_id = session(sid).rq_job_id
    assert service.claim(sid, 1, "some-other-job", "w1", "cpu") is None  # not the job it was handed as
    claimed = service.claim(sid, 1, job_id, "w1", "cpu")
    assert claimed is not None and session(sid).status == "running" and session(sid).worker == "w1"
    assert service.claim(sid, 1, job_id, "w1", "cpu") is None  # a job delivered twice runs once
    # w1 goes silent; w2 is alive: the session is interrupted and, with auto-resume, handed to w2.
    register("w2", "b2", [], slots=1)
    db.session.get(Worker, "w1").last_heartbeat = utcnow() - timedelta(seconds=31)
    db.session.commit()
    service.remote.reconcile(service)
    resumed = session(sid)
    assert resumed.status == "queued" and resumed.worker == "w2" and resumed.attempt == 2
    assert resumed.resume_requested and resumed.error is None
    # w1 comes back: nothing it says about attempt 1 is recorded any more.
    assert not service.holds(sid, 1)
    db.session.rollback()
    service.finish(sid, Status.COMPLETED, None, attempt=1)
    assert session(sid).status == "queued"
    assert service.claim(sid, 1, job_id, "w1", "cpu") is None
    assert service.claim(sid, 2, resumed.rq_job_id, "w2", "cpu") is not None


def test_without_auto_resume_a_lost_run_waits_for_one_click(rq_app, tiny_model_dir):
    service = service_of(rq_app)
    register("w1", "b1", [], slots=1)
    sid = service.create(tiny_config(tiny_model_dir)).id
    service.claim(sid, 1, session(sid).rq_job_id, "w1", "cpu")
    db.session.get(Worker, "w1").last_heartbeat = utcnow() - timedelta(seconds=31)
    db.session.commit()
    service.remote.reconcile(service)
    lost = session(sid)
    assert lost.status == "interrupted" and "Worker w1 stopped sending heartbeats" in lost.error
    register("w1", "b1-again", [], slots=1)  # the worker restarts
    service.resume(sid)
    assert session(sid).status == "queued" and session(sid).worker == "w1" and session(sid).attempt == 2


def test_stop_reaches_the_worker_through_redis(rq_app, tiny_model_dir):
    service = service_of(rq_app)
    register("w1", "b1", [], slots=1)
    running = service.create(tiny_config(tiny_model_dir)).id
    service.claim(running, 1, session(running).rq_job_id, "w1", "cpu")
    queued = service.create(tiny_config(tiny_model_dir)).id
    service.stop(running)
    assert session(running).status == "stopping"
    assert service.remote.redis.get(STOP_KEY.format(running)) == b"1"
    service.stop(queued)
    assert session(queued).status == "stopped"


def test_fit_needs_the_memory_and_the_gpus():
    big = next(e for e in CATALOG if e.vram_lora_gb and e.vram_lora_gb >= 8)
    worker = Worker(name="w", gpus=[{"index": 0}], free_memory_mb=4096)
    assert not fits(worker, {"model": {"name": big.id}})
    worker.free_memory_mb = int(big.vram_lora_gb * 1024)
    assert fits(worker, {"model": {"name": big.id}})
    assert not fits(worker, {"model": {"name": big.id}, "training": {"num_gpus": 2}})
    worker.gpus = [{"index": 0}, {"index": 1}]
    assert fits(worker, {"model": {"name": big.id}, "training": {"num_gpus": 2}})
