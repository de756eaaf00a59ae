"""Rewards JSON API (``/api/rewards``): thin wrappers over ``services.rewards``."""
from flask import Blueprint, jsonify

from routes.request_json import json_body
from services import rewards

bp = Blueprint("rewards", __name__)


@bp.get("/presets")
def presets():
    return jsonify(presets=rewards.list_presets())


@bp.get("/components")
def components():
    return jsonify(components=rewards.list_components(), sandbox=rewards.sandbox_status())


@bp.post("/test")
def test():
    return jsonify(rewards.test_reward(json_body()))


@bp.post("/samples")
def samples():
    return jsonify(rewards.sample_rows(rewards.check_dataset_request(json_body())))


@bp.post("/recommend")
def recommend():
    return jsonify(rewards.recommend(json_body()))


@bp.get("/custom")
def list_custom():
    return jsonify(rewards=rewards.list_custom(), sandbox=rewards.sandbox_status())


@bp.post("/custom")
def create_custom():
    return jsonify(reward=rewards.custom_to_dict(rewards.create_custom(json_body()))), 201


@bp.get("/custom/<int:reward_id>")
def get_custom(reward_id: int):
    return jsonify(reward=rewards.custom_to_dict(rewards.get_custom(reward_id, admin_ok=True)))  # admins read


@bp.patch("/custom/<int:reward_id>")
def update_custom(reward_id: int):
    return jsonify(reward=rewards.custom_to_dict(rewards.update_custom(reward_id, json_body())))


@bp.delete("/custom/<int:reward_id>")
def delete_custom(reward_id: int):
    rewards.delete_custom(reward_id)
    return "", 204


@bp.get("/health/<session_id>")
def health(session_id: str):
    return jsonify(rewards.health(session_id))
