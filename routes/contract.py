"""The JSON API's contract: one SpecTree that validates request bodies and query strings with pydantic models and
generates the OpenAPI 3.1 document from the URL map and those same models.

SpecTree (not flask-openapi3) because it decorates the plain Flask blueprints we have: flask-openapi3 wants its
own ``OpenAPI`` app and ``APIBlueprint`` classes and view signatures, a rewrite of every route for the same
document. SpecTree's own doc pages load Swagger UI from a CDN, so they are not registered: routes/api_docs.py
serves the document and a page built from the vendored swagger-ui-dist.

Every view under /api and /v1 carries ``@api.validate(...)`` (tests/contract/test_openapi.py checks it). A body
or query string that its model refuses is a 400 in the app's one error shape, ``{"error", "details"}``, never
SpecTree's 422 list."""
from __future__ import annotations

import copy
import re
from typing import Any

import flask
from flask import Flask
from pydantic import BaseModel, ConfigDict, Field
from spectree import SpecTree
from spectree.plugins.flask_plugin import FlaskPlugin
from spectree import Response as Responses  # noqa: F401 - re-exported for the blueprints

from services.errors import ServiceError
from services.ids import MAX_ID

API_PREFIXES = ("/api/", "/v1/")
VERSION = "0.1.0"  # pyproject.toml's version: the contract changes with the app
DESCRIPTION = """\
The JSON API of a Tunewright studio: everything the browser does, scriptable (the `tunewright` CLI and
`clients/` use it too).

**Errors** always have one shape, `{"error": "<message to show>", "details": [{"path", "message", "hint"}]}`,
with a 4xx status for the caller's mistakes (400 bad input, 401 not signed in, 403 missing scope or CSRF token,
404 not found or not yours, 409 conflict, 413 too large, 429 busy, with `Retry-After`).

**Authentication** (only when the studio runs with `TUNEWRIGHT_AUTH=accounts`): send
`Authorization: Bearer <token>` with a personal access token (`tw_…`, from the Account page or
`POST /api/auth/tokens`) or a JWT from `POST /api/auth/token`. A browser session cookie works too, and then every
request that changes something also needs the page's `X-CSRFToken` header. Each operation names the token scope
it needs in `x-scope`.

**Live events** (training updates, logs, GPU stats) go over Socket.IO, which OpenAPI cannot describe: see the
README's *Live events* section.
"""


class ErrorDetail(BaseModel):
    model_config = ConfigDict(extra="allow")
    path: str = ""
    message: str = ""
    hint: str = ""


class ErrorBody(BaseModel):
    """What every 4xx and 5xx of the API answers."""

    model_config = ConfigDict(extra="allow")
    error: str = Field(description="A message the UI shows as is.")
    details: list[ErrorDetail | dict[str, Any] | str] = Field(
        default_factory=list, description="Each problem: {path, message, hint} where a field is at fault; a few "
                                          "refusals (account and token checks) list plain sentences.")


class OpenAIErrorDetail(BaseModel):
    model_config = ConfigDict(extra="allow")
    message: str
    type: str | None = None
    param: str | None = None
    code: str | int | None = None


class OpenAIErrorBody(BaseModel):
    """What every error of the OpenAI-compatible /v1 API answers (OpenAI's clients parse this shape)."""

    model_config = ConfigDict(extra="allow")
    error: OpenAIErrorDetail


def _refuse_invalid(req, resp, validation_error, instance, model_adapter) -> None:
    """SpecTree's ``before`` hook: a request its model refuses becomes a ServiceError, so the errors blueprint
    answers it like every other 400 (SpecTree would abort with its own 422 list)."""
    if validation_error is None:
        return
    errors = validation_error.errors(include_url=False, include_context=False, include_input=False)
    if len(errors) == 1 and not errors[0]["loc"] and errors[0]["type"] in ("model_type", "dict_type"):
        raise ServiceError("Send a JSON object in the request body.")  # as routes/request_json.py says it
    details = []
    for error in errors:
        where = ".".join(str(part) for part in error["loc"])
        details.append({"path": where, "message": error["msg"], "hint": ""})
    summary = "; ".join(f"{d['path'] or 'body'}: {d['message']}" for d in details[:5])
    more = f" (and {len(details) - 5} more)" if len(details) > 5 else ""
    raise ServiceError(f"The request does not fit its schema: {summary}{more}", details=details)


class _Plugin(FlaskPlugin):
    """SpecTree's Flask plugin, except that a streamed or non-JSON response (a file download, server-sent events,
    a page) goes out untouched: the stock plugin reads every response body into memory to re-wrap it, which
    would buffer a multi-gigabyte GGUF download and hold back every SSE token until the stream ended."""

    def validate_response(self, resp, resp_model, skip_validation, force_resp_serialize):
        response = resp[0] if isinstance(resp, tuple) else resp
        if isinstance(response, flask.Response) and (
                response.is_streamed or response.direct_passthrough or not response.is_json):
            return self.get_current_app().make_response(resp), None
        return super().validate_response(resp, resp_model, skip_validation, force_resp_serialize)


api = SpecTree(
    "flask",
    backend=_Plugin,
    title="Tunewright API",
    version=VERSION,
    description=DESCRIPTION,
    openapi_version="3.1.0",
    annotations=False,  # views keep their own signatures; the models are named in the decorator
    before=_refuse_invalid,
    validation_error_status=400,
    naming_strategy=lambda model: model.__name__,
    nested_naming_strategy=lambda root, nested: nested,
    security={},  # each operation says its own (build_spec): none, a bearer token or the session cookie
)

SECURITY_SCHEMES = {
    "bearer": {"type": "http", "scheme": "bearer", "description": "A personal access token (tw_…) or a JWT."},
    "session": {"type": "apiKey", "in": "cookie", "name": "session",
                "description": "The browser's session cookie (requests that change something also need the "
                               "page's X-CSRFToken header)."},
}

_CONVERTED = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


def api_rules(app: Flask) -> list:
    """The URL rules of the JSON API (the docs page and static files excluded)."""
    return [rule for rule in app.url_map.iter_rules()
            if rule.rule.startswith(API_PREFIXES) and rule.endpoint != "api_docs.page"]


def openapi_path(rule_text: str) -> str:
    return _CONVERTED.sub(r"{\1}", rule_text)


def build_spec(app: Flask) -> dict:
    """The OpenAPI document of ``app``'s JSON API, paths sorted, so the committed copy diffs well."""
    from services.auth.permissions import ACCOUNT_ENDPOINTS, PUBLIC_ENDPOINTS, required_scope

    models = copy.deepcopy(api.models)  # generating lifts nested $defs out of them in place: keep it repeatable
    try:
        with app.test_request_context():
            spec = api._generate_spec()  # noqa: SLF001 - the cached ``spec`` would outlive this app's URL map
    finally:
        api.models = models
    endpoints = {}
    for rule in api_rules(app):
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            endpoints[(openapi_path(rule.rule), method.lower())] = rule.endpoint
    paths = {}
    for path, operations in spec["paths"].items():
        if not path.startswith(API_PREFIXES) or path == "/api/docs":
            continue
        for method, operation in operations.items():
            endpoint = endpoints.get((path, method), "")
            operation["operationId"] = f"{endpoint}.{method}" if _shared(endpoints, endpoint) else endpoint
            operation["tags"] = operation["tags"] or [endpoint.partition(".")[0]]
            _ids_in_range(operation)
            _error_responses(operation, "OpenAIErrorBody" if path.startswith("/v1/") else "ErrorBody")
            if endpoint in PUBLIC_ENDPOINTS:
                operation["security"] = [{}]
            else:
                scope = required_scope(endpoint, method.upper())
                operation["x-scope"] = (list(scope) if isinstance(scope, tuple) else scope) \
                    if endpoint not in ACCOUNT_ENDPOINTS else None
                operation["security"] = [{}, {"bearer": []}, {"session": []}]
        paths[path] = operations
    spec["paths"] = paths
    for unused in ("ValidationError", "ValidationErrorElement"):  # SpecTree's 422 body, replaced by ErrorBody
        spec["components"]["schemas"].pop(unused, None)
    spec["components"]["securitySchemes"] = SECURITY_SCHEMES
    spec.pop("security", None)
    schemas = spec["components"]["schemas"]
    for model in (ErrorBody, OpenAIErrorBody):
        schemas[model.__name__] = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schemas[model.__name__].pop("$defs", {}))
    spec["tags"] = [{"name": name} for name in sorted({t for ops in paths.values() for o in ops.values()
                                                        for t in o["tags"]})]
    spec["paths"] = {path: dict(sorted(paths[path].items())) for path in sorted(paths)}
    return spec


def _shared(endpoints: dict, endpoint: str) -> bool:
    return sum(1 for e in endpoints.values() if e == endpoint) > 1


def _ids_in_range(operation: dict) -> None:
    """``<int:...>`` is services.ids' range (routes/converters.py): a larger number matches no rule."""
    for parameter in operation.get("parameters", []):
        if parameter.get("in") == "path" and parameter["schema"].get("type") == "integer":
            parameter["schema"].update(minimum=0, maximum=MAX_ID)


def _error_responses(operation: dict, error_model: str) -> None:
    """Every operation may answer the app's error shape (4xx for the caller, 5xx for the server's own faults):
    the 400 SpecTree documents with its own model, and any status the view does not declare itself."""
    responses = operation.setdefault("responses", {})
    for status, response in list(responses.items()):
        schema = response.get("content", {}).get("application/json", {}).get("schema", {})
        if schema.get("$ref", "").endswith("/ValidationError"):
            responses[status] = _error_ref(response.get("description", "Refused"), error_model)
    responses.setdefault("default", _error_ref("Refused: the message says why.", error_model))
    if not any(status.startswith("2") or status.startswith("3") for status in responses):
        responses["200"] = {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}}


def _error_ref(description: str, model: str) -> dict:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{model}"}}}}


def spec_for(app: Flask) -> dict:
    """``build_spec`` once per app (the URL map does not change after start-up)."""
    cached = app.extensions.get("tunewright_openapi")
    if cached is None:
        cached = app.extensions["tunewright_openapi"] = build_spec(app)
    return cached
