"""Each wizard step renders its own working content (a placeholder page cannot pass), with no inline scripts."""
from __future__ import annotations

import re

import pytest

from core.training.rewards import PRESETS
from routes.pages import WIZARD_STEPS

STEP_CONTENT = {
    "model": ['id="model-table"', 'name="model-choice"', 'id="model-name"', 'id="model-availability"',
              'id="setup-recommended"', 'id="setup-custom"', 'id="setup-advanced"', 'data-error-for="model.lora_rank"',
              'id="model-hardware"', "js/wizard_model.js"],
    "dataset": ['id="ds-source"', 'id="tpl-text"', 'id="pv-table"', 'data-error-for="dataset.max_samples"',
                'data-error-for="dataset.system_prompt"', "wizard_dataset.js"],
    "config": ['id="config-form"', 'data-schema-url="/api/training/schema"', 'id="live-effective-batch"',
               'id="live-steps"', "js/wizard_config.js"],
    "rewards": ['id="rw-gallery"', 'data-api="/api/rewards"', 'id="rw-code"', 'id="rw-builder-save"',
                'id="step-continue"', "js/rewards_step.js"],
    "review": ['id="review-sections"', 'id="review-json"', 'id="json-copy"', 'id="json-download"',
               'id="review-estimate"', 'id="review-start"', 'id="save-form"', 'id="saved-configs"',
               'id="import-file"', "js/wizard_review.js"],
    "train": ['id="start-draft"', 'id="start-default"', "Quick demo", 'id="chart-reward"', 'id="train-log"'],
}


@pytest.mark.parametrize("step", list(STEP_CONTENT))
def test_each_built_step_shows_its_own_controls(client, step):
    response = client.get(f"/wizard/{step}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "This step is not built yet" not in html
    assert f'href="/wizard/{step}">' in html and 'class="nav-link active"' in html
    for needle in STEP_CONTENT[step]:
        assert needle in html, needle
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "inline script"
    assert not re.search(r"\son[a-z]+=", html), "inline event handler"


def test_steps_owned_by_other_issues_keep_their_place(client):
    for step in ("export", "test"):
        assert client.get(f"/wizard/{step}").status_code == 200
    assert client.get("/wizard/nope").status_code == 404


def test_review_sits_between_rewards_and_train():
    slugs = [slug for slug, _ in WIZARD_STEPS]
    assert slugs.index("rewards") + 1 == slugs.index("review") == slugs.index("train") - 1


def test_rewards_step_reads_the_engines_presets(client):
    """The gallery is drawn from GET /api/rewards/presets (the engine's registry), never a hard-coded list."""
    assert 'data-api="/api/rewards"' in client.get("/wizard/rewards").get_data(as_text=True)
    listed = [p["id"] for p in client.get("/api/rewards/presets").json["presets"]]
    assert set(PRESETS) <= set(listed)


def test_model_step_lists_the_catalogue_as_choices(client):
    from core.model_registry import CATALOG

    html = client.get("/wizard/model").get_data(as_text=True)
    assert set(re.findall(r'name="model-choice" value="([^"]+)"', html)) == {e.id for e in CATALOG}


def test_sessions_page_and_nav_link(client):
    html = client.get("/sessions").get_data(as_text=True)
    for needle in ('id="sessions-table"', 'id="filter-status"', 'id="filter-model"', 'id="queue-list"',
                   "js/sessions_page.js"):
        assert needle in html
    assert 'href="/sessions"' in client.get("/").get_data(as_text=True)


def test_schema_endpoint_serves_every_section(client):
    schema = client.get("/api/training/schema").json
    assert {"model", "dataset", "training", "grpo", "reward", "pre_training"} <= set(schema["properties"])
    training = schema["$defs"]["TrainingSection"]["properties"]
    assert training["batch_size"]["minimum"] == 1 and training["batch_size"]["description"]
