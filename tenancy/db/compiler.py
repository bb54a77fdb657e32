"""Django's PostgreSQL compilers; `SQLCompiler` groups a tenant-owned table by its whole key.

Django shortens `GROUP BY` to a table's primary key when PostgreSQL knows the key determines the
other columns. A tenant-owned table's key in the database is `(tenant_id, id)` while Django's pk
is `id`, so `GROUP BY id` alone is refused ("must appear in the GROUP BY clause"); grouping by
both columns keeps the short form, and the plan, PostgreSQL had before.
"""

from django.db.backends.postgresql.compiler import (
    SQLAggregateCompiler,
    SQLDeleteCompiler,
    SQLInsertCompiler,
    SQLUpdateCompiler,
)
from django.db.backends.postgresql.compiler import SQLCompiler as BaseSQLCompiler

from tenancy.db.keys import is_tenant_owned

__all__ = [
    "SQLAggregateCompiler",
    "SQLCompiler",
    "SQLDeleteCompiler",
    "SQLInsertCompiler",
    "SQLUpdateCompiler",
]


class SQLCompiler(BaseSQLCompiler):
    def collapse_group_by(self, expressions, having):
        collapsed = super().collapse_group_by(expressions, having)
        tenant_columns = [
            expr.target.model._meta.get_field("tenant").get_col(expr.alias)
            for expr in collapsed
            if getattr(expr, "target", None) is not None
            and expr.target.primary_key
            and getattr(expr, "alias", None) is not None
            and is_tenant_owned(expr.target.model)
        ]
        return collapsed + [col for col in tenant_columns if col not in collapsed]
