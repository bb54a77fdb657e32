"""Several counts and existence checks of a page in one statement, compiled once.

A page's small numbers (the dashboard's people, invitations, "has tiers", "has programs")
cost little in PostgreSQL (a round trip is about 0.04 ms here) but a lot in Django: compiling
one `aggregate()`, `count()` or `exists()` is 0.25 to 0.9 ms of Python. `tally()` takes the
querysets from the selectors, as they are, and writes them into one `SELECT` of scalar
subqueries; that statement is compiled once for a call site and tenant and then reused by the
process, so a page view pays one round trip and no compiling.

The querysets must depend on nothing but the bound tenant (which their SQL carries as a
parameter, `IsCurrentTenant`): no clock, no request value, no actor beyond what the call
site's `key` names. Unscoped (`all_tenants`), the statement is compiled every time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from django.db.models import QuerySet

from tenancy.db import prepared

Kind = Literal["count", "exists"]

# (database alias, SQL, parameters, names of the columns)
Statement = tuple[str, str, tuple, tuple[str, ...]]
# (call site, tenant) -> its statement
_statements: prepared.KeptStatements[Statement] = prepared.KeptStatements()


def _compile(parts: dict[str, tuple[Kind, QuerySet]]) -> Statement:
    columns, params, aliases = [], [], set()
    for kind, queryset in parts.values():
        keys = queryset.order_by().values("pk")
        if kind == "exists":
            sql, part_params = keys[:1].query.sql_with_params()
            columns.append(f"EXISTS ({sql})")
        else:
            sql, part_params = keys.query.sql_with_params()
            # The ORM's own SQL, its values kept apart as parameters.
            columns.append(f"(SELECT count(*) FROM ({sql}) AS part)")  # noqa: S608
        params.extend(part_params)
        aliases.add(queryset.db)
    (alias,) = aliases  # one statement reads one database
    return alias, f"SELECT {', '.join(columns)}", tuple(params), tuple(parts)


def tally(key: str, build: Callable[[], dict[str, tuple[Kind, QuerySet]]]) -> dict[str, int]:
    """`{name: count or bool}` of the querysets `build()` names, each as `("count", qs)` or
    `("exists", qs)`, read in one statement. `key` names the call site (and whatever besides
    the tenant its querysets depend on); `build` runs only when the statement is compiled."""
    alias, sql, params, names = _statements.get(key, lambda: _compile(build()))
    (row,) = prepared.fetch_all(alias, sql, params)
    return dict(zip(names, row, strict=True))
