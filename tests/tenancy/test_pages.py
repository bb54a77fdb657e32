"""Dashboard and portal pages: who sees what, and a fixed number of queries whatever the size."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from tenancy.context import tenant_scope
from tenancy.roles import Role
from tests.factories.partners import PartnerFactory
from tests.factories.tenancy import InvitationFactory, MembershipFactory

STAFF_PAGES = ["dashboard", "members", "partners"]


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("role", [Role.VENDOR_ADMIN, Role.CHANNEL_MANAGER, Role.CLAIMS_REVIEWER])
def test_staff_see_the_dashboard_pages(worlds, role):
    alpha, _ = worlds
    client = _client(alpha.user(role))
    for name in STAFF_PAGES:
        assert client.get(reverse(name, args=["alpha"])).status_code == 200, name
    settings_page = client.get(reverse("tenant_settings", args=["alpha"]))
    assert settings_page.status_code == (200 if role == Role.VENDOR_ADMIN else 403)


@pytest.mark.parametrize("role", [Role.PARTNER_ADMIN, Role.PARTNER_REP])
def test_partner_people_get_the_portal_not_the_dashboard(worlds, role):
    alpha, _ = worlds
    client = _client(alpha.user(role))
    assert client.get(reverse("dashboard", args=["alpha"]))["Location"] == reverse(
        "portal_home", args=["alpha"]
    )
    assert client.get(reverse("members", args=["alpha"])).status_code == 403
    portal = client.get(reverse("portal_home", args=["alpha"]))
    assert portal.status_code == 200
    assert alpha.partner.name.encode() in portal.content
    assert client.get(reverse("portal_team", args=["alpha"])).status_code == 200


def test_portal_team_lists_only_the_own_partners_people(worlds):
    alpha, _ = worlds
    MembershipFactory(
        tenant=alpha.tenant,
        role="partner_rep",
        partner=alpha.other_partner,
        user__email="stranger@other.example",
    )
    page = _client(alpha.user(Role.PARTNER_ADMIN)).get(reverse("portal_team", args=["alpha"]))
    assert b"partner_rep@alpha.example" in page.content
    assert b"stranger@other.example" not in page.content


def test_rep_cannot_invite_from_the_portal(worlds):
    alpha, _ = worlds
    response = _client(alpha.user(Role.PARTNER_REP)).post(
        reverse("portal_team", args=["alpha"]), {"email": "x@x.example", "role": "partner_rep"}
    )
    assert response.status_code == 403


def test_tenant_switcher_lists_every_membership(worlds):
    alpha, bravo = worlds
    rep = bravo.user(Role.PARTNER_REP)
    MembershipFactory(tenant=alpha.tenant, user=rep, role="partner_rep", partner=alpha.partner)
    page = _client(rep).get(reverse("portal_home", args=["bravo"]))
    switcher = page.content.split(b'data-testid="tenant-switcher"')[1].split(b"</details>")[0]
    assert b"Alpha Corp" in switcher
    assert b"Bravo Corp" in switcher


def test_settings_form_rejects_a_bad_currency_by_field(worlds):
    alpha, _ = worlds
    response = _client(alpha.user(Role.VENDOR_ADMIN)).post(
        reverse("tenant_settings", args=["alpha"]),
        {"name": "Alpha Corp", "default_currency": "dollars", "time_zone": "UTC"},
    )
    assert response.status_code == 200
    assert "default_currency" in response.context["form"].errors


# Session and user (2), the memberships scope (savepoint, bind, select, restore, release: 5),
# the tenant scope (savepoint, bind, restore, release: 4), then the page's own reads.
# The partner list adds its filter options: tiers, regions, territories, countries, managers.
# People: session and user, the memberships, the savepoint and its release, then one statement
# for its rows with their count and checks, the pending invitations and a small partner menu.
PAGE_QUERIES = {"partners": 17, "members": 7, "dashboard": 15}


@pytest.mark.parametrize("size", [3, 300])
@pytest.mark.parametrize("page", sorted(PAGE_QUERIES))
def test_pages_make_a_fixed_number_of_queries(worlds, django_assert_max_num_queries, page, size):
    alpha, _ = worlds
    with tenant_scope(alpha.tenant):
        partners = PartnerFactory.create_batch(size, tenant=alpha.tenant)
    MembershipFactory.create_batch(
        size, tenant=alpha.tenant, role="partner_rep", partner=partners[0]
    )
    InvitationFactory.create_batch(
        size, tenant=alpha.tenant, partner=partners[1], role="partner_rep"
    )
    client = _client(alpha.user(Role.VENDOR_ADMIN))
    with django_assert_max_num_queries(PAGE_QUERIES[page]):
        response = client.get(reverse(page, args=["alpha"]))
    assert response.status_code == 200
