"""Errors that services raise. The API layer maps each to an HTTP status and a JSON body.

Services never import FastAPI: they speak in these terms, and the same rules hold when a
service is called from the CLI, a scheduled job or a plugin.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


class DomainError(Exception):
    """Base class; ``code`` is the stable machine-readable name clients switch on."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, fields: list[FieldError] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields or []

    @property
    def headers(self) -> dict[str, str]:
        """HTTP headers the answer carries (the API layer adds them)."""
        return {}


class InvalidInput(DomainError):
    """The request is well-formed but a field's value breaks a business rule."""

    status = 422
    code = "validation_error"

    def __init__(self, field: str, message: str, *more: FieldError) -> None:
        fields = [FieldError(field, message), *more]
        super().__init__("; ".join(f"{f.field}: {f.message}" for f in fields), fields=fields)


class NotFound(DomainError):
    """Absent, another tenant's, or outside the caller's data scope: all look the same."""

    status = 404
    code = "not_found"


class Conflict(DomainError):
    """The record's state forbids the action (already decided, duplicate, in use…)."""

    status = 409
    code = "conflict"


class Unauthenticated(DomainError):
    status = 401
    code = "unauthenticated"

    @property
    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": "Bearer"}


class PermissionDenied(DomainError):
    status = 403
    code = "permission_denied"


class TooManyAttempts(DomainError):
    """Sign-in or account e-mails from this address or for this e-mail are throttled for now;
    ``retry_after`` seconds until the next attempt is heard."""

    status = 429
    code = "too_many_attempts"

    def __init__(self, retry_after: int) -> None:
        super().__init__("too many attempts; try again later")
        self.retry_after = retry_after

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}
