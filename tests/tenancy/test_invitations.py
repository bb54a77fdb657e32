"""Invitations: who may invite whom, and the link that creates or attaches an account."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tenancy.context import tenant_scope
from tenancy.errors import ApplicationError, Conflict, NotPermitted
from tenancy.models import Invitation, Membership, User
from tenancy.roles import Role
from tenancy.services import (
    invitation_accept,
    invitation_create,
    invitation_revoke,
    invitation_send,
    membership_deactivate,
    membership_update,
    user_create_for_invitation,
)
from tests.factories.tenancy import PASSWORD, UserFactory


def _invite(world, actor_role, **kwargs) -> Invitation:
    with tenant_scope(world.tenant):
        return invitation_create(actor=world.member(actor_role), **kwargs)


def _mailed_link(world, invitation) -> str:
    """Send the invitation and return the path of the link in the email."""
    with tenant_scope(world.tenant):
        assert invitation_send(invitation_id=invitation.pk) is True
    body = mail.outbox[-1].body
    return urlsplit(next(word for word in body.split() if "/invitations/" in word)).path


def test_vendor_admin_invites_staff_and_partner_people(worlds):
    alpha, _ = worlds
    staff = _invite(alpha, Role.VENDOR_ADMIN, email="Finance@Alpha.example", role="claims_reviewer")
    assert (staff.email, staff.partner) == ("finance@alpha.example", None)
    rep = _invite(
        alpha,
        Role.VENDOR_ADMIN,
        email="rep2@alpha.example",
        role="partner_rep",
        partner=alpha.partner,
    )
    assert rep.partner == alpha.partner


def test_partner_role_without_a_partner_names_the_field(worlds):
    alpha, _ = worlds
    with pytest.raises(ApplicationError) as error:
        _invite(alpha, Role.VENDOR_ADMIN, email="rep@x.example", role="partner_rep")
    assert error.value.errors == {"partner": ["A partner role needs the partner company."]}


def test_channel_manager_cannot_invite_staff(worlds):
    alpha, _ = worlds
    with pytest.raises(ApplicationError) as error:
        _invite(alpha, Role.CHANNEL_MANAGER, email="boss@x.example", role="vendor_admin")
    assert "role" in error.value.errors


def test_partner_admin_invites_only_into_its_own_partner(worlds):
    alpha, _ = worlds
    invitation = _invite(
        alpha,
        Role.PARTNER_ADMIN,
        email="colleague@x.example",
        role="partner_rep",
        partner=alpha.other_partner,  # ignored: a partner admin acts for its own partner only
    )
    assert invitation.partner == alpha.partner


@pytest.mark.parametrize("role", [Role.PARTNER_REP, Role.CLAIMS_REVIEWER])
def test_reps_and_reviewers_cannot_invite(worlds, role):
    alpha, _ = worlds
    with pytest.raises(NotPermitted):
        _invite(alpha, role, email="someone@x.example", role="partner_rep")


def test_second_pending_invitation_for_the_same_email_is_refused(worlds):
    alpha, _ = worlds
    with pytest.raises(ApplicationError) as error:
        _invite(alpha, Role.VENDOR_ADMIN, email=alpha.invitation.email, role="channel_manager")
    assert "already has a pending invitation" in error.value.errors["email"][0]


def test_existing_member_cannot_be_invited_again(worlds):
    alpha, _ = worlds
    email = alpha.user(Role.CHANNEL_MANAGER).email
    with pytest.raises(ApplicationError, match="already a member"):
        _invite(alpha, Role.VENDOR_ADMIN, email=email, role="claims_reviewer")


def test_send_is_idempotent(worlds):
    alpha, _ = worlds
    invitation = _invite(alpha, Role.VENDOR_ADMIN, email="once@x.example", role="channel_manager")
    with tenant_scope(alpha.tenant):
        assert invitation_send(invitation_id=invitation.pk) is True
        assert invitation_send(invitation_id=invitation.pk) is False
    assert len(mail.outbox) == 1


def test_link_creates_the_account_and_lands_in_the_portal(worlds):
    alpha, _ = worlds
    invitation = _invite(
        alpha,
        Role.VENDOR_ADMIN,
        email="newrep@x.example",
        role="partner_rep",
        partner=alpha.partner,
    )
    path = _mailed_link(alpha, invitation)
    client = Client()
    page = client.get(path)
    assert page.status_code == 200
    assert b"Join Alpha Corp" in page.content
    response = client.post(path, {"full_name": "New Rep", "password": "a-long-passphrase-42"})
    assert response.status_code == 302
    assert response["Location"] == reverse("portal_home", args=["alpha"])
    user = User.objects.get(email="newrep@x.example")
    with tenant_scope(alpha.tenant):
        membership = Membership.objects.get(user=user)
    assert (membership.role, membership.partner_id) == ("partner_rep", alpha.partner.pk)
    assert client.get(response["Location"]).status_code == 200
    # The link works once.
    assert Client().get(path).status_code == 404


def test_weak_password_on_the_link_form_names_the_field(worlds):
    alpha, _ = worlds
    invitation = _invite(alpha, Role.VENDOR_ADMIN, email="weak@x.example", role="channel_manager")
    path = _mailed_link(alpha, invitation)
    response = Client().post(path, {"full_name": "Weak", "password": "123"})
    assert response.status_code == 200
    assert "password" in response.context["form"].errors
    assert not User.objects.filter(email="weak@x.example").exists()


def test_expired_link_creates_no_account(worlds):
    alpha, _ = worlds
    invitation = _invite(alpha, Role.VENDOR_ADMIN, email="late2@x.example", role="channel_manager")
    path = _mailed_link(alpha, invitation)
    with tenant_scope(alpha.tenant):
        Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(1))
    response = Client().post(path, {"full_name": "Late", "password": "a-long-passphrase-42"})
    assert not User.objects.filter(email="late2@x.example").exists()
    assert not EmailAddress.objects.filter(email="late2@x.example").exists()
    assert response.status_code == 410
    assert b"expired or was withdrawn" in response.content
    assert Client().get(path).status_code == 410


def test_revoked_or_accepted_link_creates_no_account(worlds):
    alpha, _ = worlds
    revoked = _invite(alpha, Role.VENDOR_ADMIN, email="gone2@x.example", role="channel_manager")
    revoked_path = _mailed_link(alpha, revoked)
    with tenant_scope(alpha.tenant):
        invitation_revoke(actor=alpha.member(Role.VENDOR_ADMIN), invitation=revoked)
    response = Client().post(revoked_path, {"full_name": "Gone", "password": "a-long-pass-42"})
    assert response.status_code == 404
    assert not User.objects.filter(email="gone2@x.example").exists()
    with tenant_scope(alpha.tenant):
        revoked.refresh_from_db()
    with pytest.raises(Conflict) as closed:  # the service refuses on its own, too
        user_create_for_invitation(invitation=revoked, full_name="Gone", password="a-long-pass-42")
    assert closed.value.code == "gone"
    assert not User.objects.filter(email="gone2@x.example").exists()


def test_signed_in_user_with_another_email_cannot_take_the_invitation(worlds):
    alpha, bravo = worlds
    invitation = _invite(alpha, Role.VENDOR_ADMIN, email="meant@x.example", role="channel_manager")
    with pytest.raises(ApplicationError, match=r"sent to meant@x\.example"):
        invitation_accept(invitation=invitation, user=bravo.user(Role.VENDOR_ADMIN))


def test_existing_user_joins_a_second_tenant(worlds):
    alpha, bravo = worlds
    rep = bravo.user(Role.PARTNER_REP)
    invitation = _invite(
        alpha, Role.VENDOR_ADMIN, email=rep.email, role="partner_rep", partner=alpha.partner
    )
    membership = invitation_accept(invitation=invitation, user=rep)
    assert membership.tenant_id == alpha.tenant.pk
    client = Client()
    client.force_login(rep)
    home = client.get("/?switch=1")
    assert b"Alpha Corp" in home.content
    assert b"Bravo Corp" in home.content


def test_expired_or_revoked_invitation_cannot_be_accepted(worlds):
    alpha, _ = worlds
    user = UserFactory(email="late@x.example")
    invitation = _invite(alpha, Role.VENDOR_ADMIN, email="late@x.example", role="channel_manager")
    with tenant_scope(alpha.tenant):
        Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(1))
        invitation.refresh_from_db()
    with pytest.raises(ApplicationError, match="expired"):
        invitation_accept(invitation=invitation, user=user)
    revoked = _invite(alpha, Role.VENDOR_ADMIN, email="gone@x.example", role="channel_manager")
    with tenant_scope(alpha.tenant):
        invitation_revoke(actor=alpha.member(Role.VENDOR_ADMIN), invitation=revoked)
    with pytest.raises(Conflict) as used:  # the link page answers 409
        invitation_accept(invitation=revoked, user=UserFactory(email="gone@x.example"))
    assert used.value.code == "gone"


def test_last_vendor_admin_cannot_be_demoted_or_removed(worlds):
    alpha, _ = worlds
    admin = alpha.member(Role.VENDOR_ADMIN)
    with tenant_scope(alpha.tenant):
        with pytest.raises(ApplicationError, match="at least one vendor admin"):
            membership_update(actor=admin, membership=admin, role="channel_manager")
        with pytest.raises(ApplicationError, match="at least one vendor admin"):
            membership_deactivate(actor=admin, membership=admin)


def test_partner_admin_removes_only_its_own_people(worlds):
    alpha, _ = worlds
    partner_admin = alpha.member(Role.PARTNER_ADMIN)
    with tenant_scope(alpha.tenant):
        membership_deactivate(actor=partner_admin, membership=alpha.member(Role.PARTNER_REP))
        with pytest.raises(NotPermitted):
            membership_deactivate(
                actor=partner_admin, membership=alpha.member(Role.CHANNEL_MANAGER)
            )


def test_members_page_invites_and_reports_field_errors(worlds):
    alpha, _ = worlds
    client = Client()
    client.force_login(alpha.user(Role.VENDOR_ADMIN))
    url = reverse("members", args=["alpha"])
    bad = client.post(url, {"email": "not-an-email", "role": "partner_rep"})
    assert bad.status_code == 200
    assert set(bad.context["form"].errors) == {"email", "partner"}
    good = client.post(
        url, {"email": "ok@x.example", "role": "partner_rep", "partner": alpha.partner.pk}
    )
    assert good.status_code == 302
    with tenant_scope(alpha.tenant):
        assert Invitation.objects.filter(email="ok@x.example").exists()


def test_password_login_of_a_factory_user_works(worlds):
    alpha, _ = worlds
    assert Client().login(email=alpha.user(Role.PARTNER_REP).email, password=PASSWORD)
