"""Rewards JSON API (``/api/rewards``): thin wrappers over ``services.rewards``."""
from flask import Blueprint, jsonify

from routes.contract import Responses, api
from routes.request_json import json_body
from routes.schemas.rewards import (RewardComponents, RewardCustomCreate, RewardCustomEnvelope, RewardCustomList,
                                    RewardCustomUpdate, RewardDatasetRef, RewardHealth, RewardPresets,
                                    RewardRecommendations, RewardSamples, RewardSamplesRequest, RewardTest,
                                    RewardTestResult)
from services import rewards

bp = Blueprint("rewards", __name__)


@bp.get("/presets")
@api.validate(resp=Responses(HTTP_200=RewardPresets), tags=["rewards"])
def presets():
    """The reward presets, each with its components, the dataset fields it needs and examples."""
    return jsonify(presets=rewards.list_presets())


@bp.get("/components")
@api.validate(resp=Responses(HTTP_200=RewardComponents), tags=["rewards"])
def components():
    """The reward components with their parameters' schemas, and whether code rewards can run here."""
    return jsonify(components=rewards.list_components(), sandbox=rewards.sandbox_status())


@bp.post("/test")
@api.validate(json=RewardTest, resp=Responses(HTTP_200=RewardTestResult), tags=["rewards"])
def test():
    """Score samples with a preset, components, a saved custom reward or unsaved code, each score with its
    reason."""
    return jsonify(rewards.test_reward(json_body()))


@bp.post("/samples")
@api.validate(json=RewardSamplesRequest, resp=Responses(HTTP_200=RewardSamples), tags=["rewards"])
def samples():
    """Rows of a dataset as reward-test samples, each with a good and a bad completion."""
    return jsonify(rewards.sample_rows(rewards.check_dataset_request(json_body())))


@bp.post("/recommend")
@api.validate(json=RewardDatasetRef, resp=Responses(HTTP_200=RewardRecommendations), tags=["rewards"])
def recommend():
    """Presets ranked for a dataset from what its rows look like, each with the reason."""
    return jsonify(rewards.recommend(json_body()))


@bp.get("/custom")
@api.validate(resp=Responses(HTTP_200=RewardCustomList), tags=["rewards"])
def list_custom():
    """Your saved custom rewards, and whether code rewards can run here."""
    return jsonify(rewards=rewards.list_custom(), sandbox=rewards.sandbox_status())


@bp.post("/custom")
@api.validate(json=RewardCustomCreate, resp=Responses(HTTP_201=RewardCustomEnvelope), tags=["rewards"])
def create_custom():
    """Save a custom reward: a weighted combination of components, or code run in the sandbox."""
    return jsonify(reward=rewards.custom_to_dict(rewards.create_custom(json_body()))), 201


@bp.get("/custom/<int:reward_id>")
@api.validate(resp=Responses(HTTP_200=RewardCustomEnvelope), tags=["rewards"])
def get_custom(reward_id: int):
    """A saved custom reward (admins may read anyone's)."""
    return jsonify(reward=rewards.custom_to_dict(rewards.get_custom(reward_id, admin_ok=True)))  # admins read


@bp.patch("/custom/<int:reward_id>")
@api.validate(json=RewardCustomUpdate, resp=Responses(HTTP_200=RewardCustomEnvelope), tags=["rewards"])
def update_custom(reward_id: int):
    """Change a saved custom reward (the keys given)."""
    return jsonify(reward=rewards.custom_to_dict(rewards.update_custom(reward_id, json_body())))


@bp.delete("/custom/<int:reward_id>")
@api.validate(resp=Responses(HTTP_204=None), tags=["rewards"])
def delete_custom(reward_id: int):
    """Delete a saved custom reward."""
    rewards.delete_custom(reward_id)
    return "", 204


@bp.get("/health/<session_id>")
@api.validate(resp=Responses(HTTP_200=RewardHealth), tags=["rewards"])
def health(session_id: str):
    """A session's reward-health alerts (no learning signal, a flat reward, truncated completions, rising KL,
    collapsing entropy, a missing field), each with a hint, and the thresholds behind them."""
    return jsonify(rewards.health(session_id))
