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
                "accelerate", "numpy")
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
from core.training_config import TrainingConfig
from extensions import db
from services.models import TrainingSession
from services.models.exports import ExportJob
app = create_app()
with app.app_context():
    db.session.add(TrainingSession(id="seeded", name="seeded run", config=TrainingConfig().model_dump(mode="json"),
                                   status="completed", priority=1, output_dir="/nonexistent/seeded", last_logs=[]))
    db.session.flush()
    db.session.add(ExportJob(id="seeded-export", session_id="seeded", format="gguf", quantization="Q8_0",
                             status="completed", stage="done", progress=1.0, manifest={"files": [{"name": "m.gguf"}]},
                             export_dir="/nonexistent/seeded-export"))
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
                    ("exports", "list"), ("exports", "show", "seeded-export"), ("datasets", "list"),
                    ("models", "list"), ("projects", "list"), ("--help",)):
        assert _loaded(cli, *command) == [], command


def test_exports_list_and_show_report_the_status(cli):
    seeded = subprocess.run([sys.executable, "-c", SEED], cwd=ROOT, env=cli.env, capture_output=True, text=True,
                            timeout=120)
    assert seeded.returncode == 0, seeded.stderr[-3000:]
    listed = cli.run("exports", "list", "--session", "seeded")
    assert listed.returncode == 0, listed.stderr[-3000:]
    assert "1 export(s)" in listed.stdout and "seeded-export" in listed.stdout and "completed" in listed.stdout
    shown = cli.run("exports", "show", "seeded-export", "--json")
    assert shown.returncode == 0 and json.loads(shown.stdout)["files"] == ["m.gguf"]
    missing = cli.run("exports", "show", "nope")
    assert missing.returncode == 1 and "error:" in missing.stderr
