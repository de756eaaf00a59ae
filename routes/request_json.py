"""The JSON body of a request, or a 400 that says what to send (shared by the API blueprints)."""
from flask import request

from services.errors import ServiceError


def json_body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ServiceError("Send a JSON object in the request body.")
    return body
