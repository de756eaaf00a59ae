"""Compare registered versions through the API: validation, the config diff, the curves, isolation, and real
answers from two versions trained on the tiny model (the real inference worker, the run's own reward)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from services.registry.compare import TOKEN_BUDGET, config_diff, flatten
from tests.auth_helpers import accounts_app, add_user, bearer  # noqa: F401  (fixture)
from tests.registry_fixtures import make_version

pytestmark = pytest.mark.db


def test_flatten_gives_dotted_keys_and_keeps_lists_whole():
    assert flatten({"model": {"name": "m", "lora": {"r": 8}}, "reward": {"components": [{"name": "a"}]},
                    "empty": {}}) == {"model.name": "m", "model.lora.r": 8, "reward.components": [{"name": "a"}],
                                      "empty": {}}


def test_config_diff_marks_differences_and_absent_keys():
    a = {"training": {"learning_rate": 1e-4, "batch_size": 4}, "method": "grpo"}
    b = {"training": {"learning_rate": 2e-4, "batch_size": 4}}
    full = {row["key"]: row for row in config_diff([a, b])}
    assert full["training.batch_size"] == {"key": "training.batch_size", "values": [4, 4], "present": [True, True],
                                           "differs": False}
    assert full["training.learning_rate"]["differs"] and full["training.learning_rate"]["values"] == [1e-4, 2e-4]
    assert full["method"]["present"] == [True, False] and full["method"]["differs"]
    only = config_diff([a, b], differences_only=True)
    assert [row["key"] for row in only] == ["method", "training.learning_rate"]
    assert config_diff([a, a], differences_only=True) == []


def _refs(*kwargs):
    return [f"{k['name']}:v{k['version']}" for k in kwargs]


def test_overview_has_metrics_config_diff_and_curves(app, client):
    from extensions import db
    from services.models.registry import ModelVersion
    from services.models.training import TrainingMetric

    first, second = make_version(app, None, "alpha"), make_version(app, None, "beta")
    with app.app_context():
        row = db.session.query(ModelVersion).filter_by(session_id=second["session_id"]).one()
        config = dict(row.lineage["config"])
        config["training"] = {**config["training"], "learning_rate": 0.123}
        row.lineage = {**row.lineage, "config": config}
        for step in (1, 2, 3):
            db.session.add(TrainingMetric(session_id=first["session_id"], phase="grpo", step=step, global_step=step,
                                          values={"reward": step / 10, "kl": 0.01 * step,
                                                  "completions/mean_length": 20 + step}))
        db.session.commit()
    refs = _refs(first, second)
    answer = client.get("/api/registry/compare", query_string=[("v", r) for r in refs]
                        + [("differences_only", "1")])
    assert answer.status_code == 200, answer.get_json()
    data = answer.get_json()
    assert [v["ref"] for v in data["versions"]] == refs
    assert all("metrics" in v and v["config_hash"].startswith("sha256:") for v in data["versions"])
    assert [row["key"] for row in data["config_diff"]] == ["training.learning_rate"]
    assert data["config_diff"][0]["values"][1] == 0.123
    assert data["curves"]["reward"] == [[[1, 0.1], [2, 0.2], [3, 0.3]], None]
    assert data["curves"]["completion_length"][0][-1] == [3, 23.0] and data["curves"]["kl"][1] is None
    everything = client.get("/api/registry/compare", query_string=[("v", r) for r in refs]).get_json()
    assert len(everything["config_diff"]) > 20 and not everything["differences_only"]


def test_compare_validation(app, client):
    versions = [make_version(app, None, f"m{i}") for i in range(5)]
    refs = _refs(*versions)
    for bad in (refs[:1], refs, [], "m0:v1"):
        answer = client.post("/api/registry/compare", json={"versions": bad, "prompts": ["hi"]})
        assert answer.status_code == 400, (bad, answer.get_json())
        assert answer.get_json()["details"][0]["path"].startswith("versions")
        if isinstance(bad, list) and bad:
            assert client.get("/api/registry/compare", query_string=[("v", r) for r in bad]).status_code == 400
    assert client.post("/api/registry/compare", json={"versions": [refs[0], refs[0]], "prompts": ["hi"]}
                       ).status_code == 400
    assert client.post("/api/registry/compare", json={"versions": [refs[0], "m0@nothing"], "prompts": ["hi"]}
                       ).status_code == 404
    assert client.post("/api/registry/compare", json={"versions": [refs[0], "nobody:v1"], "prompts": ["hi"]}
                       ).status_code == 404
    two = refs[:2]
    for body, path in (({"prompts": [f"p{i}" for i in range(9)]}, "prompts"),
                       ({"prompts": ["a"], "max_tokens": 513}, "max_tokens"),
                       ({"prompts": ["a"], "temperature": 3}, "temperature"),
                       ({"prompts": [""]}, "prompts.0"),
                       ({"prompts": ["a"], "dataset": {"n": 2}}, "dataset"),
                       ({}, "prompts"),
                       ({"prompts": ["a"] * 8, "max_tokens": TOKEN_BUDGET // 16 + 1}, "max_tokens")):
        answer = client.post("/api/registry/compare", json={"versions": two, **body})
        assert answer.status_code == 400, (body, answer.get_json())
        assert answer.get_json()["details"][0]["path"] == path, (body, answer.get_json())


def test_another_users_version_is_404_in_compare(accounts_app):
    app = accounts_app
    owner, other = add_user(app, "owner-a"), add_user(app, "other-b")
    mine = _refs(make_version(app, owner, "shared-name"), make_version(app, owner, "second"))
    theirs = _refs(make_version(app, other, "theirs"))
    client = app.test_client()
    as_owner, as_other = bearer(app, owner), bearer(app, other)
    assert client.get("/api/registry/compare", query_string=[("v", r) for r in mine], headers=as_owner
                      ).status_code == 200
    for refs in (mine, [theirs[0], mine[0]]):
        assert client.get("/api/registry/compare", query_string=[("v", r) for r in refs], headers=as_other
                          ).status_code == 404
        answer = client.post("/api/registry/compare", json={"versions": refs, "prompts": ["hi"], "max_tokens": 2},
                             headers=as_other)
        assert answer.status_code == 404, answer.get_json()
    # B's own version named like A's is B's: names are per owner
    mine_too = _refs(make_version(app, other, "shared-name"))
    assert client.get("/api/registry/compare", query_string=[("v", r) for r in mine_too + theirs],
                      headers=as_other).status_code == 200


def test_pages_render_and_unknown_names_are_404(app, client):
    version = make_version(app, None, "paged", alias="production")
    assert b'id="models-page"' in client.get("/models").data
    page = client.get("/models/paged")
    assert page.status_code == 200 and b"@production" in page.data
    page = client.get("/models/paged/versions/1")
    assert page.status_code == 200 and b"paged:v1" in page.data and b"/api/registry/models/paged/versions/1/download" in page.data
    assert client.get(f"/models/compare?v=paged:v{version['version']}&v=x:v1").status_code == 200
    assert client.get("/models/nothing").status_code == 404
    assert client.get("/models/paged/versions/7").status_code == 404
    make_version(app, None, "compare")
    assert b'data-model="compare"' in client.get("/models/compare").data  # a model named "compare" keeps its page


@pytest.mark.slow
def test_two_trained_versions_answer_the_same_prompts_with_scores(app, client, trained_session_dir, tiny_model_dir):
    """Two real adapters of the tiny model (the run's final GRPO adapter, and its SFT adapter as another run)
    answer typed prompts and held-out rows; each answer is scored with the first run's reward."""
    from extensions import db
    from services.models.training import TrainingSession
    from services.registry import get_registry
    from tests.export_fixtures import register_session

    app.config["INFERENCE_CACHE_BYTES"] = 64 * 1024**2
    first = register_session(app, trained_session_dir, tiny_model_dir, "grpo1")
    second = register_session(app, trained_session_dir, tiny_model_dir, "sft1")
    adapter = Path(app.config["OUTPUT_FOLDER"]) / second / "adapter"
    shutil.rmtree(adapter)
    shutil.copytree(Path(app.config["OUTPUT_FOLDER"]) / second / "sft_adapter", adapter)
    with app.app_context():
        refs = [get_registry().register_session(db.session.get(TrainingSession, sid), name)[0].ref
                for sid, name in ((first, "tiny-grpo"), (second, "tiny-sft"))]
    assert refs == ["tiny-grpo:v1", "tiny-sft:v1"]

    answer = client.post("/api/registry/compare", json={"versions": refs, "prompts": ["What is 2 + 3?", "Hi"],
                                                        "max_tokens": 6})
    assert answer.status_code == 200, answer.get_json()
    data = answer.get_json()
    assert data["versions"] == refs and data["scored_with"] == refs[0]
    assert data["reward"]["preset_name"] == "math" and data["settings"]["temperature"] == 0.0
    assert [row["prompt"] for row in data["rows"]] == ["What is 2 + 3?", "Hi"]
    for row in data["rows"]:
        assert [a["ref"] for a in row["answers"]] == refs
        assert [a["model_id"] for a in row["answers"]] == [f"session:{first}", f"session:{second}"]
        for a in row["answers"]:
            assert a["tokens"] > 0 and isinstance(a["text"], str) and isinstance(a["score"], float)
            assert set(a["components"]) == {"format", "correctness"}
    assert len(data["mean_scores"]) == 2
    # greedy and the same seed: asking again gives the same answers
    again = client.post("/api/registry/compare", json={"versions": refs, "prompts": ["What is 2 + 3?"],
                                                       "max_tokens": 6}).get_json()
    assert [a["text"] for a in again["rows"][0]["answers"]] == [a["text"] for a in data["rows"][0]["answers"]]

    held_out = client.post("/api/registry/compare", json={"versions": refs, "dataset": {"n": 2}, "max_tokens": 4})
    assert held_out.status_code == 200, held_out.get_json()
    rows = held_out.get_json()["rows"]
    assert len(rows) == 2 and all(row["expected"] for row in rows)
