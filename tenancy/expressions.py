"""Query expressions of the kernel."""

from __future__ import annotations

from django.db.models import IntegerField, QuerySet, Subquery


class CappedCount(Subquery):
    """The number of rows of `queryset`, counted up to `cap`, as a scalar subquery:
    `(SELECT COUNT(*) FROM (<queryset> LIMIT cap) AS capped)`. Without an outer reference
    PostgreSQL computes it once for the whole statement, so a page can read a count with its
    rows instead of in a statement of its own. `queryset` should select one narrow column (its
    key) and no ordering."""

    template = "(SELECT COUNT(*) FROM (%(subquery)s) AS capped)"

    def __init__(self, queryset: QuerySet, *, cap: int):
        super().__init__(queryset[:cap], output_field=IntegerField())
