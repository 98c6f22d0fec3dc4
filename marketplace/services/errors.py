"""Domain errors raised by the service layer and mapped to form errors or HTTP problems."""

from __future__ import annotations


class ServiceError(Exception):
    """Base class of every error a use case raises on purpose."""

    status_code = 400

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class ValidationFailed(ServiceError):
    """The request made sense but the data breaks a rule; ``field`` names the input at fault."""

    status_code = 422


class PermissionDenied(ServiceError):
    """The actor may not do this (wrong role, another organisation, suspended...)."""

    status_code = 403


class NotFound(ServiceError):
    """The object does not exist, or the actor may not know that it exists."""

    status_code = 404


class Conflict(ServiceError):
    """The object is not in a state that allows this (already accepted, already decided...)."""

    status_code = 409


def refuse_if_any(problems: list[tuple[str, str]]) -> None:
    """Raise the first of a list of (field, message) problems, saying how many more there are."""
    if problems:
        field, message = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise ValidationFailed(message + more, field=field)


class RateLimited(ServiceError):
    status_code = 429
