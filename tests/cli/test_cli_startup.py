"""Issue 18: commands that only read answer without loading the ML libraries (torch, transformers, PEFT...):
each runs in a fresh interpreter and reports which of them ended up in ``sys.modules``. Timings are in
``bench/cli_startup.py``, not here."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.cli.conftest import ROOT

pytestmark = pytest.mark.slow

ML_LIBRARIES = ("torch", "transformers", "peft", "trl", "datasets", "sentence_transformers", "llama_cpp",
                "accelerate")
PROBE = f"""
import json, sys
from cli.__main__ import main
try:
    code = main(sys.argv[1:])
except SystemExit as exc:  # --help
    code = exc.code
print("LOADED=" + json.dumps([m for m in {ML_LIBRARIES!r} if m in sys.modules]))
sys.exit(code)
"""
SEED = """
from app_factory import create_app
from extensions import db
from services.models import TrainingSession
app = create_app()
with app.app_context():
    db.session.add(TrainingSession(id="seeded", name="seeded run", config={}, status="completed", priority=1,
                                   output_dir="/nonexistent/seeded", last_logs=[]))
    db.session.commit()
"""


def _loaded(cli, *args: str) -> list[str]:
    result = subprocess.run([sys.executable, "-c", PROBE, *args], cwd=ROOT, env=cli.env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    line = next(line for line in result.stdout.splitlines() if line.startswith("LOADED="))
    return json.loads(line.removeprefix("LOADED="))


def test_read_only_commands_import_no_ml_library(cli):
    seeded = subprocess.run([sys.executable, "-c", SEED], cwd=ROOT, env=cli.env, capture_output=True, text=True,
                            timeout=120)
    assert seeded.returncode == 0, seeded.stderr[-3000:]
    for command in (("sessions", "list"), ("sessions", "list", "--json"), ("sessions", "show", "seeded"),
                    ("datasets", "list"), ("--help",)):
        assert _loaded(cli, *command) == [], command
