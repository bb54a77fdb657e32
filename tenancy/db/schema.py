"""Django's PostgreSQL schema editor, writing tenant keys (see `tenancy.db.keys`).

A migration that creates a tenant-owned model gives its table the primary key
`(tenant_id, id)`; one that adds or alters a foreign key between tenant-owned models writes it as
`(tenant_id, x_id)` → `(tenant_id, id)`. Django finds a field's foreign key by its column alone
(`_constraint_names(model, [column], foreign_key=True)`), which would miss a composite key and
leave it behind when the field is altered or removed; this editor also answers with the
composite key of that column.
"""

from __future__ import annotations

from django.db.backends.ddl_references import Columns, Statement, Table
from django.db.backends.postgresql.schema import DatabaseSchemaEditor

from tenancy.db.keys import (
    TENANT_COLUMN,
    Catalog,
    is_tenant_field,
    is_tenant_owned,
    needs_composite_key,
    primary_key_statements,
)


class TenantSchemaEditor(DatabaseSchemaEditor):
    def create_model(self, model) -> None:
        super().create_model(model)
        if is_tenant_owned(model):
            # Django writes the key inline (`id bigint PRIMARY KEY`); replace it while the table
            # is empty, before any foreign key (deferred to the end) can lean on it.
            table = self.quote_name(model._meta.db_table)
            [name] = [self.quote_name(n) for n in self._constraint_names(model, primary_key=True)]
            self.execute(
                f"ALTER TABLE {table} DROP CONSTRAINT {name}, ADD CONSTRAINT {name}"
                f" PRIMARY KEY ({self.quote_name(TENANT_COLUMN)},"
                f" {self.quote_name(model._meta.pk.column)})"
            )

    def add_field(self, model, field) -> None:
        if needs_composite_key(field):
            # PostgreSQL's inline `REFERENCES` names one column; take Django's other path, a
            # deferred `ALTER TABLE ... ADD CONSTRAINT`, which `_create_fk_sql` makes composite.
            self.sql_create_column_inline_fk = None
            try:
                super().add_field(model, field)
            finally:
                del self.sql_create_column_inline_fk
        else:
            super().add_field(model, field)
        if is_tenant_field(field):
            # A model that becomes tenant-owned (an initial migration may add `tenant` after
            # creating the table, to break a dependency cycle) gets its tenant key now, before
            # a later operation points a composite foreign key at it. (`model` is the state
            # before the field, so the field is what says so.)
            with self.connection.cursor() as cursor:
                catalog = Catalog.read(cursor)
            for statement in primary_key_statements(
                catalog, model._meta.db_table, model._meta.pk.column, self.quote_name
            ):
                self.execute(statement)

    def _create_fk_sql(self, model, field, suffix):
        if not needs_composite_key(field):
            return super()._create_fk_sql(model, field, suffix)
        self._give_tenant_key(field.target_field.model)
        target = field.target_field.model._meta.db_table
        return Statement(
            self.sql_create_fk,
            table=Table(model._meta.db_table, self.quote_name),
            name=self._fk_constraint_name(model, field, suffix),
            column=Columns(model._meta.db_table, [TENANT_COLUMN, field.column], self.quote_name),
            to_table=Table(target, self.quote_name),
            to_column=Columns(target, [TENANT_COLUMN, field.target_field.column], self.quote_name),
            deferrable=self.connection.ops.deferrable_sql(),
        )

    def _give_tenant_key(self, model) -> None:
        """Give `model`'s table its `(tenant_id, id)` key now, if it has not got it yet: a table
        made before tenant keys is converted after `migrate` (`apply_tenant_keys`), but a
        migration of this run may already point a composite foreign key at it. (Nothing when
        only collecting SQL: `apply_tenant_keys` orders its own statements.)"""
        if self.collect_sql:
            return
        with self.connection.cursor() as cursor:
            catalog = Catalog.read(cursor)
        for statement in primary_key_statements(
            catalog, model._meta.db_table, model._meta.pk.column, self.quote_name
        ):
            self.execute(statement)

    def _create_primary_key_sql(self, model, field):
        statement = super()._create_primary_key_sql(model, field)
        if is_tenant_owned(model) and field.column != TENANT_COLUMN:
            statement.parts["columns"] = Columns(
                model._meta.db_table, [TENANT_COLUMN, field.column], self.quote_name
            )
        return statement

    def _constraint_names(self, model, column_names=None, *args, foreign_key=None, **kwargs):
        names = super()._constraint_names(
            model, column_names, *args, foreign_key=foreign_key, **kwargs
        )
        if (
            foreign_key
            and column_names is not None
            and len(column_names) == 1
            and column_names[0] != TENANT_COLUMN
            and is_tenant_owned(model)
        ):
            names += super()._constraint_names(
                model, [TENANT_COLUMN, *column_names], *args, foreign_key=foreign_key, **kwargs
            )
        return names
