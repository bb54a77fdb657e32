"""Statements compiled once a process, prepared once a database connection.

The lists and counts whose SQL the application keeps (`tenancy.api.pagination.CompiledRows`,
`tenancy.tally`) are sent the first time on a connection as `PREPARE name AS ...` and then as
`EXECUTE name(...)`: PostgreSQL parses and rewrites them once, and after a few executions
keeps a generic plan, so a list page no longer pays the planner on every request (planning the
People page's statement took 0.5 ms, longer than running it). The tenant's settings still
precede each `EXECUTE` in the same round trip (`tenancy.db.base.carry_scope`), and row-level
security is applied when the statement runs.

A prepared statement belongs to the database session: the names prepared are kept with the
connection they were prepared on and forgotten when Django opens another. A statement
PostgreSQL refuses to prepare (a parameter whose type it cannot infer) is sent as it is from
then on; inside a transaction the attempt runs in a savepoint, so the refusal leaves the
transaction usable. The `PREPARE` goes on the raw connection, outside Django's query log: it
reads nothing, and a request's queries stay the ones it runs. `PREPARED_STATEMENTS = False`
turns it off (tests that read the SQL sent).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from typing import Generic, TypeVar

import psycopg2
from django.conf import settings
from django.db import connections

from tenancy.context import current_tenant_id, unscoped_reason

_PLACEHOLDER = re.compile(r"%%|%s")
_REFUSED = ""
# How many statements a connection keeps prepared. Each holds its parse tree and plans in the
# database session, and a list's SQL varies with its filters and page bounds, so a client
# walking page after page must not grow a session without end: past this, the connection's
# statements are all deallocated and prepared again as they come.
MAX_PREPARED = 256


def numbered(sql: str) -> str:
    """`sql` with psycopg2's `%s` placeholders as PostgreSQL's `$1, $2, ...` and `%%` as `%`."""
    count = 0

    def replace(match: re.Match) -> str:
        nonlocal count
        if match.group(0) == "%%":
            return "%"
        count += 1
        return f"${count}"

    return _PLACEHOLDER.sub(replace, sql)


def _prepared_names(wrapper) -> dict[str, str]:
    """SQL -> name of the statements prepared on `wrapper`'s current database session."""
    kept = getattr(wrapper, "_prepared_statements", None)
    if kept is None or kept[0] is not wrapper.connection:
        kept = wrapper._prepared_statements = (wrapper.connection, {})
    return kept[1]


def _prepare(wrapper, sql: str) -> str:
    """Prepares `sql` on `wrapper`'s session; its name, or `_REFUSED`. Sent on the raw
    connection: a `PREPARE` reads nothing and needs no tenant, and it is not one of a
    request's queries (it happens once a connection, whatever the data)."""
    name = "u_" + hashlib.blake2b(sql.encode(), digest_size=12).hexdigest()
    in_transaction = wrapper.in_atomic_block
    with wrapper.connection.cursor() as cursor:
        if in_transaction:
            cursor.execute("SAVEPOINT uplift_prepare")
        try:
            cursor.execute(f"PREPARE {name} AS {numbered(sql)}")
        except psycopg2.Error:
            if in_transaction:
                cursor.execute("ROLLBACK TO SAVEPOINT uplift_prepare")
                cursor.execute("RELEASE SAVEPOINT uplift_prepare")
            return _REFUSED
        if in_transaction:
            cursor.execute("RELEASE SAVEPOINT uplift_prepare")
    return name


def _deallocate_all(wrapper, names: dict[str, str]) -> None:
    with wrapper.connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")
    names.clear()


def fetch_all(alias: str, sql: str, params) -> list[tuple]:
    """Every row of `sql` run with `params` on `alias`, through a prepared statement."""
    wrapper = connections[alias]
    with wrapper.cursor() as cursor:
        if not getattr(settings, "PREPARED_STATEMENTS", True):
            cursor.execute(sql, params)
            return cursor.fetchall()
        names = _prepared_names(wrapper)
        name = names.get(sql)
        if name is None:
            if len(names) >= MAX_PREPARED:
                _deallocate_all(wrapper, names)
            name = names[sql] = _prepare(wrapper, sql)
        if name == _REFUSED:
            cursor.execute(sql, params)
        elif params:
            cursor.execute(f"EXECUTE {name}({', '.join(['%s'] * len(params))})", params)
        else:
            cursor.execute(f"EXECUTE {name}")
        return cursor.fetchall()


T = TypeVar("T")


class KeptStatements(Generic[T]):
    """Statements compiled once a process for a key and the bound tenant (`CompiledRows`,
    `tally`): `get(key, compile)` runs `compile()` the first time and returns its result after,
    and every time when unscoped (`all_tenants`), whose SQL reads every tenant. Past `limit`
    entries all are dropped and compiled again as they come."""

    def __init__(self, limit: int = 2048):
        self.limit = limit
        self._kept: dict[tuple, T] = {}

    def get(self, key, compile: Callable[[], T]) -> T:
        if unscoped_reason() is not None:
            return compile()
        key = (key, current_tenant_id())
        if key not in self._kept:
            if len(self._kept) >= self.limit:
                self._kept.clear()
            self._kept[key] = compile()
        return self._kept[key]

    def clear(self) -> None:
        self._kept.clear()

    def __len__(self) -> int:
        return len(self._kept)
