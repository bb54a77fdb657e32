"""Query expressions of the kernel."""

from __future__ import annotations

from django.db.models import BigAutoField, IntegerField, Lookup, QuerySet, Subquery


class CappedCount(Subquery):
    """The number of rows of `queryset`, counted up to `cap`, as a scalar subquery:
    `(SELECT COUNT(*) FROM (<queryset> LIMIT cap) AS capped)`. Without an outer reference
    PostgreSQL computes it once for the whole statement, so a page can read a count with its
    rows instead of in a statement of its own. `queryset` should select one narrow column (its
    key) and no ordering."""

    template = "(SELECT COUNT(*) FROM (%(subquery)s) AS capped)"

    def __init__(self, queryset: QuerySet, *, cap: int):
        super().__init__(queryset[:cap], output_field=IntegerField())


class AnyOf(Lookup):
    """`id__any_of=[...]`: `id = ANY(%s)`, the list sent as one array parameter, so the SQL is
    the same whatever the number of values (a statement compiled once can take another list:
    `tenancy.api.pagination.KeysFirst`). The list must not be empty (an empty array has no
    type)."""

    lookup_name = "any_of"
    prepare_rhs = False

    def get_db_prep_lookup(self, value, connection):
        return ("%s", [value])

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} = ANY({rhs})", [*lhs_params, *rhs_params]


BigAutoField.register_lookup(AnyOf)
