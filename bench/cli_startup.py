"""Wall time and peak memory of the CLI's read-only commands, each a whole process as a user runs it.

Every command runs ``--runs`` times (default 5) in a fresh interpreter against a temporary database holding
one session and one export; the figures are the median wall time, the median CPU time (user + system) and the
largest peak RSS (the child's own ``ru_maxrss`` and CPU times, from ``wait4``). Target (issue 18): under one second each. The first run, which creates and
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
    # PYTHONDONTWRITEBYTECODE would make every run compile the project's modules again (0.3-0.5 s here), which
    # a user's second run never does: the first run below writes the caches.
    for name in ("DATABASE_URL", "TUNEWRIGHT_TOKEN", "TUNEWRIGHT_HOST", "PYTHONDONTWRITEBYTECODE"):
        env.pop(name, None)
    return env


def measure(args: tuple[str, ...], env: dict[str, str]) -> tuple[float, float, float, int]:
    """(wall seconds, CPU seconds, peak RSS in MiB, exit code) of ``python -m cli ARGS``."""
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "cli", *args], cwd=ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    cpu = usage.ru_utime + usage.ru_stime
    return time.perf_counter() - started, cpu, usage.ru_maxrss / 1024, process.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tunewright-cli-bench-") as tmp:
        env = environment(Path(tmp))
        first, _, rss, code = measure(("sessions", "list"), env)
        print(f"first run (creates and migrates the database): {first:.2f} s, {rss:.0f} MiB, exit {code}")
        subprocess.run([sys.executable, "-c", SEED], cwd=ROOT, env=env, check=True, capture_output=True)
        print(f"{'command':28} {'median wall s':>13} {'max wall s':>10} {'median CPU s':>12} {'peak RSS MiB':>12}")
        for command in COMMANDS:
            runs = [measure(command, env) for _ in range(options.runs)]
            failed = [code for *_, code in runs if code != 0]
            print(f"{' '.join(command):28} {statistics.median(r[0] for r in runs):13.2f} "
                  f"{max(r[0] for r in runs):10.2f} {statistics.median(r[1] for r in runs):12.2f} "
                  f"{max(r[2] for r in runs):12.0f}" + (f"  (exit codes {failed})" if failed else ""))
        print(f"load average during the runs: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (CPU seconds are "
              "what an idle machine's wall time approaches)")

if __name__ == "__main__":
    main()
