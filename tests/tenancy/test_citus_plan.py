"""`manage.py citus_plan`: every tenant-owned table distributed by tenant_id, with keys Citus
accepts, checked against PostgreSQL's catalog (no Citus build runs here)."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tenancy.db.citus import citus_plan
from tenancy.db.keys import Catalog, ForeignKey, read_catalog
from tenancy.rls import tenant_owned_tables

DISTRIBUTE = re.compile(r"^SELECT create_distributed_table\('(\w+)', 'tenant_id'(.*)\);$")
REFERENCE = re.compile(r"^SELECT create_reference_table\('(\w+)'\);$")


def _plan() -> list[str]:
    out = StringIO()
    call_command("citus_plan", stdout=out)
    return out.getvalue().splitlines()


def test_plan_distributes_every_tenant_owned_table_by_tenant(db):
    lines = _plan()
    distributed = [m[1] for line in lines if (m := DISTRIBUTE.match(line))]
    reference = [m[1] for line in lines if (m := REFERENCE.match(line))]
    assert sorted(distributed) == sorted(tenant_owned_tables())
    assert {"tenancy_tenant", "tenancy_user"} <= set(reference)
    assert not set(reference) & set(distributed)
    # Colocated with one anchor, so foreign keys and joins between them stay on one node.
    anchor = distributed[0]
    for line in lines:
        if (m := DISTRIBUTE.match(line)) and m[1] != anchor:
            assert m[2] == f", colocate_with => '{anchor}'"
    assert any(line.startswith("-- Not run on Citus") for line in lines)


def test_plan_runs_in_an_order_citus_accepts(db):
    lines = _plan()
    index = {line: number for number, line in enumerate(lines)}
    drops = [n for line, n in index.items() if " DROP CONSTRAINT " in line]
    adds = [n for line, n in index.items() if " ADD CONSTRAINT " in line]
    references = [n for line, n in index.items() if REFERENCE.match(line)]
    distributions = [n for line, n in index.items() if DISTRIBUTE.match(line)]
    assert drops
    assert adds
    assert references
    assert distributions
    assert max(drops) < min(references)
    assert max(references) < min(distributions)
    assert max(distributions) < min(adds)
    # A reference table may reference only reference tables created before it.
    catalog = read_catalog()
    created = [REFERENCE.match(lines[n])[1] for n in sorted(references)]
    for position, table in enumerate(created):
        for fk in catalog.foreign_keys_of(table):
            assert fk.to_table in created[:position] or fk.to_table == table, fk


def test_schema_keys_are_ones_citus_accepts(db):
    catalog = read_catalog()
    tenant_tables = set(tenant_owned_tables())
    plan = citus_plan(catalog, tenant_tables)
    assert plan.problems == []
    reference = set(plan.reference_tables)
    for table in tenant_tables:
        assert "tenant_id" in catalog.primary_keys[table]
    for table, name, columns in catalog.unique_indexes:
        if table in tenant_tables:
            assert "tenant_id" in columns, name
    for fk in catalog.foreign_keys:
        if fk.table in tenant_tables and fk.to_table in tenant_tables:
            assert fk.carries_tenant, fk.name
        if fk.table in reference:
            assert fk.to_table not in tenant_tables, fk.name
        if fk.table not in tenant_tables:
            assert fk.to_table not in tenant_tables, fk.name
    # Every foreign key between distributed tables is dropped and re-added, composite.
    assert {fk.name for fk in plan.colocated_foreign_keys} == {
        fk.name
        for fk in catalog.foreign_keys
        if fk.table in tenant_tables and fk.to_table in tenant_tables
    }


def test_plan_names_keys_citus_would_refuse():
    catalog = Catalog(
        tables={"shop_order", "shop_line", "tenancy_tenant"},
        tenant_tables={"shop_order", "shop_line"},
        primary_keys={"shop_order": ("tenant_id", "id"), "shop_line": ("id",)},
        primary_key_names={"shop_order": "shop_order_pkey", "shop_line": "shop_line_pkey"},
        unique_indexes=[("shop_line", "shop_line_pkey", ("id",))],
        foreign_keys=[
            ForeignKey(
                "line_order", "shop_line", ("order_id",), "shop_order", ("id",), "FOREIGN KEY"
            ),
            ForeignKey("line_tenant", "shop_line", ("tenant_id",), "tenancy_tenant", ("id",), "FK"),
        ],
    )
    plan = citus_plan(catalog, {"shop_order", "shop_line"})
    assert plan.reference_tables == ["tenancy_tenant"]
    assert plan.problems == [
        "shop_line: primary key is (id), not (tenant_id, id)",
        "shop_line: unique index shop_line_pkey does not include tenant_id",
        "shop_line: foreign key line_order (order_id) does not carry tenant_id",
    ]
    assert "-- NOT ACCEPTED by Citus" in plan.sql()


def test_command_fails_when_citus_would_refuse_a_key(db, monkeypatch):
    from tenancy.management.commands import citus_plan as command

    monkeypatch.setattr(command, "tenant_owned_tables", lambda: ["tenancy_user"])
    with pytest.raises(CommandError, match="Citus would refuse"):
        call_command("citus_plan", stdout=StringIO())
