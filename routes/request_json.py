"""The JSON body of a request, or a 400 that says what to send (shared by the API blueprints)."""
from flask import request
from werkzeug.exceptions import BadRequest

from services.errors import ServiceError


def json_body() -> dict:
    if not request.is_json:
        raise ServiceError("Send a JSON object in the request body (Content-Type: application/json).")
    try:
        body = request.get_json()
    except BadRequest as exc:
        raise ServiceError(f"The request body is not valid JSON: {exc.description}") from None
    if not isinstance(body, dict):
        raise ServiceError("Send a JSON object in the request body.")
    return body
