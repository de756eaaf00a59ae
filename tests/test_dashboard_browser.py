"""The dashboard in a real chromium against a real server: counts, the activity chart, recent runs with sparklines,
deployed models and the machine panel render from the database, and the page follows a change made by another
request live (Socket.IO ``dashboard_update``), with no reload and no polling. Its screenshot is the README's."""
from __future__ import annotations

import math
import os
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import requests

from tests.auth_helpers import close_app
from tests.browser import csp_violations, wait_js
from tests.dataset_fixtures import QA_ROWS, jsonl_bytes
from tests.helpers import make_test_config
from tests.live_server import start_server, stop_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]
DOCS = Path(__file__).resolve().parent.parent / "docs"


@pytest.fixture
def dashboard_server(tmp_path):
    folder = tmp_path / "server"
    database = f"sqlite:///{folder / 'instance' / 'tunewright.db'}"
    server = start_server(folder, DATABASE_URL=database, TUNEWRIGHT_MONITOR_INTERVAL="0.5")
    yield server, folder, database
    stop_server(server)


def seed_history(folder: Path, database: str) -> None:
    """A month of runs with metric histories, registry versions and one deployed, written into the server's own
    database by an app of this process (the server reads the same file); uploads go through HTTP below."""
    from app_factory import create_app
    from extensions import db
    from services.models import TrainingMetric, TrainingSession
    from services.registry import get_registry
    from services.registry.status import VersionStatus

    app = create_app({**make_test_config(folder), "SQLALCHEMY_DATABASE_URI": database})
    try:
        now = datetime.now(timezone.utc)
        with app.app_context():
            for i in range(20):  # some days two runs, some none; runs end 2 to 21 hours after they start
                created = now - timedelta(days=28 - int(i * 1.4), hours=(i * 7) % 11)
                method = "standard" if i % 4 == 3 else "grpo"
                status = "running" if i == 18 else "failed" if i % 6 == 4 else "stopped" if i == 11 else "completed"
                session = TrainingSession(
                    id=f"run{i:02d}", name=f"{'sums' if method == 'grpo' else 'chat'}-{method}-{i:02d}",
                    config={"method": method, "model": {"name": "HuggingFaceTB/SmolLM2-135M-Instruct"}},
                    status=status, owner_id=None, output_dir=str(folder / "outputs" / f"run{i:02d}"), last_logs=[],
                    created_at=created,
                    finished_at=None if status == "running" else created + timedelta(hours=2 + (i * 5) % 20))
                db.session.add(session)
                for step in range(1, 61 if status != "failed" else 12):
                    wobble = 0.06 * math.sin(step * 1.7 + i)
                    values = {"loss": 2.2 * math.exp(-step / 25) + 0.1 + wobble}
                    if method == "grpo":
                        values["reward"] = min(1.0, 0.15 + 0.8 * (1 - math.exp(-step / 20)) + wobble)
                    db.session.add(TrainingMetric(session_id=session.id, phase="grpo" if method == "grpo" else "sft",
                                                  step=step, global_step=step, values=values))
            db.session.commit()
        with app.test_request_context("/"):
            registry = get_registry()
            for run, name in (("run12", "sums-grpo"), ("run17", "sums-grpo"), ("run14", "arith-grpo")):
                adapter = folder / "outputs" / run / "adapter"  # fake weights: the registry hashes bytes only
                adapter.mkdir(parents=True)
                (adapter / "adapter_config.json").write_text('{"r": 8}', encoding="utf-8")
                (adapter / "adapter_model.safetensors").write_bytes(run.encode() * 4096)
                registry.register_session(db.session.get(TrainingSession, run), name)
            registry.set_status(registry.version("sums-grpo", "2"), VersionStatus.DEPLOYED)
            registry.archive("arith-grpo", "1")
    finally:
        close_app(app)


def upload(url: str, name: str) -> None:
    response = requests.post(f"{url}/api/datasets/upload", files={"file": (name, jsonl_bytes(QA_ROWS))}, timeout=30)
    assert response.status_code == 202, response.text


def test_dashboard_renders_and_follows_changes_live(browser, dashboard_server, tmp_path):
    server, folder, database = dashboard_server
    seed_history(folder, database)
    upload(server.url, "arithmetic.jsonl")
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    violations = csp_violations(page)
    page.goto(server.url + "/")
    wait_js(page, "Number(document.querySelector('#dashboard').dataset.loads) >= 1")
    api = requests.get(f"{server.url}/api/dashboard", timeout=30).json()
    assert api["counts"] == {"datasets": 1, "active_trainings": 1, "queued_jobs": 0, "models": 2}
    shown = page.evaluate("""() => Object.fromEntries([...document.querySelectorAll('[data-count]')]
        .map((n) => [n.dataset.count, n.textContent]))""")
    assert shown == {key: str(value) for key, value in api["counts"].items()}
    chart = page.evaluate("""() => { const c = Chart.getChart('activity-chart');
        return {labels: c.data.labels.length, started: c.data.datasets[0].data.reduce((a, b) => a + b, 0)}; }""")
    assert chart == {"labels": 30, "started": sum(api["activity"]["started"])} and chart["started"] == 20
    assert page.locator("#recent-runs tbody tr").count() == 8
    assert page.locator("#recent-runs svg.sparkline polyline").count() == 8
    assert "sums-grpo:v2" in page.inner_text("#deployed-models")
    wait_js(page, "document.querySelector('[data-meter=cpu] [data-value]').textContent.endsWith('%')")
    first_sample = page.get_attribute("#dashboard", "data-system-at")
    wait_js(page, f"document.querySelector('#dashboard').dataset.systemAt !== '{first_sample}'", timeout=10000)

    # Another request uploads a dataset: the count follows without a reload.
    page.evaluate("window.notReloaded = true")
    loads = int(page.get_attribute("#dashboard", "data-loads"))
    upload(server.url, "more.jsonl")
    wait_js(page, "document.querySelector('[data-count=datasets]').textContent === '2'", timeout=15000)
    assert page.evaluate("window.notReloaded === true")
    assert int(page.get_attribute("#dashboard", "data-loads")) > loads

    shot = tmp_path / "dashboard.png"
    page.screenshot(path=str(shot))  # the first screen: what the README shows
    if os.environ.get("TUNEWRIGHT_UPDATE_SCREENSHOTS") == "1":
        shutil.copy(shot, DOCS / "dashboard.png")
    assert errors == [] and violations == []
    context.close()
