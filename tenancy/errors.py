"""The one application error type: services raise it, pages and the API render it."""

from __future__ import annotations


class ApplicationError(Exception):
    """A request the domain refuses. `errors` maps field names to reasons; `field=None` keys a
    reason that concerns no single field."""

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        code: str = "invalid",
        errors: dict[str, list[str]] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.errors = errors if errors is not None else ({field: [message]} if field else {})


class NotPermitted(ApplicationError):
    def __init__(self, message: str = "Your role does not allow this.") -> None:
        super().__init__(message, code="permission_denied")


class Conflict(ApplicationError):
    """The request no longer fits the record as it is: someone changed it first (a concurrent
    transition, a duplicate created a moment earlier) or its state does not allow the action.
    The API answers 409; pages show the message. `code` says which conflict it is."""

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        code: str = "conflict",
        errors: dict[str, list[str]] | None = None,
    ) -> None:
        super().__init__(message, field=field, code=code, errors=errors)


class Unprocessable(ApplicationError):
    """A well-formed request the server will not carry out as sent (an `Idempotency-Key` reused
    with another body). The API answers 422."""
