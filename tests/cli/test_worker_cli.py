"""`tunewright worker` refuses to start without the studio's Redis and database, saying which is missing."""
from __future__ import annotations

import os
import subprocess
import sys

from tests.live_server import ROOT


def run_worker(**env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL", "TUNEWRIGHT_EXECUTOR")}
    return subprocess.run([sys.executable, "-m", "cli", "worker", "--gpus", "none"], cwd=ROOT, env={**clean, **env},
                          capture_output=True, text=True, timeout=120)


def test_worker_names_what_is_missing():
    result = run_worker()
    assert result.returncode == 2
    assert "REDIS_URL, DATABASE_URL" in result.stderr and "docs/scale-out.md" in result.stderr
    result = run_worker(REDIS_URL="redis://127.0.0.1:1/0", DATABASE_URL="sqlite:////tmp/x.db",
                        TUNEWRIGHT_EXECUTOR="local")
    assert result.returncode == 2 and "TUNEWRIGHT_EXECUTOR=rq" in result.stderr
