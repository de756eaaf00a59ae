"""Deploy and undeploy a registry version (``/api/registry``, beside routes/registry.py)."""
from __future__ import annotations

from flask import Blueprint, jsonify

from routes.contract import ErrorBody, Responses, api
from routes.schemas.deploy import Deployed
from routes.schemas.registry import RegistryVersionEnvelope
from services.deploy import get_deployer
from services.registry import get_registry

bp = Blueprint("deploy", __name__)


@bp.post("/models/<name>/versions/<version>/deploy")
@api.validate(resp=Responses(
    HTTP_200=Deployed,
    HTTP_409=(ErrorBody, "It cannot be deployed: a RAG index, an archived version, missing files."),
    HTTP_422=(ErrorBody, "It did not start or failed its smoke check: it stays ready, and details say why.")),
    tags=["deploy"])
def deploy(name: str, version: str):
    """Serve a version on /v1: start its backend and smoke-check it (deploying a deployed version does nothing).

    200 with the deployed version and its smoke result; 422 when the smoke check fails (the version stays
    ready and says why), 409 for what cannot be deployed (a RAG index, an archived version, missing files)."""
    row = get_deployer().deploy(name, version)
    return jsonify(version=get_registry().version_dict(row, lineage=False), stats=get_deployer().stats_for(row.id))


@bp.post("/models/<name>/versions/<version>/undeploy")
@api.validate(resp=Responses(HTTP_200=RegistryVersionEnvelope), tags=["deploy"])
def undeploy(name: str, version: str):
    """Stop serving a deployed version and free its memory (409 when it is not deployed)."""
    row = get_deployer().undeploy(name, version)
    return jsonify(version=get_registry().version_dict(row, lineage=False))
