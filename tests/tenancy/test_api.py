"""The REST API shell: token auth, one error body, tenant routing, fixed query counts."""

from __future__ import annotations

from decimal import Decimal

import pytest
from rest_framework import serializers
from rest_framework.test import APIClient

from tenancy.context import tenant_scope
from tenancy.models import ApiToken
from tenancy.roles import Role
from tenancy.services import api_token_create
from tests.conftest import client_for
from tests.factories.partners import PartnerFactory
from tests.factories.tenancy import MembershipFactory


def test_token_authenticates_and_is_stored_hashed(worlds):
    alpha, _ = worlds
    token, key = api_token_create(
        user=alpha.user(Role.CHANNEL_MANAGER), tenant=alpha.tenant, name="CRM sync"
    )
    assert key.startswith("upl_")
    assert key not in token.key_hash
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    response = client.get("/api/v1/t/alpha/partners/")
    assert response.status_code == 200
    assert {row["name"] for row in response.json()["results"]} == {
        alpha.partner.name,
        alpha.other_partner.name,
    }
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_revoked_or_wrong_token_is_401_with_the_error_body(worlds):
    alpha, _ = worlds
    token, key = api_token_create(
        user=alpha.user(Role.CHANNEL_MANAGER), tenant=alpha.tenant, name="old"
    )
    ApiToken.objects.filter(pk=token.pk).update(revoked_at="2026-01-01T00:00:00Z")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    response = client.get("/api/v1/t/alpha/partners/")
    assert response.status_code == 401
    assert response.json() == {
        "detail": "Invalid or revoked token.",
        "code": "authentication_failed",
        "errors": {},
    }


def test_unauthenticated_is_401(worlds):
    response = APIClient().get("/api/v1/t/alpha/partners/")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_validation_error_names_each_field(worlds):
    alpha, _ = worlds
    client = client_for(alpha.user(Role.VENDOR_ADMIN))
    response = client.post("/api/v1/t/alpha/invitations/", {"email": "nope", "role": "pope"})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert set(body["errors"]) == {"email", "role"}
    assert body["detail"].startswith("email: ")


def test_service_error_names_the_field_and_writes_nothing(worlds):
    alpha, _ = worlds
    client = client_for(alpha.user(Role.VENDOR_ADMIN))
    response = client.post(
        "/api/v1/t/alpha/invitations/", {"email": "rep9@x.example", "role": "partner_rep"}
    )
    assert response.status_code == 400
    assert response.json()["errors"] == {"partner": ["A partner role needs the partner company."]}


def test_another_tenants_partner_id_in_a_body_is_does_not_exist(worlds):
    alpha, bravo = worlds
    client = client_for(bravo.user(Role.VENDOR_ADMIN))
    response = client.post(
        "/api/v1/t/bravo/invitations/",
        {"email": "rep9@x.example", "role": "partner_rep", "partner": alpha.partner.pk},
    )
    assert response.status_code == 400
    assert "does not exist" in response.json()["errors"]["partner"][0]


def test_role_without_permission_is_403(worlds):
    alpha, _ = worlds
    client = client_for(alpha.user(Role.PARTNER_REP))
    response = client.post("/api/v1/t/alpha/partners/", {"name": "Mine now"})
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


def test_invitation_create_and_revoke_through_the_api(worlds):
    alpha, _ = worlds
    client = client_for(alpha.user(Role.CHANNEL_MANAGER))
    created = client.post(
        "/api/v1/t/alpha/invitations/",
        {"email": "api@x.example", "role": "partner_rep", "partner": alpha.partner.pk},
    )
    assert created.status_code == 201, created.json()
    assert created.json()["status"] == "pending"
    revoked = client.delete(f"/api/v1/t/alpha/invitations/{created.json()['id']}/")
    assert revoked.json()["status"] == "revoked"


def test_me_lists_the_callers_memberships_only(worlds):
    alpha, bravo = worlds
    rep = bravo.user(Role.PARTNER_REP)
    MembershipFactory(tenant=alpha.tenant, user=rep, role="partner_rep", partner=alpha.partner)
    response = client_for(rep).get("/api/v1/me/")
    assert sorted(m["tenant"] for m in response.json()["memberships"]) == ["alpha", "bravo"]
    # Each partner name is read in its own tenant.
    assert sorted(m["partner_name"] for m in response.json()["memberships"]) == [
        "Alpha Partner Ltd",
        "Bravo Partner Ltd",
    ]


def test_decimals_render_as_strings():
    class Amount(serializers.Serializer):
        amount = serializers.DecimalField(max_digits=12, decimal_places=2)

    assert Amount({"amount": Decimal("1234.50")}).data == {"amount": "1234.50"}


def test_schema_is_served_and_valid(client):
    response = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert "/api/v1/t/{tenant_slug}/partners/{partner_id}/" in paths
    assert client.get("/api/v1/docs/").status_code == 200


# Inside the test's transaction each of the two scopes of a request (the caller's memberships,
# then the tenant) costs a savepoint, a bind, a restore and a release: 8 queries; then the
# membership lookup, the count and the page. The same 11 at any size.
API_LIST_QUERIES = 11


@pytest.mark.parametrize("size", [5, 1000])
def test_partner_list_query_count_is_fixed(worlds, django_assert_max_num_queries, size):
    alpha, _ = worlds
    with tenant_scope(alpha.tenant):
        PartnerFactory.create_batch(size, tenant=alpha.tenant)
    client = client_for(alpha.user(Role.CHANNEL_MANAGER))
    with django_assert_max_num_queries(API_LIST_QUERIES):
        response = client.get("/api/v1/t/alpha/partners/?page_size=100")
    assert response.status_code == 200
    assert response.json()["count"] == size + 2


@pytest.mark.parametrize("size", [5, 200])
def test_member_list_query_count_is_fixed(worlds, django_assert_max_num_queries, size):
    alpha, _ = worlds
    MembershipFactory.create_batch(size, tenant=alpha.tenant, role="channel_manager")
    client = client_for(alpha.user(Role.VENDOR_ADMIN))
    with django_assert_max_num_queries(API_LIST_QUERIES):
        response = client.get("/api/v1/t/alpha/members/?page_size=500")
    assert response.json()["count"] == size + len(Role.values)
