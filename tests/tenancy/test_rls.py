"""Wall 2: PostgreSQL row-level security holds where the ORM's filter is bypassed."""

import pytest
from django.conf import settings
from django.db import IntegrityError, ProgrammingError, connection, transaction

from tenancy.context import tenant_scope
from tenancy.rls import row_level_security_status, tenant_owned_tables


def _raw(sql: str, params=()) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def test_every_tenant_owned_table_has_forced_rls_and_its_policies(db):
    status = row_level_security_status()
    assert set(status) == set(tenant_owned_tables())
    assert {"tenancy_membership", "tenancy_invitation", "partners_partner"} <= set(status)
    read_grants = {"tenancy_membership": "own_memberships", "tenancy_invitation": "invitation_link"}
    for table, (enabled, forced, policies) in status.items():
        assert (enabled, forced) == (True, True), table
        expected = {"tenant_isolation": ["public"], "unscoped_access": [settings.UNSCOPED_DB_ROLE]}
        if table in read_grants:
            expected[read_grants[table]] = ["public"]
        assert policies == expected, table


def test_application_role_is_neither_superuser_nor_bypassrls(db):
    rows = _raw(
        "SELECT current_user, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"
    )
    assert rows == [(settings.APP_DB_ROLE, False, False)]


def test_application_role_owns_no_table(db):
    owned = _raw(
        "SELECT tablename FROM pg_tables WHERE schemaname='public' AND tableowner = current_user"
    )
    assert owned == []


@pytest.mark.parametrize("table", ["tenancy_membership", "tenancy_invitation", "partners_partner"])
def test_raw_select_under_tenant_b_returns_none_of_a(worlds, table):
    alpha, bravo = worlds
    with tenant_scope(bravo.tenant):
        tenants = {row[0] for row in _raw(f"SELECT tenant_id FROM {table}")}
    assert alpha.tenant.pk not in tenants
    assert tenants == {bravo.tenant.pk}


def test_raw_select_with_no_tenant_set_returns_nothing(worlds):
    assert _raw("SELECT count(*) FROM partners_partner") == [(0,)]


def test_raw_insert_into_another_tenant_is_refused(worlds):
    alpha, bravo = worlds
    with (
        tenant_scope(bravo.tenant),
        pytest.raises(ProgrammingError, match="row-level security"),
        transaction.atomic(),
    ):
        _raw(
            "INSERT INTO partners_partner (tenant_id, name, created_at) VALUES (%s, 'x', now())",
            [alpha.tenant.pk],
        )


def test_raw_update_cannot_move_a_row_to_another_tenant(worlds):
    alpha, bravo = worlds
    with (
        tenant_scope(bravo.tenant),
        pytest.raises(ProgrammingError, match="row-level security"),
        transaction.atomic(),
    ):
        _raw("UPDATE partners_partner SET tenant_id = %s", [alpha.tenant.pk])


def test_application_role_cannot_switch_rls_off(worlds):
    with pytest.raises(ProgrammingError, match="must be owner"), transaction.atomic():
        _raw("ALTER TABLE partners_partner DISABLE ROW LEVEL SECURITY")


def test_unique_constraints_are_per_tenant(worlds):
    alpha, bravo = worlds
    from tests.factories.tenancy import InvitationFactory

    # The same email may be pending in two tenants, never twice in one.
    InvitationFactory(tenant=bravo.tenant, email=alpha.invitation.email)
    with pytest.raises(IntegrityError), transaction.atomic():
        InvitationFactory(tenant=bravo.tenant, email=alpha.invitation.email.upper())
