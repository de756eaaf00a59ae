"""Wall time and peak memory of the CLI's read-only commands, each a whole process as a user runs it.

Every command runs ``--runs`` times (default 5) in a fresh interpreter against a temporary database holding
one session and one export; the figures are the median wall time and the largest peak RSS (the child's own
``ru_maxrss``, from ``wait4``). Target (issue 18): under one second each. The first run, which creates and
migrates the database, is reported on its own.

    .venv/bin/python bench/cli_startup.py [--runs 5]
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = (("sessions", "list"), ("sessions", "list", "--json"), ("sessions", "show", "bench"),
            ("exports", "list"), ("exports", "show", "bench-export"), ("datasets", "list"), ("--help",))
SEED = """
from app_factory import create_app
from core.training_config import TrainingConfig
from extensions import db
from services.models import TrainingSession
from services.models.exports import ExportJob
app = create_app()
with app.app_context():
    db.session.add(TrainingSession(id="bench", name="bench run", config=TrainingConfig().model_dump(mode="json"),
                                   status="completed", priority=1, output_dir="/nonexistent/bench", last_logs=[]))
    db.session.flush()
    db.session.add(ExportJob(id="bench-export", session_id="bench", format="gguf", quantization="Q8_0",
                             status="completed", stage="done", progress=1.0, export_dir="/nonexistent/bench-export"))
    db.session.commit()
"""


def environment(folder: Path) -> dict[str, str]:
    env = dict(os.environ, TUNEWRIGHT_ENV="development", HF_HUB_OFFLINE="1",
               **{f"TUNEWRIGHT_{name}_DIR": str(folder / name.lower())
                  for name in ("INSTANCE", "UPLOAD", "OUTPUT", "EXPORT", "CONFIG", "LOG", "PROMPTS")},
               TUNEWRIGHT_MODEL_CACHE=str(folder / "models"))
    for name in ("DATABASE_URL", "TUNEWRIGHT_TOKEN", "TUNEWRIGHT_HOST"):
        env.pop(name, None)
    return env


def measure(args: tuple[str, ...], env: dict[str, str]) -> tuple[float, float, int]:
    """(wall seconds, peak RSS in MiB, exit code) of ``python -m cli ARGS``."""
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "cli", *args], cwd=ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return time.perf_counter() - started, usage.ru_maxrss / 1024, process.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tunewright-cli-bench-") as tmp:
        env = environment(Path(tmp))
        first, rss, code = measure(("sessions", "list"), env)
        print(f"first run (creates and migrates the database): {first:.2f} s, {rss:.0f} MiB, exit {code}")
        subprocess.run([sys.executable, "-c", SEED], cwd=ROOT, env=env, check=True, capture_output=True)
        print(f"{'command':32} {'median s':>9} {'max s':>7} {'peak RSS MiB':>13}")
        for command in COMMANDS:
            runs = [measure(command, env) for _ in range(options.runs)]
            failed = [code for _, _, code in runs if code != 0]
            walls = [wall for wall, _, _ in runs]
            print(f"{' '.join(command):32} {statistics.median(walls):9.2f} {max(walls):7.2f} "
                  f"{max(rss for _, rss, _ in runs):13.0f}" + (f"  (exit codes {failed})" if failed else ""))


if __name__ == "__main__":
    main()
