"""The dashboard home of a new workspace lists the getting-started steps with links, ticks off
the steps done, and leaves them once all are; in a fixed number of queries."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tenancy.context import tenant_scope
from tenancy.roles import Role
from tests.factories.incentives import ProgramFactory
from tests.factories.partners import PartnerFactory, TierFactory
from tests.factories.tenancy import InvitationFactory, MembershipFactory, TenantFactory

STEPS = ["tiers", "partners", "program", "people"]


def _home(user) -> tuple[dict, str]:
    client = Client()
    client.force_login(user)
    response = client.get(reverse("dashboard", args=["fresh"]))
    assert response.status_code == 200
    return response.context, response.content.decode()


def _done(context) -> dict[str, bool]:
    return {step.key: step.done for step in context["getting_started"]}


@pytest.fixture
def fresh(db):
    tenant = TenantFactory(name="Fresh Vendor", slug="fresh")
    return tenant, MembershipFactory(tenant=tenant, role=Role.VENDOR_ADMIN)


def test_a_new_workspace_shows_the_getting_started_steps_with_links(fresh):
    _tenant, admin = fresh
    context, html = _home(admin.user)
    assert [step.key for step in context["getting_started"]] == STEPS
    assert not any(_done(context).values())
    assert "Getting started" in html
    for name in ("tiers", "partner_create", "partner_import", "program_create", "members"):
        assert reverse(name, args=["fresh"]) in html


def test_steps_are_ticked_off_as_they_are_done_and_leave_when_all_are(fresh):
    tenant, admin = fresh
    with tenant_scope(tenant):
        tier = TierFactory(tenant=tenant, name="Gold", rank=1)
        PartnerFactory(tenant=tenant, tier=tier)
    context, html = _home(admin.user)
    assert _done(context) == {"tiers": True, "partners": True, "program": False, "people": False}
    assert html.count('class="step done"') == 2
    with tenant_scope(tenant):
        ProgramFactory(tenant=tenant)
    InvitationFactory(tenant=tenant, email="cam@fresh.example", invited_by=admin.user)
    context, html = _home(admin.user)
    assert context["getting_started"] == []
    assert "Getting started" not in html


def test_people_who_cannot_set_up_the_workspace_see_no_steps(fresh):
    tenant, _ = fresh
    reviewer = MembershipFactory(tenant=tenant, role=Role.CLAIMS_REVIEWER)
    context, _html = _home(reviewer.user)
    assert context["getting_started"] == []


@pytest.mark.parametrize("size", [0, 50])
def test_the_home_page_makes_a_fixed_number_of_queries(fresh, django_assert_max_num_queries, size):
    tenant, admin = fresh
    with tenant_scope(tenant):
        PartnerFactory.create_batch(size, tenant=tenant)
        ProgramFactory.create_batch(size // 10, tenant=tenant)
    client = Client()
    client.force_login(admin.user)
    with django_assert_max_num_queries(17):
        response = client.get(reverse("dashboard", args=["fresh"]))
    assert response.status_code == 200


def test_the_numbers_and_steps_are_one_statement_with_the_right_counts(fresh, settings):
    """People, invitations and the getting-started checks are read together; the partner
    count is `list_count`'s."""
    settings.PREPARED_STATEMENTS = False  # the SQL sent is read here
    tenant, admin = fresh
    MembershipFactory.create_batch(2, tenant=tenant, role=Role.CHANNEL_MANAGER)
    MembershipFactory(tenant=tenant, role=Role.CHANNEL_MANAGER, is_active=False)
    InvitationFactory(tenant=tenant, email="a@fresh.example", invited_by=admin.user)
    with tenant_scope(tenant):
        TierFactory(tenant=tenant, name="Gold", rank=1)
    client = Client()
    client.force_login(admin.user)
    url = reverse("dashboard", args=["fresh"])
    client.get(url)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    context = response.context
    assert context["staff_count"] == 3
    assert context["partner_people_count"] == 0
    assert context["pending_invitations"] == 1
    assert _done(context) == {"tiers": True, "partners": False, "program": False, "people": True}
    numbers = [q["sql"] for q in queries if "tenancy_invitation" in q["sql"]]
    assert len(numbers) == 1, numbers
    assert "partners_tier" in numbers[0]
    assert "incentives_program" in numbers[0]
