"""Isolation cases for the model registry: another user's model or version is a 404 on every route."""
from __future__ import annotations

from tests.isolation.registry import case
from tests.registry_fixtures import make_version


def version(app, owner_id):
    kwargs = make_version(app, owner_id)
    return {"name": kwargs["name"], "version": kwargs["version"]}


def model(app, owner_id):
    return {"name": make_version(app, owner_id)["name"]}


def alias(app, owner_id):
    return {"name": make_version(app, owner_id, alias="production")["name"], "alias": "production"}


def new_alias(app, owner_id):
    return {"name": make_version(app, owner_id)["name"], "alias": "staging"}


case("registry.model", model)
case("registry.version", version)
case("registry.download", version)
case("registry.archive", version, methods=("POST",))
case("registry.delete", version, methods=("DELETE",))
case("registry.set_alias", new_alias, methods=("PUT",), body={"version": 1})
case("registry.delete_alias", alias, methods=("DELETE",))

# The Models pages (the compare page and POST /api/registry/compare take references in the query or body, not
# the URL: tests/services/test_registry_compare.py checks that another user's version is a 404 there)
case("model_pages.model", model)
case("model_pages.version", version)
# Deploying as the owner: the fake weights fail to start or fail the smoke check (422); undeploy: not deployed (409).
case("deploy.deploy", version, methods=("POST",), owner_statuses=(409, 422))
case("deploy.undeploy", version, methods=("POST",), owner_statuses=(409,))
