"""Tenant integrity in the schema: every tenant-owned table's primary key is `(tenant_id, id)`
and every foreign key between two tenant-owned tables is `(tenant_id, x_id)` → `(tenant_id, id)`,
so PostgreSQL itself refuses a row of one tenant pointing at a row of another. Foreign-key checks
bypass row-level security, so the policy alone would not.

`id` stays the model's primary key for Django (a `CompositePrimaryKey` cannot yet be the target
of a `ForeignKey`); only the database key is composite, the shape Citus needs to distribute the
tables by `tenant_id`. New tables and fields get this shape from `tenancy.db.schema`; databases
migrated before it are converted by `apply_tenant_keys`, run after every `migrate`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.db import connections, models, transaction

TENANT_COLUMN = "tenant_id"
TENANT_MODEL = "tenancy.tenant"


class TenantKeyError(Exception):
    """The schema cannot be given tenant keys as it stands (named in the message)."""


def is_tenant_owned(model: type[models.Model]) -> bool:
    """True for a concrete tenant-owned model. Recognised by its `tenant` column rather than by
    `TenantOwned`, because the models a migration works with do not inherit the abstract base."""
    opts = model._meta
    if opts.proxy or not opts.managed:
        return False
    try:
        return is_tenant_field(opts.get_field("tenant"))
    except FieldDoesNotExist:
        return False


def is_tenant_field(field: models.Field) -> bool:
    """True for the `tenant` foreign key of a tenant-owned model."""
    related = getattr(field, "related_model", None)
    return bool(
        field.many_to_one
        and field.column == TENANT_COLUMN
        and related is not None
        and not isinstance(related, str)
        and related._meta.label_lower == TENANT_MODEL
    )


def needs_composite_key(field: models.Field) -> bool:
    """True when `field` is a database foreign key from one tenant-owned table to another, so
    it must be `(tenant_id, column)` → `(tenant_id, id)`."""
    return bool(
        field.concrete
        and field.is_relation
        and (field.many_to_one or field.one_to_one)
        and field.db_constraint
        and field.column != TENANT_COLUMN
        and is_tenant_owned(field.model)
        and not isinstance(field.related_model, str)
        and is_tenant_owned(field.related_model)
    )


def tenant_owned_models() -> list[type[models.Model]]:
    return sorted(
        (model for model in apps.get_models() if is_tenant_owned(model)),
        key=lambda model: model._meta.db_table,
    )


@dataclass(frozen=True)
class ForeignKey:
    name: str
    table: str
    columns: tuple[str, ...]
    to_table: str
    to_columns: tuple[str, ...]
    definition: str

    @property
    def carries_tenant(self) -> bool:
        """The tenant column is paired with the tenant column of the referenced table."""
        pairs = set(zip(self.columns, self.to_columns, strict=True))
        return (TENANT_COLUMN, TENANT_COLUMN) in pairs


@dataclass
class Catalog:
    """Primary keys, unique indexes and foreign keys of the tables in the current schema, read
    from `pg_constraint` and `pg_index`. A column of an expression index reads as None."""

    tables: set[str] = field(default_factory=set)
    tenant_tables: set[str] = field(default_factory=set)  # tables with a tenant_id column
    primary_keys: dict[str, tuple[str, ...]] = field(default_factory=dict)
    primary_key_names: dict[str, str] = field(default_factory=dict)
    unique_indexes: list[tuple[str, str, tuple[str | None, ...]]] = field(default_factory=list)
    foreign_keys: list[ForeignKey] = field(default_factory=list)

    @classmethod
    def read(cls, cursor) -> Catalog:
        catalog = cls()
        cursor.execute(
            "SELECT relname FROM pg_class"
            " WHERE relnamespace = current_schema()::regnamespace AND relkind IN ('r', 'p')"
        )
        catalog.tables = {name for (name,) in cursor.fetchall()}
        cursor.execute(
            "SELECT c.relname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid"
            " WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p')"
            " AND a.attname = %s AND NOT a.attisdropped",
            [TENANT_COLUMN],
        )
        catalog.tenant_tables = {name for (name,) in cursor.fetchall()}
        cursor.execute(
            """
            SELECT con.conname, con.contype, src.relname,
                   ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(n, i)
                         JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n
                         ORDER BY k.i),
                   dst.relname,
                   ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY k(n, i)
                         JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n
                         ORDER BY k.i),
                   pg_get_constraintdef(con.oid)
            FROM pg_constraint con
            JOIN pg_class src ON src.oid = con.conrelid
            LEFT JOIN pg_class dst ON dst.oid = con.confrelid
            WHERE con.contype IN ('p', 'f')
              AND src.relnamespace = current_schema()::regnamespace
            ORDER BY src.relname, con.conname
            """
        )
        for name, kind, table, columns, to_table, to_columns, definition in cursor.fetchall():
            if kind == "p":
                catalog.primary_keys[table] = tuple(columns)
                catalog.primary_key_names[table] = name
            else:
                catalog.foreign_keys.append(
                    ForeignKey(name, table, tuple(columns), to_table, tuple(to_columns), definition)
                )
        cursor.execute(
            """
            SELECT t.relname, i.relname,
                   ARRAY(SELECT a.attname::text
                         FROM unnest(x.indkey::int2[]) WITH ORDINALITY k(n, o)
                         LEFT JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.n
                         ORDER BY k.o)
            FROM pg_index x
            JOIN pg_class t ON t.oid = x.indrelid
            JOIN pg_class i ON i.oid = x.indexrelid
            WHERE x.indisunique AND t.relnamespace = current_schema()::regnamespace
            ORDER BY t.relname, i.relname
            """
        )
        catalog.unique_indexes = [
            (table, name, tuple(columns)) for table, name, columns in cursor.fetchall()
        ]
        return catalog

    def foreign_keys_of(self, table: str) -> list[ForeignKey]:
        return [fk for fk in self.foreign_keys if fk.table == table]

    def foreign_keys_to(self, table: str) -> list[ForeignKey]:
        return [fk for fk in self.foreign_keys if fk.to_table == table]


def read_catalog(using: str = "default") -> Catalog:
    with connections[using].cursor() as cursor:
        return Catalog.read(cursor)


def tenant_key_problems(catalog: Catalog, tenant_tables: set[str]) -> list[str]:
    """Every way the schema breaks the tenant-key rules, one sentence each (empty when sound):
    a tenant-owned table whose primary key or a unique index lacks `tenant_id`, a foreign key
    between tenant-owned tables that does not carry the tenant, and any foreign key from a
    non-tenant table to a tenant-owned one."""
    problems: list[str] = []
    for table in sorted(tenant_tables & catalog.tables):
        key = catalog.primary_keys.get(table, ())
        if key != (TENANT_COLUMN, "id"):
            problems.append(f"{table}: primary key is ({', '.join(key)}), not (tenant_id, id)")
    for table, name, columns in catalog.unique_indexes:
        if table in tenant_tables and TENANT_COLUMN not in columns:
            problems.append(f"{table}: unique index {name} does not include tenant_id")
    for fk in catalog.foreign_keys:
        if fk.to_table not in tenant_tables:
            continue
        if fk.table not in tenant_tables:
            problems.append(
                f"{fk.table}: foreign key {fk.name} points at tenant-owned {fk.to_table}"
                " from a table without tenant_id"
            )
        elif not fk.carries_tenant:
            problems.append(
                f"{fk.table}: foreign key {fk.name} ({', '.join(fk.columns)}) does not carry"
                " tenant_id"
            )
    return problems


def apply_tenant_keys(
    using: str = "default", models_: list[type[models.Model]] | None = None
) -> list[str]:
    """Convert the tenant-owned tables of `models_` (every tenant-owned model by default) to
    tenant keys, in one transaction, and return the statements it ran. Idempotent: a schema
    already in shape costs four catalog queries. A cross-tenant reference already in the data
    makes the new foreign key fail, and the whole conversion with it, naming the constraint."""
    from tenancy.db.schema import TenantSchemaEditor

    models_ = tenant_owned_models() if models_ is None else models_
    connection = connections[using]
    with transaction.atomic(using):
        catalog = read_catalog(using)
        editor = TenantSchemaEditor(connection, collect_sql=True)
        statements = _primary_key_statements(editor, catalog, models_)
        statements += _foreign_key_statements(editor, catalog, models_)
        with connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
    return statements


def _primary_key_statements(editor, catalog: Catalog, models_) -> list[str]:
    statements: list[str] = []
    for model in models_:
        table = model._meta.db_table
        if table in catalog.tables:
            statements += primary_key_statements(
                catalog, table, model._meta.pk.column, editor.quote_name
            )
    return statements


def primary_key_statements(catalog: Catalog, table: str, pk_column: str, quote) -> list[str]:
    """The statements that give `table` the primary key `(tenant_id, pk_column)` (none when it
    has it). The foreign keys leaning on the old key go first and come back composite; one from
    a table without `tenant_id` cannot, and raises `TenantKeyError`."""
    if catalog.primary_keys.get(table) == (TENANT_COLUMN, pk_column):
        return []
    dropped: list[ForeignKey] = []
    for fk in catalog.foreign_keys_to(table):
        if fk.carries_tenant:
            continue
        if fk.table not in catalog.tenant_tables:
            raise TenantKeyError(
                f"{fk.table}.{fk.name} references {table} by id alone and {fk.table} has no "
                "tenant_id: give it a tenant or drop the constraint."
            )
        dropped.append(fk)
    statements = [
        f"ALTER TABLE {quote(fk.table)} DROP CONSTRAINT {quote(fk.name)}" for fk in dropped
    ]
    name = catalog.primary_key_names.get(table, f"{table}_pkey")
    drop = f"DROP CONSTRAINT {quote(name)}, " if table in catalog.primary_keys else ""
    statements.append(
        f"ALTER TABLE {quote(table)} {drop}ADD CONSTRAINT {quote(name)}"
        f" PRIMARY KEY ({quote(TENANT_COLUMN)}, {quote(pk_column)})"
    )
    for fk in dropped:
        columns = ", ".join(quote(column) for column in (TENANT_COLUMN, *fk.columns))
        to_columns = ", ".join(quote(column) for column in (TENANT_COLUMN, *fk.to_columns))
        statements.append(
            f"ALTER TABLE {quote(fk.table)} ADD CONSTRAINT {quote(fk.name)} FOREIGN KEY"
            f" ({columns}) REFERENCES {quote(table)} ({to_columns}) DEFERRABLE INITIALLY DEFERRED"
        )
        catalog.foreign_keys.remove(fk)
        catalog.foreign_keys.append(
            ForeignKey(
                fk.name,
                fk.table,
                (TENANT_COLUMN, *fk.columns),
                table,
                (TENANT_COLUMN, *fk.to_columns),
                "",
            )
        )
    catalog.primary_keys[table] = (TENANT_COLUMN, pk_column)
    catalog.primary_key_names[table] = name
    return statements


def _foreign_key_statements(editor, catalog: Catalog, models_) -> list[str]:
    statements: list[str] = []
    quote = editor.quote_name
    for model in models_:
        table = model._meta.db_table
        for fk_field in model._meta.local_fields:
            if not needs_composite_key(fk_field):
                continue
            to_table = fk_field.target_field.model._meta.db_table
            existing = [
                fk
                for fk in catalog.foreign_keys_of(table)
                if fk.to_table == to_table and fk_field.column in fk.columns
            ]
            if any(fk.columns == (TENANT_COLUMN, fk_field.column) for fk in existing):
                continue
            for fk in existing:
                statements.append(f"ALTER TABLE {quote(table)} DROP CONSTRAINT {quote(fk.name)}")
            statements.append(
                str(editor._create_fk_sql(model, fk_field, "_fk_%(to_table)s_%(to_column)s"))
            )
    return statements
