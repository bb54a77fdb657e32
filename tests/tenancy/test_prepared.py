"""Statements prepared once a database connection (`tenancy.db.prepared`): executed by name
afterwards with the same answers, row-level security applied when they run, prepared again on
a new connection, and a statement PostgreSQL cannot prepare sent as it is without spoiling
the transaction."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import DEFAULT_DB_ALIAS, connection, transaction
from django.test.utils import CaptureQueriesContext

from partners.models import Partner
from tenancy.context import tenant_scope
from tenancy.db.prepared import fetch_all, numbered
from tests.factories.partners import PartnerFactory

COUNT_ALL = "SELECT count(*) FROM partners_partner"  # row-level security alone narrows it


def test_placeholders_are_numbered_and_percent_signs_unescaped():
    sql = "SELECT %s, name LIKE '50%%' FROM t WHERE a = %s AND b = ANY(%s)"
    assert numbered(sql) == "SELECT $1, name LIKE '50%' FROM t WHERE a = $2 AND b = ANY($3)"


def test_prepared_once_then_executed_by_name_with_the_same_rows(worlds):
    alpha, _ = worlds
    with tenant_scope(alpha.tenant):
        PartnerFactory(tenant=alpha.tenant, name="100% Partners")
        queryset = Partner.objects.filter(name__contains="%").values_list("name", "pk")
        sql, params = queryset.query.sql_with_params()
        expected = list(queryset)
        with CaptureQueriesContext(connection) as first:
            assert [tuple(row) for row in fetch_all(DEFAULT_DB_ALIAS, sql, params)] == expected
        with CaptureQueriesContext(connection) as second:
            assert [tuple(row) for row in fetch_all(DEFAULT_DB_ALIAS, sql, params)] == expected
    # The PREPARE goes on the raw connection: the first call is the EXECUTE too.
    assert [q["sql"].split("; ")[-1][:9] for q in first.captured_queries] == ["EXECUTE u"]
    [executed] = second.captured_queries
    assert "EXECUTE u_" in executed["sql"]
    assert "PREPARE" not in executed["sql"]


@pytest.mark.parametrize(
    ("sql", "params"),
    [
        ("SELECT id FROM partners_partner WHERE id = ANY(%s) ORDER BY id", [[1, 2, 3]]),
        (
            "SELECT count(*) FROM partners_partner WHERE created_at < %s",
            [datetime(2030, 1, 1, tzinfo=UTC)],
        ),
        ("SELECT count(*) FROM partners_partner WHERE name = %s OR %s IS NULL", ["x", None]),
        ("SELECT %s::numeric + 1, %s::boolean", [Decimal("1.50"), True]),
    ],
)
def test_values_of_every_kind_reach_the_statement(worlds, sql, params):
    alpha, _ = worlds
    with tenant_scope(alpha.tenant), connection.cursor() as cursor:
        cursor.execute(sql, params)
        expected = cursor.fetchall()
        assert fetch_all(DEFAULT_DB_ALIAS, sql, params) == expected
        assert fetch_all(DEFAULT_DB_ALIAS, sql, params) == expected


def test_row_level_security_applies_when_a_prepared_statement_runs(worlds):
    alpha, beta = worlds
    PartnerFactory.create_batch(3, tenant=beta.tenant)
    counts = {}
    for world in (alpha, beta, alpha, beta):
        with tenant_scope(world.tenant):
            expected = Partner.objects.count()
            [(counted,)] = fetch_all(DEFAULT_DB_ALIAS, COUNT_ALL, ())
            assert counted == expected
            counts[world.tenant.pk] = counted
    assert counts[alpha.tenant.pk] != counts[beta.tenant.pk]


@pytest.mark.django_db(transaction=True)
def test_a_new_connection_prepares_again(worlds):
    alpha, _ = worlds
    with tenant_scope(alpha.tenant):
        expected = fetch_all(DEFAULT_DB_ALIAS, COUNT_ALL, ())
        connection.close()
        assert fetch_all(DEFAULT_DB_ALIAS, COUNT_ALL, ()) == expected  # a session that never saw it
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE name LIKE 'u_%%'")
            assert cursor.fetchone()[0] == 1


def test_a_statement_that_cannot_be_prepared_is_sent_as_it_is_and_the_transaction_lives(worlds):
    alpha, _ = worlds
    refused = "SHOW TimeZone"  # PREPARE takes SELECT, INSERT, UPDATE, DELETE, MERGE, VALUES
    with tenant_scope(alpha.tenant), transaction.atomic():
        [(zone,)] = fetch_all(DEFAULT_DB_ALIAS, refused, ())
        with CaptureQueriesContext(connection) as queries:
            assert fetch_all(DEFAULT_DB_ALIAS, refused, ()) == [(zone,)]
        [sent] = queries.captured_queries
        assert "EXECUTE" not in sent["sql"]
        assert Partner.objects.exists()  # the transaction is still usable


def test_switched_off_the_sql_is_sent_as_it_is(worlds, settings):
    settings.PREPARED_STATEMENTS = False
    alpha, _ = worlds
    with tenant_scope(alpha.tenant), CaptureQueriesContext(connection) as queries:
        fetch_all(DEFAULT_DB_ALIAS, COUNT_ALL, ())
    assert not [
        q for q in queries.captured_queries if "PREPARE" in q["sql"] or "EXECUTE" in q["sql"]
    ]


def test_a_connection_keeps_a_bounded_number_of_prepared_statements(worlds, monkeypatch):
    from tenancy.db import prepared

    monkeypatch.setattr(prepared, "MAX_PREPARED", 5)
    alpha, _ = worlds
    with tenant_scope(alpha.tenant):
        for page in range(12):  # a client walking the pages of a list: a statement a page
            sql = f"SELECT id FROM partners_partner ORDER BY id LIMIT 1 OFFSET {page}"
            with connection.cursor() as cursor:
                cursor.execute(sql)
                expected = cursor.fetchall()
            assert fetch_all(DEFAULT_DB_ALIAS, sql, ()) == expected
            with connection.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM pg_prepared_statements")
                assert cursor.fetchone()[0] <= 5
