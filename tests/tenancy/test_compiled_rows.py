"""`CompiledRows`: a list's statement compiled once a process for its key and tenant, giving
the rows, values and count the queryset gives, reading live rows, never another tenant's;
and the enrollment API that reads through it keys on every parameter."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db.models import F
from django.test import RequestFactory

from incentives.models import Enrollment, Program
from partners.models import Partner
from tenancy.api import pagination
from tenancy.api.pagination import CompiledRows, KeysFirst, list_count, list_key
from tenancy.context import all_tenants, tenant_scope
from tenancy.roles import Role
from tests.conftest import client_for
from tests.factories.incentives import ProgramFactory
from tests.factories.partners import PartnerFactory


class Builder:
    def __init__(self, build):
        self.build = build
        self.builds = 0

    def __call__(self):
        self.builds += 1
        return self.build()


def programs():
    """Values that need the ORM's converters: a decimal, a JSON document, dates and an
    annotation."""
    return Program.objects.values(
        "id", "name", "budget", "eligibility", "starts_on", "created_at", double=F("budget") * 2
    ).order_by("name", "pk")


@pytest.fixture(autouse=True)
def _fresh_statements():
    pagination._statements.clear()
    yield
    pagination._statements.clear()


@pytest.fixture
def catalogue(worlds):
    alpha, beta = worlds
    for n in range(7):
        ProgramFactory(
            tenant=alpha.tenant,
            name=f"Program {n}",
            budget=Decimal("1000.50") + n,
            eligibility={"tiers": [n], "note": "é"},
        )
    ProgramFactory(tenant=beta.tenant, name="Beta program")
    return alpha, beta


@pytest.mark.parametrize(("start", "stop"), [(0, 3), (3, 6), (6, 9), (0, 50), (2, 2), (9, 12)])
def test_a_page_is_the_querysets_slice_with_its_values_converted(catalogue, start, stop):
    alpha, _ = catalogue
    with tenant_scope(alpha.tenant):
        expected = list(programs()[start:stop])
        assert CompiledRows(("test",), programs)[start:stop] == expected
    noted = [row for row in expected if row["eligibility"].get("note")]
    if noted:
        assert isinstance(noted[0]["budget"], Decimal)
        assert noted[0]["eligibility"]["note"] == "é"


def test_compiled_once_for_a_key_and_reading_live_rows(catalogue):
    alpha, _ = catalogue
    build = Builder(programs)
    with tenant_scope(alpha.tenant):
        count = Program.objects.count()
        first = CompiledRows(("test",), build)
        assert len(first[0:50]) == first.count() == count
        ProgramFactory(tenant=alpha.tenant, name="Program 7")
        again = CompiledRows(("test",), build)
        assert "Program 7" in [row["name"] for row in again[0:50]]
        assert again.count() == count + 1
        CompiledRows(("another",), build)[0:1]
    assert build.builds == 2


def test_each_tenant_has_its_own_statement_and_rows(catalogue):
    alpha, beta = catalogue
    build = Builder(programs)
    with tenant_scope(beta.tenant):
        names = [row["name"] for row in CompiledRows(("test",), build)[0:50]]
        assert names == list(Program.objects.order_by("name", "pk").values_list("name", flat=True))
        assert "Beta program" in names
    with tenant_scope(alpha.tenant):
        names = [row["name"] for row in CompiledRows(("test",), build)[0:50]]
        assert len(names) == Program.objects.count()
    assert "Beta program" not in names
    assert build.builds == 2


@pytest.mark.django_db(transaction=True, databases=["default", "unscoped"])
def test_unscoped_nothing_is_kept(worlds):
    build = Builder(lambda: Partner.objects.values("id").order_by("pk"))
    with all_tenants(reason="test"):
        every = Partner.objects.count()
        assert CompiledRows(("test",), build).count() == every
        assert len(CompiledRows(("test",), build)[0:1000]) == every
    assert build.builds == 2
    assert not pagination._statements


def test_the_count_is_list_counts_under_the_same_cache_key(worlds):
    alpha, _ = worlds
    with tenant_scope(alpha.tenant):
        PartnerFactory.create_batch(5, tenant=alpha.tenant)
        queryset = Partner.objects.values("id", "name").order_by("name", "pk")
        rows = CompiledRows(("test",), lambda: queryset)
        assert rows.count() == list_count(queryset) == Partner.objects.count()
        assert rows.statement.count_key == pagination._count_key(pagination._counted(queryset))


def test_the_key_holds_who_asks_and_every_parameter_but_the_page(alpha):
    request = RequestFactory().get("/x", {"status": "active", "page": "3", "page_size": "9"})
    request.membership = alpha.member(Role.PARTNER_REP)
    other = RequestFactory().get("/x", {"status": "active", "page": "4"})
    other.membership = alpha.member(Role.PARTNER_REP)
    assert list_key(request) == list_key(other)
    assert "active" in repr(list_key(request))
    staff = RequestFactory().get("/x", {"status": "active"})
    staff.membership = alpha.member(Role.CHANNEL_MANAGER)
    assert list_key(staff) != list_key(request)
    filtered = RequestFactory().get("/x", {"status": "invited"})
    filtered.membership = alpha.member(Role.PARTNER_REP)
    assert list_key(filtered) != list_key(request)


def test_the_enrollment_api_answers_each_parameter_and_caller_with_its_own_rows(alpha):
    other = ProgramFactory(tenant=alpha.tenant)
    with tenant_scope(alpha.tenant):
        Enrollment.objects.create(program=other, partner=alpha.other_partner, status="invited")
    staff = client_for(alpha.user(Role.CHANNEL_MANAGER))
    url = "/api/v1/t/alpha/enrollments/"
    for _ in range(2):  # the second round reads the kept statements
        assert staff.get(url).json()["count"] == 2
        assert [r["status"] for r in staff.get(f"{url}?status=invited").json()["results"]] == [
            "invited"
        ]
        assert staff.get(f"{url}?program={other.pk}").json()["count"] == 1
        assert staff.get(f"{url}?program={other.pk}&status=enrolled").json()["count"] == 0
        rep = client_for(alpha.user(Role.PARTNER_REP))
        [mine] = rep.get(url).json()["results"]
        assert mine["partner"] == alpha.partner.pk
        assert staff.get(f"{url}?status=nonsense").status_code == 400


def test_the_member_api_answers_each_parameter_and_caller_with_its_own_rows(alpha):
    url = "/api/v1/t/alpha/members/"
    admin = client_for(alpha.user(Role.VENDOR_ADMIN))
    partner_admin = client_for(alpha.user(Role.PARTNER_ADMIN))
    for _ in range(2):  # the second round reads the kept statements
        every = admin.get(url).json()
        roles = {row["role"] for row in every["results"]}
        assert len(roles) > 1
        for role in roles:
            rows = admin.get(f"{url}?role={role}").json()["results"]
            assert rows
            assert {row["role"] for row in rows} == {role}
        ordered = admin.get(f"{url}?ordering=-user__email").json()["results"]
        emails = [row["user"]["email"] for row in ordered]
        assert emails == sorted(emails, reverse=True)
        own = partner_admin.get(url).json()["results"]
        assert own
        assert {row["partner"] for row in own} == {alpha.partner.pk}
        assert admin.get(f"{url}?role=nonsense").status_code == 400


def test_keys_first_reads_each_pages_rows_through_one_compiled_statement(catalogue):
    alpha, _ = catalogue
    builds = []

    def rows(ids):
        builds.append(ids)
        return programs().filter(pk__any_of=ids)

    with tenant_scope(alpha.tenant):
        every = list(programs())
        keys = CompiledRows(("keys",), lambda: Program.objects.values("id").order_by("name", "pk"))
        listed = KeysFirst(keys, ("rows",), rows)
        assert listed.count() == len(every)
        assert listed[0:3] + listed[3:6] + listed[6:50] == every
        assert listed[50:60] == []
    assert builds == [pagination.PAGE_KEYS]  # compiled once, with the placeholder
