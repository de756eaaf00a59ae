"""Issue 18: an evaluation scores with exactly the reward the session trained with (component params, custom
rewards), and batch runs / evaluations left running by a dead server become ``interrupted`` at start-up."""
from __future__ import annotations


import pytest

from tests.export_fixtures import register_session
from tests.helpers import poll
from tests.training_helpers import tiny_config

pytestmark = [pytest.mark.slow, pytest.mark.db]

# Scores 1 only for completions of at most 1 character (0 beyond 1.5): the defaults (1-200 words) score ~1.
SHORT = {"name": "length", "weight": 1.0, "params": {"unit": "characters", "min": 0, "max": 1, "falloff": 0.5}}
TRAINED_REWARD = {"type": "components", "components": [SHORT],
                  "custom": [{"id": 1, "weight": 2.0, "name": "Has seven", "kind": "components",
                              "components": [{"name": "contains", "weight": 1.0,
                                              "params": {"terms": ["seven"], "mode": "any"}}]}]}


def test_evaluation_uses_the_trained_reward_with_its_params_and_custom_rewards(app, client, trained_session_dir,
                                                                              tiny_model_dir):
    from core.datasets.prompts import Markers
    from core.rewards import Sample, build_rewards, score_samples
    from core.training_config import parse_config
    from extensions import db
    from services.models.training import TrainingSession

    session_id = register_session(app, trained_session_dir, tiny_model_dir, "rewarded1")
    with app.app_context():
        session = db.session.get(TrainingSession, session_id)
        session.config = parse_config(tiny_config(tiny_model_dir, reward=TRAINED_REWARD)).model_dump(mode="json")
        db.session.commit()
    created = client.post("/api/models/evaluate", json={"session_id": session_id, "n": 4, "max_tokens": 6})
    assert created.status_code == 202, created.get_json()
    row = poll(client, f"/api/models/evaluations/{created.get_json()['evaluation']['id']}", "evaluation")
    assert row["status"] == "completed", row["error"]
    assert row["reward"]["components"][0]["params"]["max"] == 1 and row["reward"]["custom"][0]["name"] == "Has seven"
    result = row["result"]
    assert set(result["fine_tuned"]["components"]) == {"length", "has_seven"}

    funcs, weights = build_rewards("components", None, [SHORT], Markers(), TRAINED_REWARD["custom"])
    for side in ("base", "fine_tuned"):
        samples = [Sample(e["prompt"], e[side], {"answer": e["answer"]}) for e in result["examples"]]
        expected = score_samples(funcs, weights, samples)["samples"]
        means = {name: sum(s["components"][i]["score"] or 0.0 for s in expected) / len(expected)
                 for i, name in enumerate(["length", "has_seven"])}
        for name, mean in means.items():
            assert result[side]["components"][name]["mean"] == pytest.approx(mean, abs=1e-3), (side, name)
        total = sum(s["total"] or 0.0 for s in expected) / len(expected)
        assert result[side]["total"]["mean"] == pytest.approx(total, abs=1e-3)


def test_jobs_left_running_by_a_dead_server_are_interrupted_at_start_up(app, client, test_config, tiny_model_dir):
    from app_factory import create_app
    from extensions import db
    from services.background_jobs import owner_tag
    from services.models.exports import BatchRun, Evaluation
    from services.models.training import TrainingSession

    dead = {"pid": 2**22 + 12345, "started": 1.0}
    with app.app_context():
        db.session.add(TrainingSession(id="old1", name="old", config=tiny_config(tiny_model_dir), status="completed",
                                       output_dir="/nonexistent", last_logs=[]))
        db.session.commit()
        db.session.add(BatchRun(id="deadbatch", model_id="base:x", status="running", total=3, done=1,
                                settings={"max_tokens": 2, "owner": dead}, results=[]))
        db.session.add(BatchRun(id="oldbatch", model_id="base:x", status="queued", total=3, done=0,
                                settings={"max_tokens": 2}, results=[]))
        db.session.add(BatchRun(id="livebatch", model_id="base:x", status="running", total=3, done=0,
                                settings={"max_tokens": 2, "owner": owner_tag()}, results=[]))
        db.session.add(Evaluation(session_id="old1", status="running", reward={"type": "preset"}, n=4,
                                  result={"owner": dead}))
        db.session.commit()

    restarted = create_app(test_config)  # a new server process would do this at start-up
    try:
        listing = {b: client.get(f"/api/models/batch/{b}").get_json()["batch"]
                   for b in ("deadbatch", "oldbatch", "livebatch")}
        assert listing["deadbatch"]["status"] == listing["oldbatch"]["status"] == "interrupted"
        assert "run it again" in listing["deadbatch"]["error"] and "owner" not in listing["deadbatch"]["settings"]
        assert listing["livebatch"]["status"] == "running"  # this process is alive: not an orphan
        evaluation = client.get("/api/models/evaluations?session_id=old1").get_json()["evaluations"][0]
        assert evaluation["status"] == "interrupted" and evaluation["result"] is None

        assert client.delete("/api/models/batch/deadbatch").status_code == 204
        assert client.get("/api/models/batch/deadbatch").status_code == 404
        assert client.delete("/api/models/batch/livebatch").status_code == 409
        assert client.delete(f"/api/models/evaluations/{evaluation['id']}").status_code == 204
    finally:
        restarted.extensions["tunewright.training"].shutdown()
        with restarted.app_context():
            db.session.remove()
            db.engine.dispose()
