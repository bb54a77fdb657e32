"""Pagination of every list, API and pages alike, with a count that stays cheap on big lists.

`COUNT(*)` over a tenant's 50,000 partners was most of a list request. The count is now capped:
`SELECT count(*) FROM (SELECT id … LIMIT 1001)` reads at most 1,001 keys, so a list of up to
1,000 rows (most filtered lists) is counted exactly on every request. A longer list is counted
in full once and its count cached for `LIST_COUNT_CACHE_SECONDS` under the statement and its
parameters (the tenant is among them), in Redis for every process and for a few seconds in the
process itself (a page then asks Redis nothing for its count), so its `count` may lag a change
by that long; its pages and their rows never do.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import EmptyResultSet
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import QuerySet
from django.utils.functional import cached_property
from rest_framework import pagination

from tenancy.context import TenantContextMissing, current_tenant_id
from tenancy.db import prepared
from tenancy.expressions import CappedCount

COUNT_CAP = 1000


# How long a process reuses a long list's count without asking Redis, and how many it keeps.
LOCAL_COUNT_SECONDS = 5.0
LOCAL_COUNT_ENTRIES = 512
# key -> (until, count); a count of None: the list was short (counted exactly, never cached).
_local_counts: dict[str, tuple[float, int | None]] = {}


def _count_key(queryset, compiled: tuple[str, tuple] | None = None) -> str:
    """The cache key of `queryset`'s count: its tenant, model and SQL (`compiled`, when the
    caller has compiled it already)."""
    sql, params = compiled or queryset.query.sql_with_params()
    digest = hashlib.blake2b(repr((sql, tuple(params))).encode(), digest_size=16).hexdigest()
    return f"listcount:{current_tenant_id()}:{queryset.model._meta.label_lower}:{digest}"


def _counted(queryset):
    """`queryset` as a count reads it: unordered and, unless it is DISTINCT or a UNION (whose
    rows are distinct already), its key alone, so what a list's rows carry (the enrollment
    list's name subqueries) is not computed for the rows counted, nor compiled for the key."""
    queryset = queryset.order_by()
    if queryset.query.distinct or queryset.query.combinator:
        return queryset
    return queryset.values("pk")


def _remember_locally(key: str, total: int | None) -> None:
    if len(_local_counts) >= LOCAL_COUNT_ENTRIES:
        _local_counts.clear()
    _local_counts[key] = (time.monotonic() + LOCAL_COUNT_SECONDS, total)


class _Keys:
    """The parameter a `KeysFirst` rows statement is compiled with, in place of a page's keys."""

    def __repr__(self) -> str:
        return "<page keys>"


PAGE_KEYS = _Keys()


class KeysFirst:
    """A list whose pages are chosen on narrow keys before its rows are read.

    `keys` is a `CompiledRows` of the list's keys (its first column) in the list's order, read
    from a small index (partner search: the search terms carry the partner's name). `rows(ids)`
    builds the `values()` rows of the keys `ids` in the same order, filtering with
    `pk__any_of=ids` (one array parameter); it is compiled once for `rows_key` with
    `PAGE_KEYS` for `ids`, and each page sends its own keys in that parameter. A page is two
    short statements, the page's keys (`LIMIT`/`OFFSET` on the index) and then those rows by
    key, where a plain list would read every matching row in full to sort them before its
    `LIMIT`. Counted on its keys."""

    def __init__(self, keys: CompiledRows, rows_key: tuple, rows):
        self.keys = keys
        self.rows = CompiledRows(rows_key, lambda: rows(PAGE_KEYS))
        self.ordered = True

    def count(self) -> int:
        return self.keys.count()

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, index):
        if not isinstance(index, slice):
            raise TypeError("A KeysFirst list is read a page (a slice) at a time.")
        keys = [next(iter(row.values())) for row in self.keys[index]]
        return self.rows.all_with({PAGE_KEYS: keys}) if keys else []


def list_count(queryset, *, over_cap: bool = False) -> int:
    """The number of rows of `queryset`: exact up to `COUNT_CAP`, cached beyond (see above).
    `over_cap`: the list is known to be longer than `COUNT_CAP` (a capped count said so), so
    what is not cached is counted in full at once."""
    if isinstance(queryset, CompiledRows):
        return queryset.count(over_cap=over_cap)
    if isinstance(queryset, KeysFirst):
        return queryset.count()
    if not hasattr(queryset, "query"):
        return len(queryset)
    queryset = _counted(queryset)
    try:
        key = _count_key(queryset)
    except TenantContextMissing:  # no tenant bound (an unscoped list): counted, never cached
        return queryset.count()
    capped_count = None if over_cap else lambda: queryset[: COUNT_CAP + 1].count()
    return _remembered_count(key, capped_count, queryset.count)


def _remembered_count(key: str, capped_count, full_count) -> int:
    """The count under `key`, from the process or Redis, else `capped_count()` when it is short
    (None: known to be long), else `full_count()`, cached."""
    local = _local_counts.get(key)
    if local is not None and local[0] > time.monotonic():
        if local[1] is not None:
            return local[1]
    else:
        cached = cache.get(key)
        if cached is not None:
            _remember_locally(key, cached)
            return cached
    if capped_count is not None:
        capped = capped_count()
        if capped <= COUNT_CAP:
            # A short list is counted exactly every time; the process remembers for a while
            # that it was short, so its next pages go straight to this count, not to Redis.
            _remember_locally(key, None)
            return capped
    total = full_count()
    cache.set(key, total, settings.LIST_COUNT_CACHE_SECONDS)
    _remember_locally(key, total)
    return total


@dataclass(frozen=True)
class _Statement:
    """A list's statements as compiled once: its rows (to which a page adds its `LIMIT` and
    `OFFSET`), with the names and converters of its columns, and its counts."""

    alias: str
    sql: str
    params: tuple
    names: tuple[str, ...]
    converters: dict
    count_key: str | None  # None unscoped: counted every time, never cached
    capped_sql: str
    count_sql: str
    count_params: tuple


# (list, caller, parameters, tenant) -> its statements
_statements: prepared.KeptStatements[_Statement | None] = prepared.KeptStatements()


def _compile(queryset) -> _Statement | None:
    """The statements of `queryset`; None when it can have no row (`none()`, an empty `IN`)."""
    if queryset.query.is_sliced or queryset.query.select_for_update:
        raise ValueError("CompiledRows takes an unsliced, unlocked values() queryset.")
    query = queryset.query
    compiler = query.get_compiler(queryset.db)
    try:
        sql, params = compiler.as_sql()
    except EmptyResultSet:
        return None
    if query.selected:
        names = tuple(query.selected)
    else:
        names = (*query.extra_select, *query.values_select, *query.annotation_select)
    columns = [column[0] for column in compiler.select[0 : compiler.col_count]]
    counted = _counted(queryset)
    count_sql, count_params = counted.query.sql_with_params()
    try:
        count_key = _count_key(counted, (count_sql, count_params))
    except TenantContextMissing:
        count_key = None
    return _Statement(
        alias=queryset.db,
        sql=sql,
        params=tuple(params),
        names=names,
        converters=compiler.get_converters(columns),
        count_key=count_key,
        # The ORM's own SQL, its values kept apart as parameters.
        capped_sql=f"SELECT COUNT(*) FROM ({count_sql} LIMIT %s) AS capped",  # noqa: S608
        count_sql=f"SELECT COUNT(*) FROM ({count_sql}) AS every",  # noqa: S608
        count_params=tuple(count_params),
    )


class CompiledRows:
    """A list of `values()` rows whose statements are compiled once a process for `key`.

    Compiling a list's queryset (joins, subqueries, filters) costs Python on every request,
    more than PostgreSQL takes to run it; a list's SQL is a function of its tenant, who asks
    and the request's parameters, so the page's `key` names the two latter (`build` must
    depend on nothing else: no clock, no row read while building) and the tenant is added
    here. `build()` makes the ordered `values()` queryset and runs only when the statement is
    compiled. A page is the statement with `LIMIT`/`OFFSET`; the count is `list_count`'s,
    counted by the compiled statements and cached under the same key as the queryset's.
    Unscoped (`all_tenants`) nothing is kept."""

    def __init__(self, key: tuple, build):
        self.key = key
        self.build = build
        self.ordered = True

    @cached_property
    def statement(self) -> _Statement | None:
        return _statements.get(self.key, lambda: _compile(self.build()))

    def _fetch(self, sql: str, params) -> list[tuple]:
        return prepared.fetch_all(self.statement.alias, sql, params)

    def _capped_count(self) -> int:
        statement = self.statement
        return self._fetch(statement.capped_sql, (*statement.count_params, COUNT_CAP + 1))[0][0]

    def _full_count(self) -> int:
        return self._fetch(self.statement.count_sql, self.statement.count_params)[0][0]

    def count(self, *, over_cap: bool = False) -> int:
        """`list_count`'s count; `over_cap`: known to be longer than `COUNT_CAP`."""
        if self.statement is None:
            return 0
        if self.statement.count_key is None:
            return self._full_count()
        capped_count = None if over_cap else self._capped_count
        return _remembered_count(self.statement.count_key, capped_count, self._full_count)

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, index):
        if not isinstance(index, slice) or index.step is not None:
            raise TypeError("A CompiledRows list is read a page (a slice) at a time.")
        start = index.start or 0
        if index.stop is not None and index.stop <= start:
            return []
        statement = self.statement
        if statement is None:
            return []
        # The page's bounds are written into the SQL, not sent as parameters: a prepared
        # statement then keeps one plan for the page (`tenancy.db.prepared`), where a `LIMIT`
        # parameter of unknown size makes PostgreSQL plan every execution again.
        limit = "ALL" if index.stop is None else int(index.stop - start)
        sql = f"{statement.sql} LIMIT {limit} OFFSET {int(start)}"
        return self._rows(sql, statement.params)

    def all_with(self, values: dict) -> list[dict]:
        """Every row, the statement's parameters that are keys of `values` replaced by theirs
        (a `KeysFirst` page's keys)."""
        statement = self.statement
        if statement is None:
            return []
        params = tuple(values.get(p, p) if isinstance(p, _Keys) else p for p in statement.params)
        return self._rows(statement.sql, params)

    def _rows(self, sql: str, params) -> list[dict]:
        statement = self.statement
        rows = self._fetch(sql, params)
        connection = connections[statement.alias]
        names = statement.names
        out = []
        for row in rows:
            if statement.converters:
                row = list(row)
                for position, (converters, expression) in statement.converters.items():
                    value = row[position]
                    for converter in converters:
                        value = converter(value, expression, connection)
                    row[position] = value
            out.append(dict(zip(names, row, strict=True)))
        return out


def list_key(request, *, exclude=("page", "page_size")) -> tuple:
    """What a list's SQL may depend on besides its tenant: who asks (their membership, role and
    company) and every query parameter but the page's (so a parameter added later is in the
    key without a change here)."""
    membership = request.membership
    params = tuple(
        sorted((name, tuple(values)) for name, values in request.GET.lists() if name not in exclude)
    )
    return (membership.pk, membership.role, membership.partner_id, params)


# The column of a first page's rows that carries the list's capped count (`count_with_rows`).
COUNT_COLUMN = "list_count_capped"


def with_capped_count(rows: QuerySet, counted: QuerySet) -> QuerySet:
    """`rows` with the count of `counted` capped at `COUNT_CAP` as the column `COUNT_COLUMN`
    (see `ListPaginator`), for a queryset built once and kept: a paginator then finds the
    column there rather than adding it."""
    return rows.annotate(**{COUNT_COLUMN: CappedCount(_counted(counted), cap=COUNT_CAP + 1)})


class ListPaginator(Paginator):
    """Django's paginator with `list_count` for its count. The first page is read before the
    count: when it is not full it is the whole list, and its length is the count (a search
    that matches a few rows is then one statement, not two scans).

    With `count_with_rows` (for a list that is usually short, such as the members of a tenant),
    a full first page reads the list's count, capped at `COUNT_CAP`, in its own statement: a
    column of every row (`COUNT_COLUMN`, a `CappedCount` PostgreSQL computes once). It is the
    list as a count reads it (a queryset of the rows before `values()`, whose joins for the
    columns of a row a count does not need, or the `CompiledRows` themselves), and what
    `list_count` counts on other pages and for a list found longer. Rows that carry the column
    already (`with_capped_count`, and so `CompiledRows` built with it) are read as they are."""

    def __init__(self, *args, count_with_rows=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.count_with_rows = count_with_rows

    @cached_property
    def count(self) -> int:
        counted = self.object_list if self.count_with_rows is None else self.count_with_rows
        return list_count(counted)

    def page(self, number):
        if str(number) != "1" or "count" in self.__dict__ or self.orphans:
            return super().page(number)
        queryset = self.object_list
        if (
            isinstance(queryset, QuerySet)
            and self.count_with_rows is not None
            and COUNT_COLUMN not in queryset.query.annotations
        ):
            queryset = with_capped_count(queryset, self.count_with_rows)
        rows = list(queryset[: self.per_page])
        if len(rows) < self.per_page:
            self.__dict__["count"] = len(rows)
        elif self.count_with_rows is not None:
            first = rows[0]
            capped = (
                first[COUNT_COLUMN] if isinstance(first, dict) else getattr(first, COUNT_COLUMN)
            )
            count = (
                capped if capped <= COUNT_CAP else list_count(self.count_with_rows, over_cap=True)
            )
            self.__dict__["count"] = count
        return self._get_page(rows, 1, self)

    def get_page(self, number):
        if number in (None, "", "1", 1):
            return self.page(1)
        return super().get_page(number)


class PageNumberPagination(pagination.PageNumberPagination):
    django_paginator_class = ListPaginator
    page_size_query_param = "page_size"
    max_page_size = 500
