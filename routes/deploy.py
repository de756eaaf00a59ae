"""Deploy and undeploy a registry version (``/api/registry``, beside routes/registry.py)."""
from __future__ import annotations

from flask import Blueprint, jsonify

from services.deploy import get_deployer
from services.registry import get_registry

bp = Blueprint("deploy", __name__)


@bp.post("/models/<name>/versions/<version>/deploy")
def deploy(name: str, version: str):
    """200 with the deployed version and its smoke result; 422 when the smoke check fails (the version stays
    ready and says why), 409 for what cannot be deployed (a RAG index, an archived version, missing files)."""
    row = get_deployer().deploy(name, version)
    return jsonify(version=get_registry().version_dict(row, lineage=False), stats=get_deployer().stats_for(row.id))


@bp.post("/models/<name>/versions/<version>/undeploy")
def undeploy(name: str, version: str):
    row = get_deployer().undeploy(name, version)
    return jsonify(version=get_registry().version_dict(row, lineage=False))
