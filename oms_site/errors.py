"""One error hierarchy for every app.

Services raise these; the API exception handler (``oms_site.api.errors``) and the admin map
them to responses: validation -> 400 with field errors, missing or another tenant's -> 404,
not permitted -> 403, illegal transition / stale state / idempotency conflict -> 409.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


class ApplicationError(Exception):
    status_code = 400
    code = "error"
    default_message = "The request could not be processed."

    def __init__(
        self,
        message: str | None = None,
        *,
        errors: Mapping[str, Sequence[str] | str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        self.message = message or self.default_message
        self.errors: dict[str, list[str]] = {
            field: [msgs] if isinstance(msgs, str) else list(msgs)
            for field, msgs in (errors or {}).items()
        }
        self.extra = dict(extra or {})
        super().__init__(self.message)

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "detail": self.message}
        if self.errors:
            body["errors"] = self.errors
        body.update(self.extra)
        return body


class ValidationFailed(ApplicationError):
    status_code = 400
    code = "invalid"
    default_message = "Invalid input."


class NotFound(ApplicationError):
    """Missing, or belonging to another tenant: callers cannot tell the two apart."""

    status_code = 404
    code = "not_found"
    default_message = "Not found."


class PermissionDenied(ApplicationError):
    status_code = 403
    code = "permission_denied"
    default_message = "You do not have permission to perform this action."


class Conflict(ApplicationError):
    status_code = 409
    code = "conflict"
    default_message = "The request conflicts with the current state."


class TransitionNotAllowed(Conflict):
    code = "transition_not_allowed"


class StaleState(Conflict):
    code = "stale_state"
    default_message = "The object changed while the request was processed; retry."


class IdempotencyConflict(Conflict):
    code = "idempotency_conflict"
    default_message = "This idempotency key was already used with a different payload."
