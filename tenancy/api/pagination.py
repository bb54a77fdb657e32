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

from django.conf import settings
from django.core.cache import cache
from django.core.paginator import Paginator
from django.utils.functional import cached_property
from rest_framework import pagination

from tenancy.context import TenantContextMissing, current_tenant_id

COUNT_CAP = 1000


# How long a process reuses a long list's count without asking Redis, and how many it keeps.
LOCAL_COUNT_SECONDS = 5.0
LOCAL_COUNT_ENTRIES = 512
# key -> (until, count); a count of None: the list was short (counted exactly, never cached).
_local_counts: dict[str, tuple[float, int | None]] = {}


def _count_key(queryset) -> str:
    sql, params = queryset.query.sql_with_params()
    digest = hashlib.blake2b(repr((sql, params)).encode(), digest_size=16).hexdigest()
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


class KeysFirst:
    """A list whose pages are chosen on narrow keys before its rows are read.

    `keys` is a `values_list` queryset of `(key, ...)` tuples in the list's order, read from a
    small index (partner search: the search terms carry the partner's name); `rows` reads the
    rows of given keys in the same order. A page is two short statements, the page's keys
    (`LIMIT`/`OFFSET` on the index) and then those rows by key, where a plain list would read
    every matching row in full to sort them before its `LIMIT`. Counted on its keys
    (`list_count`)."""

    def __init__(self, keys, rows):
        self.keys = keys
        self.rows = rows
        self.ordered = True

    def count(self) -> int:
        return list_count(self.keys)

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, index):
        if not isinstance(index, slice):
            raise TypeError("A KeysFirst list is read a page (a slice) at a time.")
        keys = [key for key, *_ in self.keys[index]]
        return list(self.rows.filter(pk__in=keys)) if keys else []


def list_count(queryset) -> int:
    """The number of rows of `queryset`: exact up to `COUNT_CAP`, cached beyond (see above)."""
    if isinstance(queryset, KeysFirst):
        return queryset.count()
    if not hasattr(queryset, "query"):
        return len(queryset)
    queryset = _counted(queryset)
    try:
        key = _count_key(queryset)
    except TenantContextMissing:  # no tenant bound (an unscoped list): counted, never cached
        return queryset.count()
    local = _local_counts.get(key)
    if local is not None and local[0] > time.monotonic():
        if local[1] is not None:
            return local[1]
    else:
        cached = cache.get(key)
        if cached is not None:
            _remember_locally(key, cached)
            return cached
    capped = queryset[: COUNT_CAP + 1].count()
    if capped <= COUNT_CAP:
        # A short list is counted exactly every time; the process remembers for a while that
        # it was short, so its next pages go straight to this count, not to Redis first.
        _remember_locally(key, None)
        return capped
    total = queryset.count()
    cache.set(key, total, settings.LIST_COUNT_CACHE_SECONDS)
    _remember_locally(key, total)
    return total


class ListPaginator(Paginator):
    """Django's paginator with `list_count` for its count. The first page is read before the
    count: when it is not full it is the whole list, and its length is the count (a search
    that matches a few rows is then one statement, not two scans)."""

    @cached_property
    def count(self) -> int:
        return list_count(self.object_list)

    def page(self, number):
        if str(number) != "1" or "count" in self.__dict__ or self.orphans:
            return super().page(number)
        rows = list(self.object_list[: self.per_page])
        if len(rows) < self.per_page:
            self.__dict__["count"] = len(rows)
        return self._get_page(rows, 1, self)

    def get_page(self, number):
        if number in (None, "", "1", 1):
            return self.page(1)
        return super().get_page(number)


class PageNumberPagination(pagination.PageNumberPagination):
    django_paginator_class = ListPaginator
    page_size_query_param = "page_size"
    max_page_size = 500
