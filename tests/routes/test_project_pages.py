"""The Projects pages render their shells for the owner (no inline script), and another user's or a missing
project is the usual 404 page."""
from __future__ import annotations

import re

import pytest

from tests.auth_helpers import accounts_app, add_user, bearer  # noqa: F401  (fixture)

pytestmark = pytest.mark.db


def make_project(app, owner_id=None, name="mixed") -> int:
    """A draft row written directly: the pages are under test, not creation (tests/routes/test_projects_api.py)."""
    from extensions import db
    from services.models.projects import Project

    with app.app_context():
        row = Project(owner_id=owner_id, name=name, description="two traits", base_model="tiny",
                      training_type="standard", max_rows=24, output_dir=app.config["OUTPUT_FOLDER"], runs=[],
                      traits=[{"trait_type": "reasoning", "datasets": [{"source": "builtin:arithmetic",
                                                                        "percentage": 100.0}]}],
                      mix={}, config={}, status="draft")
        db.session.add(row)
        db.session.commit()
        return row.id


def assert_no_inline_script(html: str) -> None:
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "inline script"
    assert not re.search(r"\son[a-z]+=", html), "inline event handler"


PAGES = {
    "/projects": ['id="projects-table"', 'id="new-project"', "js/projects_page.js"],
    "/projects/new": ['id="p-name"', 'id="p-base-model"', 'id="p-method"', 'value="1000000"', 'value="custom"',
                      'id="p-reasoning"', 'id="p-coding"', 'id="general-sum"', 'id="general-even"',
                      'id="p-output-dir"', 'id="preview-table"', 'id="p-upsample"', 'id="create-project"',
                      'data-error-for="max_rows"', "js/project_wizard.js"],
}


@pytest.mark.parametrize("url", list(PAGES))
def test_list_and_wizard_render(client, url):
    response = client.get(url)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    for needle in PAGES[url]:
        assert needle in html, needle
    assert 'id="projects-link"' in html  # the nav link
    assert_no_inline_script(html)


def test_wizard_steps_come_in_order(client):
    html = client.get("/projects/new").get_data(as_text=True)
    labels = ["Basic information", "Reasoning", "Coding (optional)", "General/Tools (optional)", "Output directory",
              "Preview", "Create"]
    positions = [html.index(f"{i}. {label}") for i, label in enumerate(labels, 1)]
    assert positions == sorted(positions)


def test_project_page_renders_for_its_owner_and_404_otherwise(app, client):
    project_id = make_project(app)
    response = client.get(f"/projects/{project_id}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    for needle in ("mixed", f'data-project-id="{project_id}"', 'id="chart-trait-loss"', 'id="manifest"',
                   'id="validation-checks"', 'id="project-start"', 'id="project-stop"', 'id="project-delete"',
                   "vendor/chart.umd.min.js", "js/project_detail.js"):
        assert needle in html, needle
    assert_no_inline_script(html)
    missing = client.get(f"/projects/{project_id + 1}")
    assert missing.status_code == 404 and "<html" in missing.get_data(as_text=True)


def test_another_users_project_page_is_404(accounts_app):
    owner = add_user(accounts_app, "owner-a")
    other = add_user(accounts_app, "other-b")
    project_id = make_project(accounts_app, owner)
    client = accounts_app.test_client()
    assert client.get(f"/projects/{project_id}", headers=bearer(accounts_app, owner)).status_code == 200
    assert client.get(f"/projects/{project_id}", headers=bearer(accounts_app, other)).status_code == 404
