"""One error shape for the whole app: JSON ``{"error", "details"}`` for the API, an HTML page otherwise."""
from __future__ import annotations

import logging

from flask import Blueprint, jsonify, render_template, request
from sqlalchemy.exc import DataError
from werkzeug.exceptions import HTTPException, InternalServerError

from services.errors import ServiceError

bp = Blueprint("errors", __name__)
log = logging.getLogger(__name__)


def wants_json() -> bool:
    if request.path.startswith(("/api/", "/v1/")):
        return True
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


def _respond(status: int, title: str, message: str, details: list | None = None):
    if wants_json():
        return jsonify(error=message, details=details or []), status
    return render_template("errors/error.html", status=status, title=title, message=message), status


@bp.app_errorhandler(ServiceError)
def handle_service_error(error: ServiceError):
    body, status = _respond(error.status_code, "Request refused", error.message, error.details)
    retry_after = getattr(error, "retry_after", None)  # a full queue (429) says when to come back
    return (body, status, {"Retry-After": str(retry_after)}) if retry_after else (body, status)


@bp.app_errorhandler(HTTPException)
def handle_http_error(error: HTTPException):
    return _respond(error.code or 500, error.name, error.description or error.name)


INT32_MAX = 2**31 - 1  # PostgreSQL's INTEGER id columns; SQLite's hold 64 bits


def _number_out_of_range(error: Exception):
    """A number from the request too large for the database (SQLite binds 64-bit integers, PostgreSQL's INTEGER
    columns 32 bits) or for a float: the request's fault, wherever a service let it through. A 404 when the URL
    holds such an id (the row cannot exist), else a 400. Logged with its traceback so the service can learn to
    refuse it itself."""
    from extensions import db

    log.warning("number out of range on %s %s", request.method, request.path, exc_info=error)
    db.session.rollback()
    values = [str(v).strip().lstrip("-") for v in (request.view_args or {}).values() if isinstance(v, (int, str))]
    if any(v.isascii() and v.isdigit() and int(v[:40]) > INT32_MAX for v in values):
        return _respond(404, "Not Found", "No such row: the id in the URL is larger than any stored id.")
    return _respond(400, "Bad Request", "A number in the request is out of range (ids and counts must fit the "
                                        "database's integers, numbers a float).")


@bp.app_errorhandler(OverflowError)
def handle_overflow(error: OverflowError):
    return _number_out_of_range(error)


@bp.app_errorhandler(DataError)
def handle_data_error(error: DataError):
    """PostgreSQL refuses an out-of-range number (SQLSTATE 22003) where SQLite raises OverflowError."""
    if getattr(getattr(error, "orig", None), "sqlstate", None) == "22003":
        return _number_out_of_range(error)
    return handle_unexpected(error)


@bp.app_errorhandler(Exception)
def handle_unexpected(error: Exception):
    log.exception("unhandled error on %s %s", request.method, request.path)
    from extensions import db

    db.session.rollback()  # a failed flush must not poison the next request on this thread
    return _respond(500, InternalServerError.name, "Internal error: the server logged the details.")
