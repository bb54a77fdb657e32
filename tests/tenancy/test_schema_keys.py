"""Tenant keys in the schema: read back from PostgreSQL's catalog, refused cross-tenant
references, and future migrations that keep working with composite keys."""

from __future__ import annotations

import dj_database_url
import psycopg2
import pytest
from django.conf import settings
from django.db import connection, connections, migrations, models
from django.db.backends.postgresql.schema import DatabaseSchemaEditor
from django.db.migrations.loader import MigrationLoader
from psycopg2 import errorcodes

from tenancy.db.keys import (
    Catalog,
    apply_tenant_keys,
    needs_composite_key,
    read_catalog,
    tenant_key_problems,
    tenant_owned_models,
)
from tenancy.rls import tenant_owned_tables

PROBES = ("tenancy_probechild", "tenancy_probeparent", "tenancy_probeother")


def _raw_cursor(url: str):
    credentials = dj_database_url.parse(url)
    conn = psycopg2.connect(
        host=connection.settings_dict["HOST"] or "127.0.0.1",
        port=connection.settings_dict["PORT"] or 5432,
        dbname=connection.settings_dict["NAME"],
        user=credentials["USER"],
        password=credentials["PASSWORD"] or None,
    )
    try:
        with conn.cursor() as cursor:
            yield cursor
        conn.rollback()
    finally:
        conn.close()


@pytest.fixture
def owner_cursor(transactional_db):
    """A cursor of a separate connection as the owner of the tables, to the test database, for
    throwaway tables. Rolled back at the end."""
    yield from _raw_cursor(settings.DATABASE_OWNER_URL)


@pytest.fixture
def unscoped_cursor(transactional_db):
    """A cursor of a separate connection as the unscoped role (admin, fan-out jobs), whose policy
    opens every tenant: only the keys stand between tenants there. Rolled back at the end."""
    yield from _raw_cursor(settings.DATABASE_UNSCOPED_URL)


@pytest.fixture
def owner_connection(transactional_db):
    """A Django connection, as the owner, to the test database: migrations' schema editor."""
    owner = dj_database_url.parse(settings.DATABASE_OWNER_URL)
    default = connections["default"]
    wrapper = type(default)(
        {**default.settings_dict, "USER": owner["USER"], "PASSWORD": owner["PASSWORD"]},
        alias="owner",
    )
    connections["owner"] = wrapper
    _drop_probes(wrapper)
    try:
        yield wrapper
    finally:
        _drop_probes(wrapper)
        wrapper.close()
        del connections["owner"]


def _drop_probes(conn) -> None:
    with conn.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {', '.join(PROBES)} CASCADE")


def test_every_tenant_owned_table_has_tenant_keys(db):
    tables = set(tenant_owned_tables())
    catalog = read_catalog()
    assert tenant_key_problems(catalog, tables) == []
    for table in tables:
        assert catalog.primary_keys[table] == ("tenant_id", "id"), table
    # Every foreign key between tenant-owned models is there, composite.
    expected = {
        (model._meta.db_table, field.column, field.related_model._meta.db_table)
        for model in tenant_owned_models()
        for field in model._meta.local_fields
        if needs_composite_key(field)
    }
    composite = {
        (fk.table, fk.columns[1], fk.to_table)
        for fk in catalog.foreign_keys
        if fk.to_table in tables
        and fk.columns[0] == "tenant_id"
        and fk.to_columns == ("tenant_id", "id")
        and "DEFERRABLE INITIALLY DEFERRED" in fk.definition
    }
    assert expected == composite
    assert ("incentives_enrollment", "partner_id", "partners_partner") in composite
    assert ("partners_partner", "channel_manager_id", "tenancy_membership") in composite


def test_catalog_check_names_each_broken_key(owner_cursor):
    owner_cursor.execute(
        """
        CREATE TABLE tenancy_probeparent (id bigint PRIMARY KEY, tenant_id bigint NOT NULL,
                                          code text UNIQUE);
        CREATE TABLE tenancy_probechild (id bigint, tenant_id bigint NOT NULL,
                                         parent_id bigint REFERENCES tenancy_probeparent (id),
                                         PRIMARY KEY (tenant_id, id));
        CREATE TABLE tenancy_probeother (id bigint PRIMARY KEY,
                                         child_id bigint, child_tenant_id bigint,
                                         FOREIGN KEY (child_tenant_id, child_id)
                                         REFERENCES tenancy_probechild (tenant_id, id));
        """
    )
    catalog = Catalog.read(owner_cursor)
    problems = tenant_key_problems(catalog, {"tenancy_probeparent", "tenancy_probechild"})
    assert len(problems) == 5, problems
    assert problems[0] == "tenancy_probeparent: primary key is (id), not (tenant_id, id)"
    text = "\n".join(problems)
    assert "unique index tenancy_probeparent_code_key does not include tenant_id" in text
    assert "unique index tenancy_probeparent_pkey does not include tenant_id" in text
    assert "tenancy_probechild: foreign key tenancy_probechild_parent_id_fkey" in text
    assert "tenancy_probeother: foreign key tenancy_probeother_child_tenant_id_child_id_fkey" in (
        text
    )


def test_raw_insert_pointing_at_another_tenants_row_is_a_foreign_key_violation(
    worlds, unscoped_cursor
):
    alpha, bravo = worlds
    insert = (
        "INSERT INTO incentives_requiredpartner (tenant_id, program_id, partner_id)"
        " VALUES (%s, %s, %s)"
    )
    # Bravo's program with bravo's other partner is accepted ...
    unscoped_cursor.execute(insert, [bravo.tenant.pk, bravo.program.pk, bravo.other_partner.pk])
    unscoped_cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    unscoped_cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    # ... alpha's partner under bravo's program is refused by PostgreSQL itself.
    unscoped_cursor.execute(insert, [bravo.tenant.pk, bravo.program.pk, alpha.partner.pk])
    with pytest.raises(psycopg2.errors.ForeignKeyViolation) as refused:
        unscoped_cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    assert refused.value.pgcode == errorcodes.FOREIGN_KEY_VIOLATION == "23503"
    assert "incentives_requiredp_partner_id" in str(refused.value)


def _probe_state(conn):
    return MigrationLoader(conn, ignore_no_migrations=True).project_state()


def _apply(conn, state, *operations):
    for operation in operations:
        new_state = state.clone()
        operation.state_forwards("tenancy", new_state)
        with conn.schema_editor() as editor:
            operation.database_forwards("tenancy", editor, state, new_state)
        state = new_state
    return state


def _probe_model(name: str, *fields) -> migrations.CreateModel:
    return migrations.CreateModel(
        name,
        [
            ("id", models.BigAutoField(primary_key=True)),
            ("tenant", models.ForeignKey("tenancy.tenant", models.CASCADE, related_name="+")),
            *fields,
        ],
    )


def _foreign_keys(conn, table: str, column: str) -> list[tuple]:
    with conn.cursor() as cursor:
        catalog = Catalog.read(cursor)
    return [
        (fk.columns, fk.to_table, fk.to_columns)
        for fk in catalog.foreign_keys_of(table)
        if column in fk.columns
    ]


def test_migrations_create_alter_and_remove_composite_foreign_keys(owner_connection):
    conn = owner_connection
    parent = ("tenancy_probeparent", ("tenant_id", "id"))
    state = _apply(
        conn,
        _probe_state(conn),
        _probe_model("ProbeParent"),
        _probe_model("ProbeOther"),
        _probe_model(
            "ProbeChild",
            ("parent", models.ForeignKey("tenancy.probeparent", models.CASCADE, related_name="+")),
        ),
    )
    with conn.cursor() as cursor:
        catalog = Catalog.read(cursor)
    for table in PROBES:
        assert catalog.primary_keys[table] == ("tenant_id", "id")
    assert _foreign_keys(conn, "tenancy_probechild", "parent_id") == [
        (("tenant_id", "parent_id"), *parent)
    ]

    def backup(to: str = "tenancy.probeparent", **options) -> models.ForeignKey:
        return models.ForeignKey(to, models.SET_NULL, null=True, related_name="+", **options)

    state = _apply(conn, state, migrations.AddField("probechild", "backup", backup()))
    assert _foreign_keys(conn, "tenancy_probechild", "backup_id") == [
        (("tenant_id", "backup_id"), *parent)
    ]
    # Django finds a field's foreign key by its column; the composite one must be found too, or
    # these would leave it behind.
    state = _apply(
        conn, state, migrations.AlterField("probechild", "backup", backup(db_constraint=False))
    )
    assert _foreign_keys(conn, "tenancy_probechild", "backup_id") == []
    state = _apply(conn, state, migrations.AlterField("probechild", "backup", backup()))
    state = _apply(
        conn, state, migrations.AlterField("probechild", "backup", backup("tenancy.probeother"))
    )
    assert _foreign_keys(conn, "tenancy_probechild", "backup_id") == [
        (("tenant_id", "backup_id"), "tenancy_probeother", ("tenant_id", "id"))
    ]
    state = _apply(conn, state, migrations.RemoveField("probechild", "backup"))
    assert _foreign_keys(conn, "tenancy_probechild", "backup_id") == []
    _apply(conn, state, migrations.DeleteModel("ProbeChild"))
    assert _foreign_keys(conn, "tenancy_probechild", "parent_id") == []


def test_a_database_migrated_before_tenant_keys_is_converted_once(owner_connection):
    conn = owner_connection
    state = _probe_state(conn)
    operations = [
        _probe_model("ProbeParent"),
        _probe_model(
            "ProbeChild",
            ("parent", models.ForeignKey("tenancy.probeparent", models.CASCADE, related_name="+")),
        ),
    ]
    # Django's own editor, as every database was migrated until now.
    for operation in operations:
        new_state = state.clone()
        operation.state_forwards("tenancy", new_state)
        with DatabaseSchemaEditor(conn) as editor:
            operation.database_forwards("tenancy", editor, state, new_state)
        state = new_state
    with conn.cursor() as cursor:
        cursor.execute(
            "INSERT INTO tenancy_tenant (name, slug, default_currency, time_zone,"
            " require_staff_mfa, is_active, created_at)"
            " VALUES ('Probe', 'probe-keys', 'USD', 'UTC', false, true, now()) RETURNING id"
        )
        [tenant_id] = cursor.fetchone()
        cursor.execute(
            "INSERT INTO tenancy_probeparent (id, tenant_id) VALUES (1, %s)", [tenant_id]
        )
        cursor.execute(
            "INSERT INTO tenancy_probechild (id, tenant_id, parent_id) VALUES (1, %s, 1)",
            [tenant_id],
        )
    probes = [state.apps.get_model("tenancy", name) for name in ("ProbeParent", "ProbeChild")]
    tables = {"tenancy_probeparent", "tenancy_probechild"}
    try:
        with conn.cursor() as cursor:
            assert len(tenant_key_problems(Catalog.read(cursor), tables)) == 5
        statements = apply_tenant_keys("owner", probes)
        assert [s.split(" ADD ")[0].split(" DROP ")[0] for s in statements] == [
            'ALTER TABLE "tenancy_probechild"',  # its foreign key leaves the old parent key
            'ALTER TABLE "tenancy_probeparent"',  # (tenant_id, id)
            'ALTER TABLE "tenancy_probechild"',  # the foreign key comes back composite
            'ALTER TABLE "tenancy_probechild"',  # (tenant_id, id)
        ]
        with conn.cursor() as cursor:
            assert tenant_key_problems(Catalog.read(cursor), tables) == []
            cursor.execute("SELECT tenant_id, parent_id FROM tenancy_probechild")
            assert cursor.fetchall() == [(tenant_id, 1)]
        assert apply_tenant_keys("owner", probes) == []
    finally:
        _drop_probes(conn)
        with conn.cursor() as cursor:
            cursor.execute("DELETE FROM tenancy_tenant WHERE id = %s", [tenant_id])


def test_a_new_foreign_key_to_a_table_migrated_before_tenant_keys_converts_it_first(
    owner_connection,
):
    """An existing database upgrades in one `migrate`: a new migration's composite foreign key
    may point at a table that `apply_tenant_keys` (after the run) has not converted yet."""
    conn = owner_connection
    state = _probe_state(conn)
    old_parent = _probe_model("ProbeParent")
    new_state = state.clone()
    old_parent.state_forwards("tenancy", new_state)
    with DatabaseSchemaEditor(conn) as editor:  # Django's own editor: the key is `id` alone
        old_parent.database_forwards("tenancy", editor, state, new_state)
    with conn.cursor() as cursor:
        assert Catalog.read(cursor).primary_keys["tenancy_probeparent"] == ("id",)
    _apply(
        conn,
        new_state,
        _probe_model(
            "ProbeChild",
            ("parent", models.ForeignKey("tenancy.probeparent", models.CASCADE, related_name="+")),
        ),
    )
    with conn.cursor() as cursor:
        assert Catalog.read(cursor).primary_keys["tenancy_probeparent"] == ("tenant_id", "id")
    assert _foreign_keys(conn, "tenancy_probechild", "parent_id") == [
        (("tenant_id", "parent_id"), "tenancy_probeparent", ("tenant_id", "id"))
    ]
