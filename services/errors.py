"""Errors a service raises for the caller's bad input; the errors blueprint turns them into 4xx JSON."""
from __future__ import annotations


class ServiceError(Exception):
    """A request the service refuses, with a message the UI can show as is."""

    status_code = 400

    def __init__(self, message: str, details: list | None = None, status_code: int | None = None):
        super().__init__(message)
        self.message = message
        self.details = details or []
        if status_code is not None:
            self.status_code = status_code


class NotFoundError(ServiceError):
    status_code = 404


class ConflictError(ServiceError):
    status_code = 409
