"""The actions the people pages and the API offer on an invitation, and on a partner company,
are exactly the ones the services allow, for every role."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from partners.models import Partner
from partners.services import partner_update
from tenancy.context import tenant_scope
from tenancy.models import Invitation, Membership
from tenancy.roles import Role
from tenancy.services import (
    invitation_resend,
    invitation_revoke,
    membership_deactivate,
    membership_update,
)
from tests.conftest import client_for
from tests.factories.tenancy import InvitationFactory
from tests.probe import service_allows

ROLES = [
    Role.VENDOR_ADMIN,
    Role.CHANNEL_MANAGER,
    Role.CLAIMS_REVIEWER,
    Role.PARTNER_ADMIN,
    Role.PARTNER_REP,
]
PEOPLE_PAGE = {
    Role.VENDOR_ADMIN: "members",
    Role.CHANNEL_MANAGER: "members",
    Role.CLAIMS_REVIEWER: "members",
    Role.PARTNER_ADMIN: "portal_team",
    Role.PARTNER_REP: "portal_team",
}
INVITATION_PROBES = {
    "resend": lambda actor, invitation: invitation_resend(actor=actor, invitation=invitation),
    "revoke": lambda actor, invitation: invitation_revoke(actor=actor, invitation=invitation),
}


def _page(user, url: str) -> str:
    client = Client()
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200, url
    return response.content.decode()


def _invitations(alpha) -> list[Invitation]:
    """Invitations to each kind of person, and one that is no longer pending."""
    made = [
        InvitationFactory(tenant=alpha.tenant, email="admin@new.example", role="vendor_admin"),
        InvitationFactory(
            tenant=alpha.tenant, email="rep@new.example", role="partner_rep", partner=alpha.partner
        ),
        InvitationFactory(
            tenant=alpha.tenant,
            email="rep@other.example",
            role="partner_rep",
            partner=alpha.other_partner,
        ),
        InvitationFactory(
            tenant=alpha.tenant,
            email="gone@new.example",
            role="partner_admin",
            partner=alpha.partner,
            status="revoked",
        ),
    ]
    return [alpha.invitation, *made]


def _allowed(alpha, actor, invitation: Invitation) -> set[str]:
    def fresh():
        return Invitation.objects.get(pk=invitation.pk)

    return {
        action
        for action, probe in INVITATION_PROBES.items()
        if service_allows(alpha.tenant, lambda probe=probe: probe(actor, fresh()))
    }


@pytest.mark.parametrize("role", ROLES)
def test_invitation_buttons_and_api_actions_are_what_the_services_allow(worlds, role):
    alpha, _ = worlds
    invitations = _invitations(alpha)
    actor = alpha.member(role)
    html = _page(alpha.user(role), reverse(PEOPLE_PAGE[role], args=["alpha"]))
    api = client_for(alpha.user(role)).get("/api/v1/t/alpha/invitations/?page_size=100")
    rows = api.json()["results"] if api.status_code == 200 else []
    listed = {row["id"]: set(row["actions"]) for row in rows}
    offered_anywhere = set()
    for invitation in invitations:
        allowed = _allowed(alpha, actor, invitation)
        if invitation.email in html:  # the page lists it (pending, and in the actor's reach)
            shown = {
                action
                for action in INVITATION_PROBES
                if reverse(f"invitation_{action}", args=["alpha", invitation.pk]) in html
            }
            assert shown == allowed, invitation.email
        if invitation.pk in listed:
            assert listed[invitation.pk] == allowed, invitation.email
        offered_anywhere |= allowed
    if role in (Role.VENDOR_ADMIN, Role.CHANNEL_MANAGER, Role.PARTNER_ADMIN):
        assert listed, "the API lists invitations to people managers"
        assert offered_anywhere == {"resend", "revoke"}
    else:
        assert api.status_code == 403
        assert offered_anywhere == set()


def test_a_channel_manager_is_offered_nothing_on_a_vendor_admin_invitation(worlds):
    alpha, _ = worlds
    invitation = InvitationFactory(
        tenant=alpha.tenant, email="boss@new.example", role="vendor_admin"
    )
    html = _page(alpha.user(Role.CHANNEL_MANAGER), reverse("members", args=["alpha"]))
    assert "boss@new.example" in html
    assert reverse("invitation_revoke", args=["alpha", invitation.pk]) not in html
    response = Client()
    response.force_login(alpha.user(Role.CHANNEL_MANAGER))
    posted = response.post(reverse("invitation_revoke", args=["alpha", invitation.pk]))
    assert posted.status_code == 302
    with tenant_scope(alpha.tenant):
        assert Invitation.objects.get(pk=invitation.pk).status == "pending"


@pytest.mark.parametrize("role", ROLES)
def test_partner_edit_is_offered_exactly_when_the_service_allows_it(worlds, role):
    alpha, _ = worlds
    actor = alpha.member(role)

    def rename():
        partner = Partner.objects.get(pk=alpha.partner.pk)
        partner_update(actor=actor, partner=partner, name="Renamed Ltd")

    allowed = {"edit"} if service_allows(alpha.tenant, rename) else set()
    api = client_for(alpha.user(role)).get(f"/api/v1/t/alpha/partners/{alpha.partner.pk}/")
    assert set(api.json()["actions"]) == allowed
    if role in (Role.VENDOR_ADMIN, Role.CHANNEL_MANAGER, Role.CLAIMS_REVIEWER):
        html = _page(alpha.user(role), reverse("partner_detail", args=["alpha", alpha.partner.pk]))
        shown = (
            {"edit"} if reverse("partner_edit", args=["alpha", alpha.partner.pk]) in html else set()
        )
        assert shown == allowed
    assert (allowed == {"edit"}) is (role in (Role.VENDOR_ADMIN, Role.CHANNEL_MANAGER))


def _member_allows(alpha, actor, member, action: str) -> bool:
    """Whether the service lets `actor` remove `member`, or give it any other role it offers."""

    def fresh():
        return Membership.objects.get(pk=member.pk)

    if action == "remove":
        return service_allows(
            alpha.tenant, lambda: membership_deactivate(actor=actor, membership=fresh())
        )
    return any(
        service_allows(
            alpha.tenant,
            lambda role=role: membership_update(actor=actor, membership=fresh(), role=role),
        )
        for role in Role.values
        if role != member.role
    )


@pytest.mark.parametrize("role", ROLES)
def test_people_rows_offer_a_role_change_and_removal_exactly_when_the_services_allow(worlds, role):
    alpha, _ = worlds
    actor = alpha.member(role)
    html = _page(alpha.user(role), reverse(PEOPLE_PAGE[role], args=["alpha"]))
    offered_anywhere = set()
    for member in alpha.members.values():
        if member.user.email not in html:
            continue
        allowed = {
            action
            for action in ("change_role", "remove")
            if _member_allows(alpha, actor, member, action)
        }
        shown = {
            action
            for action, url in (("change_role", "member_role"), ("remove", "member_remove"))
            if reverse(url, args=["alpha", member.pk]) in html
        }
        assert shown == allowed, (role, member.role)
        offered_anywhere |= allowed
    managers = {Role.VENDOR_ADMIN, Role.CHANNEL_MANAGER, Role.PARTNER_ADMIN}
    assert bool(offered_anywhere) == (role in managers)


def test_a_channel_manager_may_give_partner_roles_only(worlds):
    alpha, _ = worlds
    html = _page(alpha.user(Role.CHANNEL_MANAGER), reverse("members", args=["alpha"]))
    rep = alpha.member(Role.PARTNER_REP)
    assert reverse("member_role", args=["alpha", rep.pk]) in html
    row = html[html.index(reverse("member_role", args=["alpha", rep.pk])) :]
    select = row[: row.index("</select>")]
    assert 'value="partner_admin"' in select
    assert 'value="vendor_admin"' not in select
    client = Client()
    client.force_login(alpha.user(Role.CHANNEL_MANAGER))
    client.post(reverse("member_role", args=["alpha", rep.pk]), {"role": "partner_admin"})
    with tenant_scope(alpha.tenant):
        assert Membership.objects.get(pk=rep.pk).role == "partner_admin"
