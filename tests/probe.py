"""Ask a service whether it allows something, and undo whatever it wrote."""

from __future__ import annotations

from collections.abc import Callable

from django.db import transaction

from tenancy.context import tenant_scope
from tenancy.errors import ApplicationError


class _Undo(Exception):
    pass


class NothingChanged(Exception):
    """Raised by an attempt that succeeded without doing anything (a repeated request)."""


def service_allows(tenant, attempt: Callable[[], object]) -> bool:
    """Whether `attempt()` runs without the service refusing it (ApplicationError, including
    NotPermitted) and changes something; its writes are rolled back either way."""
    try:
        with tenant_scope(tenant), transaction.atomic():
            attempt()
            raise _Undo
    except _Undo:
        return True
    except (ApplicationError, NothingChanged):
        return False
