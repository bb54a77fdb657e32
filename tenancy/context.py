"""The one place that knows the current tenant, for both walls (DESIGN.md §2).

Binding is not a transaction. `tenant_scope(t)` binds a tenant for the code inside it: wall 1 is
the context variable read by `TenantManager`; wall 2 is the setting `app.tenant_id` that the
row-level security policies read. The database backend (`tenancy.db`) writes the bound scope into
every statement it sends on the application's connection, as a transaction-local setting at the
head of the same round trip. So a binding may span any number of transactions (commit, call an
outside service with no transaction open, commit again), a statement in autocommit carries the
tenant as well, and nothing outlives the binding on a reused connection.

Besides the tenant, two narrow read grants are carried the same way, for the few reads that come
before a tenant is known: a user's own memberships (`own_memberships_scope`, a claim signed with
a key the application role cannot read) and one invitation whose link token the caller holds
(`invitation_link_scope`). Neither opens any other row.

`all_tenants(reason=...)` is the explicit unscoped path (platform admin, fan-out jobs): its ORM
queries go to a connection of their own (`UNSCOPED_ALIAS`), as a database role of its own. The
application role's policies have no branch that opens every tenant.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tenancy.models import Tenant

UNSCOPED_ALIAS = "unscoped"


@dataclass(frozen=True)
class Scope:
    """What the current code may see, as written into each statement."""

    tenant_id: int | None = None
    user_claim: str = ""
    invitation_token_hash: str = ""
    unscoped_reason: str | None = None


_scope: ContextVar[Scope] = ContextVar("uplift_scope", default=Scope())  # noqa: B039 (frozen)


class TenantContextMissing(RuntimeError):
    """A tenant-owned query or task ran with no tenant bound and no explicit unscoped path."""


class TenantContextConflict(RuntimeError):
    """A scope for one tenant was opened while another tenant was bound."""


def current_scope() -> Scope:
    return _scope.get()


def current_tenant_id() -> int:
    tenant_id = _scope.get().tenant_id
    if tenant_id is None:
        raise TenantContextMissing(
            "Tenant-owned query outside tenant_scope(); "
            "bind a tenant or use all_tenants(reason=...)."
        )
    return tenant_id


def bound_tenant_id() -> int | None:
    return _scope.get().tenant_id


def unscoped_reason() -> str | None:
    """Why the current code may read every tenant's rows, or None outside `all_tenants()`."""
    return _scope.get().unscoped_reason


@contextmanager
def _bind(scope: Scope) -> Iterator[Scope]:
    token = _scope.set(scope)
    try:
        yield scope
    finally:
        _scope.reset(token)


@contextmanager
def tenant_scope(tenant: Tenant | int) -> Iterator[int]:
    """Bind `tenant` for the ORM managers and for row-level security. Opens no transaction:
    open `transaction.atomic()` inside it where the work must be atomic."""
    tenant_id = int(getattr(tenant, "pk", tenant))
    current = _scope.get()
    if current.unscoped_reason is not None:
        raise TenantContextConflict(f"inside all_tenants(); cannot bind tenant {tenant_id}")
    if current.tenant_id is not None and current.tenant_id != tenant_id:
        raise TenantContextConflict(
            f"tenant {current.tenant_id} is bound; cannot open a scope for {tenant_id}"
        )
    with _bind(Scope(tenant_id=tenant_id)):
        yield tenant_id


@contextmanager
def all_tenants(*, reason: str) -> Iterator[None]:
    """The explicit unscoped path: platform admin, migrations and fan-out jobs. Its ORM queries
    run on the `unscoped` connection, as a role whose policy opens every tenant; `reason` names
    the path in code review and in logs. A transaction inside it is
    `transaction.atomic(using=UNSCOPED_ALIAS)`."""
    if not reason:
        raise ValueError("all_tenants() needs a reason")
    if _scope.get().tenant_id is not None:
        raise TenantContextConflict("a tenant is bound; all_tenants() cannot be opened inside it")
    with _bind(Scope(unscoped_reason=reason)):
        yield


def _claim_key(purpose: str) -> bytes:
    from django.conf import settings

    return hashlib.sha256(f"uplift.{purpose}:{settings.SECRET_KEY}".encode()).digest()


def own_memberships_key() -> bytes:
    """The HMAC key of user claims; the owner stores it where only a security-definer function
    reads it (`tenancy.rls`)."""
    return _claim_key("own-memberships")


def sign_user_claim(user_id: int) -> str:
    message = str(int(user_id))
    digest = hmac.new(own_memberships_key(), message.encode(), hashlib.sha256).hexdigest()
    return f"{message}.{digest}"


@contextmanager
def own_memberships_scope(user_id: int) -> Iterator[None]:
    """Let the statements inside read the memberships of `user_id` in every tenant (and nothing
    else). The claim is signed with a key the application role cannot read, so no setting it
    writes itself can open another user's memberships."""
    current = _scope.get()
    with _bind(Scope(tenant_id=current.tenant_id, user_claim=sign_user_claim(user_id))):
        yield


@contextmanager
def invitation_link_scope(token_hash: str) -> Iterator[None]:
    """Let the statements inside read the one invitation whose token hashes to `token_hash`: the
    link is the credential."""
    current = _scope.get()
    with _bind(Scope(tenant_id=current.tenant_id, invitation_token_hash=token_hash)):
        yield
