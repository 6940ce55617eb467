"""Service errors: each carries an HTTP status, a machine code and a Chinese message."""

from __future__ import annotations


class ServiceError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, field: str | None = None, fields=None) -> None:
        super().__init__(message)
        self.message = message
        self.fields: dict[str, str] = dict(fields or {})
        if field:
            self.fields[field] = message


class ValidationFailed(ServiceError):
    status = 422
    code = "validation_failed"


class NotFound(ServiceError):
    status = 404
    code = "not_found"


class Forbidden(ServiceError):
    status = 403
    code = "forbidden"


class Conflict(ServiceError):
    status = 409
    code = "conflict"


class InvalidTransition(Conflict):
    code = "invalid_transition"


class TooManyAttempts(ServiceError):
    status = 429
    code = "too_many_attempts"
