"""Django's PostgreSQL backend, carrying the bound scope (`tenancy.context`) to the database.

Every statement sent on the application's connection while something is bound is preceded, in
the same round trip, by `SELECT set_config(..., true)` of the scope's settings. PostgreSQL runs a
string of several statements as one transaction when none is open, and a transaction-local
setting lasts to the end of the transaction, so the setting reaches the statement whether a
transaction is open or not, and never outlives it. Costs no extra round trip.

With nothing bound, a statement inside a transaction is preceded by the same call with empty
values, so a setting written earlier in that transaction cannot leak past the end of a binding.
The `unscoped` connection carries nothing: its role's own policy decides.

Django's health check (`CONN_HEALTH_CHECKS`) sends `SELECT 1` before the first statement of
every request, a round trip of its own on each API read. A connection that answered a
statement less than `HEALTH_CHECK_IDLE_SECONDS` ago is taken as alive instead; one idle for
longer is checked as before. A server restarted inside that second fails the next statement of
each connection once, and Django closes a connection that failed at the end of its request.
"""

from __future__ import annotations

import re
import time

from django.db.backends.postgresql import base

from tenancy.context import UNSCOPED_ALIAS, Scope, TenantContextMissing, current_scope
from tenancy.db.schema import TenantSchemaEditor

_SAFE = re.compile(r"^[0-9a-f.]*$")
# Transaction control reads nothing, and must run even in a failed transaction (rolling back to
# a savepoint), where any other statement in front of it would be refused.
_TRANSACTION_CONTROL = re.compile(r"^\s*(SAVEPOINT|RELEASE|ROLLBACK|COMMIT|BEGIN)\b", re.I)
_EMPTY = Scope()
# See the module doc: how long after its last answer a connection is used without a check.
HEALTH_CHECK_IDLE_SECONDS = 1.0


def scope_statement(scope: Scope) -> str:
    """The settings statement for `scope`. Values are digits and hex only (checked), so they are
    written as literals: the statement must not use the caller's parameters."""
    tenant = "" if scope.tenant_id is None else str(int(scope.tenant_id))
    claim, invitation = scope.user_claim, scope.invitation_token_hash
    if not (_SAFE.match(claim) and _SAFE.match(invitation)):
        raise ValueError("scope values must be digits and lower-case hex")
    return (
        f"SELECT set_config('app.tenant_id', '{tenant}', true),"
        f" set_config('app.user_claim', '{claim}', true),"
        f" set_config('app.invitation_token_hash', '{invitation}', true)"
    )


def carry_scope(execute, sql, params, many, context):
    """Execute wrapper: put the bound scope in front of the statement (see the module doc)."""
    connection = context["connection"]
    scope = current_scope()
    bound = scope.tenant_id is not None or scope.user_claim or scope.invitation_token_hash
    if not bound and not connection.in_atomic_block:
        return execute(sql, params, many, context)
    if isinstance(sql, str) and _TRANSACTION_CONTROL.match(sql):
        return execute(sql, params, many, context)
    if bound and scope.unscoped_reason is None:
        prefix = scope_statement(scope)
    else:
        prefix = scope_statement(_EMPTY)
    raw = context["cursor"].cursor
    if getattr(raw, "name", None):
        # A server-side cursor wraps its query in DECLARE, which takes one statement only: the
        # settings go first, on their own, and last as long as the transaction.
        if connection.get_autocommit():
            if bound:
                raise TenantContextMissing(
                    "a server-side cursor (QuerySet.iterator) under a bound scope needs a "
                    "transaction: open transaction.atomic() around it"
                )
            return execute(sql, params, many, context)
        with raw.connection.cursor() as settings_cursor:
            settings_cursor.execute(prefix)
        return execute(sql, params, many, context)
    if not isinstance(sql, str):
        sql = sql.as_string(raw)
    return execute(f"{prefix}; {sql}", params, many, context)


def note_answer(execute, sql, params, many, context):
    """Execute wrapper: the time the connection last answered a statement."""
    result = execute(sql, params, many, context)
    context["connection"].answered_at = time.monotonic()
    return result


class DatabaseOperations(base.DatabaseOperations):
    compiler_module = "tenancy.db.compiler"  # GROUP BY a tenant-owned table's whole key


class DatabaseWrapper(base.DatabaseWrapper):
    SchemaEditorClass = TenantSchemaEditor  # migrations write tenant keys (`tenancy.db.keys`)
    ops_class = DatabaseOperations

    answered_at = float("-inf")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.execute_wrappers.append(note_answer)
        if self.alias != UNSCOPED_ALIAS:
            self.execute_wrappers.append(carry_scope)

    def close_if_health_check_failed(self) -> None:
        if (
            self.connection is not None
            and time.monotonic() - self.answered_at < HEALTH_CHECK_IDLE_SECONDS
        ):
            self.health_check_done = True
            return
        super().close_if_health_check_failed()
