"""The one place that knows the current tenant, for both walls (DESIGN.md §2).

Wall 1 is the context variable read by `TenantManager`; wall 2 is the pair of PostgreSQL settings
`app.tenant_id` / `app.all_tenants` that the row-level security policies read. Both are set
together, per transaction, by exactly these context managers.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING

from django.db import connection, transaction

if TYPE_CHECKING:
    from tenancy.models import Tenant

_tenant_id: ContextVar[int | None] = ContextVar("tenant_id", default=None)
_unscoped_reason: ContextVar[str | None] = ContextVar("unscoped_reason", default=None)


class TenantContextMissing(RuntimeError):
    """A tenant-owned query or task ran with no tenant bound and no explicit unscoped path."""


class TenantContextConflict(RuntimeError):
    """A scope for one tenant was opened while another tenant was bound."""


def current_tenant_id() -> int:
    tenant_id = _tenant_id.get()
    if tenant_id is None:
        raise TenantContextMissing(
            "Tenant-owned query outside tenant_scope(); "
            "bind a tenant or use all_tenants(reason=...)."
        )
    return tenant_id


def bound_tenant_id() -> int | None:
    return _tenant_id.get()


def unscoped_reason() -> str | None:
    """Why the current code may read every tenant's rows, or None outside `all_tenants()`."""
    return _unscoped_reason.get()


def _set_database_scope(tenant_id: int | None, everything: bool) -> tuple[str, str] | None:
    """Write the scope into this transaction's settings; return what it replaces when this runs
    inside an enclosing transaction (which then needs it back), else None."""
    values = ("" if tenant_id is None else str(tenant_id), "on" if everything else "")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting('app.tenant_id', true),"
            " current_setting('app.all_tenants', true),"
            " set_config('app.tenant_id', %s, true), set_config('app.all_tenants', %s, true)",
            values,
        )
        previous_tenant, previous_all, _, _ = cursor.fetchone()
    return (previous_tenant or "", previous_all or "")


def _restore_database_scope(previous: tuple[str, str]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('app.tenant_id', %s, true), set_config('app.all_tenants', %s, true)",
            previous,
        )


@contextmanager
def _scope(tenant_id: int | None, reason: str | None) -> Iterator[None]:
    nested = connection.in_atomic_block
    with transaction.atomic():
        previous = _set_database_scope(tenant_id, everything=reason is not None)
        tenant_token = _tenant_id.set(tenant_id)
        reason_token = _unscoped_reason.set(reason)
        try:
            yield
        finally:
            _tenant_id.reset(tenant_token)
            _unscoped_reason.reset(reason_token)
        # Reached only without an exception. An exception, or a block marked for rollback, rolls
        # the savepoint and with it the settings back; an outermost block ends with its
        # transaction, settings and all.
        if nested and not connection.needs_rollback:
            _restore_database_scope(previous)


@contextmanager
def tenant_scope(tenant: Tenant | int) -> Iterator[int]:
    """Bind `tenant` for the ORM managers and for row-level security, in one transaction."""
    tenant_id = int(getattr(tenant, "pk", tenant))
    bound = _tenant_id.get()
    if bound is not None and bound != tenant_id:
        raise TenantContextConflict(f"tenant {bound} is bound; cannot open a scope for {tenant_id}")
    with _scope(tenant_id, None):
        yield tenant_id


@contextmanager
def all_tenants(*, reason: str) -> Iterator[None]:
    """The explicit unscoped path: platform admin, migrations, fan-out jobs and the few reads
    that precede a tenant (a user's own memberships, an invitation link). `reason` names it in
    code review and in logs."""
    if not reason:
        raise ValueError("all_tenants() needs a reason")
    with _scope(None, reason):
        yield
