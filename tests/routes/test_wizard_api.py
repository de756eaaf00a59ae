"""The wizard's draft API: one draft per browser session, deep-merged PATCHes, validation with paths, restarts."""
from __future__ import annotations

import pytest

from core.training_config import default_config
from services.wizard_draft import deep_merge
from tests.training_helpers import tiny_config

pytestmark = pytest.mark.db


def test_a_new_browser_gets_the_full_default_config(client):
    response = client.get("/api/wizard/draft")
    assert response.status_code == 200
    assert response.json["config"] == default_config()
    assert response.json["saved"] is False and response.json["updated_at"] is None
    assert any(h.startswith("session=") for h in response.headers.getlist("Set-Cookie"))  # the key, no row
    changed = client.patch("/api/wizard/draft", json={"training": {"num_epochs": 2}})
    assert changed.json["saved"] is True and changed.json["updated_at"]


def _draft_rows(app) -> int:
    from extensions import db
    from services.models.wizard import WizardDraft

    with app.app_context():
        return db.session.execute(db.select(db.func.count()).select_from(WizardDraft)).scalar_one()


def test_cookieless_reads_store_no_draft(app):
    for _ in range(25):  # a fresh browser (or a script) each time: no cookie is ever sent back
        assert app.test_client().get("/api/wizard/draft").status_code == 200
        assert app.test_client().get("/wizard/model").status_code == 200
    assert app.test_client().get("/api/wizard/estimate").status_code == 200
    assert _draft_rows(app) == 0
    app.test_client().patch("/api/wizard/draft", json={"training": {"num_epochs": 2}})
    assert _draft_rows(app) == 1


def test_a_wizard_page_hands_out_the_draft_key_its_scripts_then_share(app):
    """A first visit: the page's own GET of the draft and a change sent at once must land in one draft (each
    request without the key would otherwise get a key of its own, and the last cookie set would win)."""
    browser = app.test_client()
    page = browser.get("/wizard/model")
    assert "session=" in page.headers.get("Set-Cookie", "")
    assert browser.patch("/api/wizard/draft", json={"model": {"name": "Qwen/Qwen3-8B"}}).status_code == 200
    assert browser.get("/api/wizard/draft").json["config"]["model"]["name"] == "Qwen/Qwen3-8B"
    assert _draft_rows(app) == 1


def test_untouched_drafts_expire_when_a_new_one_is_stored(app):
    from datetime import timedelta

    from extensions import db
    from services.models.base import utcnow
    from services.models.wizard import WizardDraft
    from services.wizard_draft import MAX_AGE_DAYS

    old, recent = app.test_client(), app.test_client()
    old.patch("/api/wizard/draft", json={"training": {"num_epochs": 3}})
    recent.patch("/api/wizard/draft", json={"training": {"num_epochs": 4}})
    with app.app_context():
        rows = db.session.execute(db.select(WizardDraft).order_by(WizardDraft.created_at)).scalars().all()
        rows[0].updated_at = utcnow() - timedelta(days=MAX_AGE_DAYS + 1)
        rows[1].updated_at = utcnow() - timedelta(days=MAX_AGE_DAYS - 1)
        db.session.commit()
    app.test_client().patch("/api/wizard/draft", json={"training": {"num_epochs": 2}})
    assert _draft_rows(app) == 2  # the new one and the recent one
    assert old.get("/api/wizard/draft").json["saved"] is False
    assert recent.get("/api/wizard/draft").json["config"]["training"]["num_epochs"] == 4.0


def test_patch_deep_merges_objects_and_replaces_lists_and_scalars(client):
    client.patch("/api/wizard/draft", json={"model": {"target_modules": ["q_proj", "k_proj", "v_proj"]}})
    response = client.patch("/api/wizard/draft", json={
        "training": {"num_epochs": 2, "batch_size": 4},
        "model": {"target_modules": ["o_proj"]},
        "reward": {"type": "components", "components": [{"name": "format", "weight": 0.5}]},
    })
    assert response.status_code == 200, response.json
    config = response.json["config"]
    assert config["training"]["num_epochs"] == 2 and config["training"]["batch_size"] == 4
    assert config["training"]["learning_rate"] == default_config()["training"]["learning_rate"]  # kept
    assert config["model"]["target_modules"] == ["o_proj"]  # a list replaces, never appends
    assert config["model"]["lora_rank"] == 16
    assert config["reward"]["components"] == [{"name": "format", "weight": 0.5, "params": {}}]
    assert client.get("/api/wizard/draft").json["config"] == config


def test_deep_merge_does_not_alias_the_patch():
    patch = {"model": {"target_modules": ["a"]}}
    merged = deep_merge({"model": {"lora_rank": 8}}, patch)
    merged["model"]["target_modules"].append("b")
    assert patch == {"model": {"target_modules": ["a"]}}
    assert merged["model"]["lora_rank"] == 8


@pytest.mark.parametrize("patch, path, hint", [
    ({"training": {"batch_size": 0}}, "training.batch_size", "range"),
    ({"training": {"learning_rate": "fast"}}, "training.learning_rate", "type"),
    ({"training": {"lr_scheduler_type": "wavy"}}, "training.lr_scheduler_type", "one of"),
    ({"training": {"unknown_knob": 1}}, "training.unknown_knob", "Remove this key"),
    ({"mystery_section": {}}, "mystery_section", "Remove this key"),
    ({"training": {"max_new_tokens": 600, "max_sequence_length": 512}}, "training.max_new_tokens", "Lower"),
    ({"grpo": {"algorithm": "gspo", "importance_sampling_level": "token"}}, "grpo.importance_sampling_level",
     "sequence"),
    ({"reward": {"type": "preset", "preset_name": "nope"}}, "reward.preset_name", "math"),
    ({"reward": {"type": "components", "components": [{"name": "nope"}]}}, "reward.components.0.name", "format"),
    ({"dataset": {"reasoning_start": "<X>", "reasoning_end": "<X>"}}, "dataset.solution_start", "own text"),
])
def test_invalid_patches_report_each_path_and_leave_the_draft_unchanged(client, patch, path, hint):
    before = client.get("/api/wizard/draft").json
    response = client.patch("/api/wizard/draft", json=patch)
    assert response.status_code == 400
    assert response.json["error"]
    detail = next(d for d in response.json["details"] if d["path"] == path)
    assert hint in detail["hint"] and detail["message"]
    assert client.get("/api/wizard/draft").json == before


def test_patch_needs_a_json_object(client):
    response = client.patch("/api/wizard/draft", data="[1]", content_type="application/json")
    assert response.status_code == 400 and "JSON object" in response.json["error"]


def test_each_browser_has_its_own_draft(app):
    one, two = app.test_client(), app.test_client()
    one.patch("/api/wizard/draft", json={"training": {"num_epochs": 3}})
    assert two.get("/api/wizard/draft").json["config"]["training"]["num_epochs"] == 1.0
    assert one.get("/api/wizard/draft").json["config"]["training"]["num_epochs"] == 3.0


def test_reset_and_start_from_a_saved_config_or_a_preset(client):
    client.patch("/api/wizard/draft", json={"training": {"num_epochs": 3}})
    assert client.post("/api/wizard/draft/reset").json["config"] == default_config()
    client.post("/api/configs/save", json={"name": "kept", "config": {"grpo": {"algorithm": "gspo"}}})
    config = client.post("/api/wizard/draft/from-config", json={"name": "kept"}).json["config"]
    assert config["grpo"]["algorithm"] == "gspo" and config["name"] == "kept"
    listed = {c["name"]: c for c in client.get("/api/configs/list").json["configs"]}
    assert listed["kept"]["last_used_at"]
    preset = client.post("/api/wizard/draft/from-config", json={"name": "gspo-gsm8k"}).json["config"]
    assert preset["model"]["name"] == "Qwen/Qwen3-1.7B"
    assert client.post("/api/wizard/draft/from-config", json={"name": "../etc/passwd"}).status_code == 400
    assert client.post("/api/wizard/draft/from-config", json={"name": "missing"}).status_code == 404
    assert client.post("/api/wizard/draft/from-config", json={"session_id": "nope"}).status_code == 404
    assert client.post("/api/wizard/draft/from-config", json={}).status_code == 400


@pytest.mark.slow
def test_a_finished_session_duplicates_into_the_draft(client, tiny_model_dir):
    config = tiny_config(tiny_model_dir, pre_training={"enabled": False}, training={"samples_per_epoch": 2})
    config["name"] = "run-to-copy"
    sid = client.post("/api/training/start", json={"config": config}).json["session"]["id"]
    draft = client.post("/api/wizard/draft/from-config", json={"session_id": sid}).json["config"]
    assert draft["name"] == "run-to-copy" and draft["model"]["name"] == str(tiny_model_dir)
    assert draft["training"]["samples_per_epoch"] == 2 and draft["pre_training"]["enabled"] is False
    client.post("/api/training/stop", json={"session_id": sid})


def test_the_draft_survives_a_server_restart(test_config):
    from app_factory import create_app
    from extensions import db

    first = create_app(test_config)
    browser = first.test_client()
    browser.patch("/api/wizard/draft", json={"training": {"num_epochs": 4}})
    cookie = browser.get_cookie("session")
    with first.app_context():
        db.engine.dispose()
    first.extensions["tunewright.training"].shutdown()
    second = create_app(test_config)  # same database and secret key: the same browser finds its draft
    again = second.test_client()
    again.set_cookie("session", cookie.value)
    assert again.get("/api/wizard/draft").json["config"]["training"]["num_epochs"] == 4.0
    second.extensions["tunewright.training"].shutdown()
    with second.app_context():
        db.engine.dispose()


def test_without_a_configured_secret_the_key_is_kept_in_the_instance_folder(test_config):
    from app_factory import create_app

    first = create_app({**test_config, "SECRET_KEY": None})
    second = create_app({**test_config, "SECRET_KEY": None})
    assert first.secret_key and first.secret_key == second.secret_key
    for app in (first, second):
        app.extensions["tunewright.training"].shutdown()


def test_model_info_and_estimate(client, tiny_model_dir):
    info = client.get(f"/api/wizard/model-info?name={tiny_model_dir}").json
    assert info["availability"] == "local" and info["available"] is True
    assert "CPU" in info["hardware"] or "GPU" in info["hardware"]
    missing = client.get("/api/wizard/model-info?name=/nowhere/model").json
    assert missing["availability"] == "unavailable" and "config.json" in missing["reason"]
    catalogued = client.get("/api/wizard/model-info?name=Qwen/Qwen3-8B").json
    assert catalogued["vram_lora_gb"] == 16 and catalogued["params_b"] == 8.2
    client.patch("/api/wizard/draft", json={"training": {"samples_per_epoch": 10, "batch_size": 2,
                                                         "gradient_accumulation_steps": 1, "num_generations": 4,
                                                         "num_epochs": 2},
                                            "pre_training": {"max_samples": 8, "batch_size": 4, "epochs": 1}})
    estimate = client.get("/api/wizard/estimate").json
    assert estimate["grpo_steps"] == 10 and estimate["sft_steps"] == 2
    assert estimate["effective_batch"] == 8
    assert estimate["seconds_per_step"] is None  # no earlier session of this model


def test_a_draft_stored_by_an_older_schema_gains_the_new_defaults(client, app):
    from extensions import db
    from services.models.wizard import WizardDraft

    client.patch("/api/wizard/draft", json={"training": {"num_epochs": 2}})
    with app.app_context():
        row = db.session.execute(db.select(WizardDraft)).scalar_one()
        old = dict(row.config)
        old["training"] = {k: v for k, v in old["training"].items() if k != "top_p"}  # as if top_p were new
        row.config = old
        db.session.commit()
    config = client.get("/api/wizard/draft").json["config"]
    assert config["training"]["top_p"] == 1.0 and config["training"]["num_epochs"] == 2.0


def test_estimate_knows_the_size_of_a_built_in_dataset(client):
    from core.datasets.builtin import BUILTINS

    client.patch("/api/wizard/draft", json={"training": {"samples_per_epoch": None, "batch_size": 4,
                                                         "gradient_accumulation_steps": 1, "num_epochs": 1}})
    estimate = client.get("/api/wizard/estimate").json
    rows = BUILTINS["arithmetic"].splits["train"]
    assert estimate["prompts_per_epoch"] == rows and estimate["grpo_steps"] == -(-rows // 4)
