"""The unscoped path has a role of its own; the application role cannot open another tenant by
any setting it can write (DESIGN.md §2). Checked on raw connections, as an attacker with SQL in
hand would try it."""

from __future__ import annotations

import psycopg2
import pytest
from django.conf import settings
from django.db import connection

from tenancy.context import sign_user_claim
from tenancy.rls import tenant_owned_tables
from tenancy.roles import Role
from tests.conftest import build_world

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "unscoped"])

FORGED_SETTINGS = [
    {},
    {"app.all_tenants": "on"},
    {"app.tenant_id": ""},
    {"app.tenant_id": "0"},
    {"app.user_claim": "ALPHA_USER"},
    {"app.user_claim": "ALPHA_USER." + "0" * 64},
    {"app.user_claim": "ALPHA_USER.BRAVO_SIGNATURE"},
    {"app.invitation_token_hash": "0" * 64},
    {"app.invitation_token_hash": "%"},
    {"app.tenant_id": "BRAVO"},
]


def _connect(role: str):
    database = connection.settings_dict
    raw = psycopg2.connect(
        dbname=database["NAME"], user=role, host=database["HOST"], port=database["PORT"]
    )
    raw.autocommit = False
    return raw


def _rows_of(cursor, tenant_id: int) -> dict[str, int]:
    found = {}
    for table in tenant_owned_tables():
        cursor.execute(f"SELECT count(*) FROM {table} WHERE tenant_id = %s", [tenant_id])
        found[table] = cursor.fetchone()[0]
    return {table: n for table, n in found.items() if n}


def _resolve(value: str, alpha, bravo) -> str:
    bravo_user = bravo.user(Role.VENDOR_ADMIN).pk
    return (
        value.replace("ALPHA_USER", str(alpha.user(Role.VENDOR_ADMIN).pk))
        .replace("BRAVO_SIGNATURE", sign_user_claim(bravo_user).split(".")[1])
        .replace("BRAVO", str(bravo.tenant.pk))
    )


def test_application_role_sees_nothing_of_a_by_any_setting_it_can_write():
    alpha, bravo = build_world("alpha"), build_world("bravo")
    raw = _connect(settings.APP_DB_ROLE)
    tried = 0
    try:
        with raw.cursor() as cursor:
            for forged in FORGED_SETTINGS:
                for name, value in forged.items():
                    cursor.execute(
                        "SELECT set_config(%s, %s, false)", [name, _resolve(value, alpha, bravo)]
                    )
                assert _rows_of(cursor, alpha.tenant.pk) == {}, forged
                tried += 1
                cursor.execute("RESET ALL")
    finally:
        raw.close()
    assert tried == len(FORGED_SETTINGS)


def test_application_role_cannot_become_the_unscoped_role_or_read_the_claim_key():
    raw = _connect(settings.APP_DB_ROLE)
    raw.autocommit = True
    try:
        with raw.cursor() as cursor:
            for statement in (
                f"SET ROLE {settings.UNSCOPED_DB_ROLE}",
                "SELECT * FROM tenancy_claim_key",
                "DROP POLICY tenant_isolation ON partners_partner",
                "ALTER TABLE partners_partner NO FORCE ROW LEVEL SECURITY",
            ):
                with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                    cursor.execute(statement)
    finally:
        raw.close()


def test_a_signed_claim_opens_that_users_memberships_and_nothing_else():
    alpha, bravo = build_world("alpha"), build_world("bravo")
    rep = alpha.user(Role.PARTNER_REP)
    raw = _connect(settings.APP_DB_ROLE)
    try:
        with raw.cursor() as cursor:
            cursor.execute(
                "SELECT set_config('app.user_claim', %s, false)", [sign_user_claim(rep.pk)]
            )
            cursor.execute("SELECT tenant_id, user_id FROM tenancy_membership")
            assert cursor.fetchall() == [(alpha.tenant.pk, rep.pk)]
            assert _rows_of(cursor, alpha.tenant.pk) == {"tenancy_membership": 1}
            assert _rows_of(cursor, bravo.tenant.pk) == {}
    finally:
        raw.close()


def test_the_unscoped_role_reads_every_tenant_and_nothing_opens_it_to_the_app_role():
    alpha, bravo = build_world("alpha"), build_world("bravo")
    raw = _connect(settings.UNSCOPED_DB_ROLE)
    try:
        with raw.cursor() as cursor:
            cursor.execute(
                "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"
            )
            assert cursor.fetchone() == (False, False)
            assert _rows_of(cursor, alpha.tenant.pk)["partners_partner"] == 2
            assert _rows_of(cursor, bravo.tenant.pk)["partners_partner"] == 2
            cursor.execute(
                "SELECT count(*) FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid"
                " JOIN pg_roles u ON u.oid = m.member WHERE r.rolname = %s AND u.rolname = %s",
                [settings.UNSCOPED_DB_ROLE, settings.APP_DB_ROLE],
            )
            assert cursor.fetchone()[0] == 0
    finally:
        raw.close()
