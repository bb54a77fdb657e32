"""A tenant's "staff must use an authenticator" setting holds on every page, the API (by session
and by token) and the minting of tokens; partner people are not held to it."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from tenancy.models import ApiToken, Tenant
from tenancy.roles import Role
from tenancy.services import api_token_create
from tests.factories.tenancy import pass_second_factor, totp_activate

PARTNERS = "/api/v1/t/alpha/partners/"
TIERS = "/api/v1/t/alpha/tiers/"


@pytest.fixture
def strict(worlds):
    alpha, bravo = worlds
    Tenant.objects.filter(pk=alpha.tenant.pk).update(require_staff_mfa=True)
    return alpha, bravo


def session(user, *, second_factor: bool = False) -> Client:
    client = Client()
    client.force_login(user)
    if second_factor:
        pass_second_factor(client)
    return client


def token_client(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def test_a_password_only_session_gets_403_from_the_api(strict):
    alpha, _ = strict
    client = session(alpha.user(Role.VENDOR_ADMIN))
    response = client.get(PARTNERS)
    assert response.status_code == 403
    assert "authenticator" in response.json()["detail"]
    created = client.post(TIERS, {"name": "Copper"}, content_type="application/json")
    assert created.status_code == 403


def test_a_session_that_skipped_the_second_factor_is_refused_pages_and_api(strict):
    alpha, _ = strict
    user = alpha.user(Role.CHANNEL_MANAGER)
    totp_activate(user)
    client = session(user)  # has an authenticator, but signed in without it
    page = client.get(reverse("dashboard", args=["alpha"]))
    assert page.status_code == 403
    assert b"authenticator" in page.content
    assert client.get(PARTNERS).status_code == 403
    passed = session(user, second_factor=True)
    assert passed.get(reverse("dashboard", args=["alpha"])).status_code == 200
    assert passed.get(PARTNERS).status_code == 200


def test_a_token_cannot_be_minted_without_the_second_factor(strict):
    alpha, _ = strict
    user = alpha.user(Role.VENDOR_ADMIN)
    response = session(user).post(
        reverse("api_tokens"), {"name": "CRM sync", "tenant": alpha.tenant.pk}
    )
    assert response.status_code == 403
    assert "authenticator" in response.content.decode()
    assert not ApiToken.objects.filter(user=user).exists()
    totp_activate(user)
    minted = session(user, second_factor=True).post(
        reverse("api_tokens"), {"name": "CRM sync", "tenant": alpha.tenant.pk}
    )
    assert minted.status_code == 200
    assert ApiToken.objects.filter(user=user, tenant=alpha.tenant).count() == 1


def test_tokens_of_a_person_without_an_authenticator_are_refused_in_that_tenant(worlds):
    alpha, _ = worlds
    user = alpha.user(Role.VENDOR_ADMIN)
    _, key = api_token_create(user=user, tenant=alpha.tenant, name="before the rule")
    # Saved, not a queryset update: the cached memberships are dropped by the model's signals.
    alpha.tenant.require_staff_mfa = True
    alpha.tenant.save(update_fields=["require_staff_mfa"])
    client = token_client(key)
    tier = client.post(TIERS, {"name": "Copper"})
    assert tier.status_code == 403
    assert "authenticator" in tier.json()["detail"]
    invite = client.post(
        "/api/v1/t/alpha/invitations/", {"email": "boss@x.example", "role": "vendor_admin"}
    )
    assert invite.status_code == 403
    totp_activate(user)  # the person now meets the rule
    assert client.post(TIERS, {"name": "Copper"}).status_code == 201


def test_partner_people_are_not_held_to_the_staff_rule(strict):
    alpha, _ = strict
    rep = session(alpha.user(Role.PARTNER_REP))
    assert rep.get(reverse("portal_home", args=["alpha"])).status_code == 200
    assert rep.get(PARTNERS).status_code == 200
