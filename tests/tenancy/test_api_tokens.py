"""Personal API tokens: one tenant each, an optional expiry and read-only scope, the last use
recorded and shown, and every token of a person revoked when their password changes."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from tenancy.models import ApiToken
from tenancy.roles import Role
from tenancy.selectors import forget_api_tokens
from tenancy.services import api_token_create
from tests.factories.tenancy import (
    PASSWORD,
    MembershipFactory,
    UserFactory,
    pass_second_factor,
    totp_activate,
)

NEW_KEY = re.compile(r'data-testid="new-api-key">([^<]+)<')


def mint(client: Client, **fields) -> tuple[int, str | None]:
    """Create a token on the tokens page; the status and the key it shows once, if any."""
    response = client.post(reverse("api_tokens"), {"name": "CRM sync", **fields})
    found = NEW_KEY.search(response.content.decode())
    return response.status_code, found.group(1) if found else None


def api(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def test_a_token_acts_only_in_the_tenant_it_was_made_for(worlds):
    alpha, bravo = worlds
    person = alpha.user(Role.VENDOR_ADMIN)
    MembershipFactory(tenant=bravo.tenant, user=person, role=Role.VENDOR_ADMIN)
    client = Client()
    client.force_login(person)
    status, key = mint(client, tenant=alpha.tenant.pk)
    assert status == 200
    assert key
    assert api(key).get("/api/v1/t/alpha/partners/").status_code == 200
    elsewhere = api(key).get("/api/v1/t/bravo/partners/")
    assert elsewhere.status_code == 404  # as for a tenant the person is not a member of
    assert api(key).post("/api/v1/t/bravo/tiers/", {"name": "Copper"}).status_code == 404
    me = api(key).get("/api/v1/me/").json()
    assert [m["tenant"] for m in me["memberships"]] == ["alpha"]


def test_a_token_is_made_for_one_of_ones_own_tenants_only(worlds):
    alpha, bravo = worlds
    client = Client()
    client.force_login(alpha.user(Role.VENDOR_ADMIN))
    for tenant in (bravo.tenant.pk, ""):
        response = client.post(reverse("api_tokens"), {"name": "CRM sync", "tenant": tenant})
        assert response.status_code == 200
        assert "tenant" in response.context["form"].errors
    assert not ApiToken.objects.filter(user=alpha.user(Role.VENDOR_ADMIN)).exists()
    with pytest.raises(Exception, match="Choose one of your workspaces"):
        api_token_create(user=alpha.user(Role.VENDOR_ADMIN), tenant=bravo.tenant, name="x")


def test_an_expired_token_is_401_saying_it_expired(worlds):
    alpha, _ = worlds
    client = Client()
    client.force_login(alpha.user(Role.CHANNEL_MANAGER))
    tomorrow = (timezone.now() + timedelta(days=1)).strftime("%Y-%m-%d")
    status, key = mint(client, tenant=alpha.tenant.pk, expires_on=tomorrow)
    assert status == 200
    assert key
    token = ApiToken.objects.get(user=alpha.user(Role.CHANNEL_MANAGER))
    assert token.expires_at is not None
    assert api(key).get("/api/v1/t/alpha/partners/").status_code == 200
    token.expires_at = timezone.now() - timedelta(seconds=1)  # the expiry has come
    token.save(update_fields=["expires_at"])
    response = api(key).get("/api/v1/t/alpha/partners/")
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"
    assert "expired" in response.json()["detail"]


def test_an_expiry_in_the_past_is_refused_by_field(worlds):
    alpha, _ = worlds
    client = Client()
    client.force_login(alpha.user(Role.CHANNEL_MANAGER))
    response = client.post(
        reverse("api_tokens"),
        {"name": "CRM sync", "tenant": alpha.tenant.pk, "expires_on": "2020-01-01"},
    )
    assert "expires_on" in response.context["form"].errors
    assert not ApiToken.objects.filter(user=alpha.user(Role.CHANNEL_MANAGER)).exists()


def test_a_read_only_token_reads_and_is_refused_any_change(worlds):
    alpha, _ = worlds
    client = Client()
    client.force_login(alpha.user(Role.VENDOR_ADMIN))
    status, key = mint(client, tenant=alpha.tenant.pk, read_only="on")
    assert status == 200
    assert key
    reader = api(key)
    assert reader.get("/api/v1/t/alpha/tiers/").status_code == 200
    created = reader.post("/api/v1/t/alpha/tiers/", {"name": "Copper"})
    assert created.status_code == 403
    assert "read-only" in created.json()["detail"]
    assert reader.patch(f"/api/v1/t/alpha/tiers/{alpha.tier.pk}/", {"name": "X"}).status_code == 403
    assert reader.delete(f"/api/v1/t/alpha/tiers/{alpha.tier.pk}/").status_code == 403
    invite = reader.post(
        "/api/v1/t/alpha/invitations/", {"email": "new@x.example", "role": "vendor_admin"}
    )
    assert invite.status_code == 403


def test_the_last_use_is_written_at_most_once_a_minute_and_shown(worlds):
    alpha, _ = worlds
    person = alpha.user(Role.CHANNEL_MANAGER)
    token, key = api_token_create(user=person, tenant=alpha.tenant, name="CRM sync")
    api(key).get("/api/v1/t/alpha/partners/")
    token.refresh_from_db()
    first = token.last_used_at
    assert first is not None
    api(key).get("/api/v1/t/alpha/partners/")
    token.refresh_from_db()
    assert token.last_used_at == first  # no write for a use within the minute
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=first - timedelta(minutes=2))
    forget_api_tokens([token.key_hash])  # as when the cached copy expires, a minute on
    api(key).get("/api/v1/t/alpha/partners/")
    token.refresh_from_db()
    assert token.last_used_at > first - timedelta(minutes=2)
    client = Client()
    client.force_login(person)
    page = client.get(reverse("api_tokens")).content.decode()
    assert "Alpha Corp" in page
    assert timezone.localtime(token.last_used_at).strftime("%-d %b %Y %H:%M") in page


def _assert_revoked(key: str) -> None:
    response = api(key).get("/api/v1/t/alpha/partners/")
    assert response.status_code == 401, response.content


def test_changing_the_password_revokes_every_token(worlds):
    alpha, _ = worlds
    person = alpha.user(Role.CHANNEL_MANAGER)
    _, key = api_token_create(user=person, tenant=alpha.tenant, name="CRM sync")
    client = Client()
    client.force_login(person)
    response = client.post(
        reverse("account_change_password"),
        {
            "oldpassword": PASSWORD,
            "password1": "a-new-long-passphrase-8",
            "password2": "a-new-long-passphrase-8",
        },
    )
    assert response.status_code == 302
    _assert_revoked(key)


def test_resetting_the_password_revokes_every_token(worlds):
    alpha, _ = worlds
    person = alpha.user(Role.CHANNEL_MANAGER)
    _, key = api_token_create(user=person, tenant=alpha.tenant, name="CRM sync")
    client = Client()
    client.post(reverse("account_reset_password"), {"email": person.email})
    link = re.search(r"http://\S+/accounts/password/reset/key/\S+/", mail.outbox[-1].body).group(0)
    form = client.get("/" + link.split("://", 1)[1].split("/", 1)[1], follow=True)
    done = client.post(
        form.redirect_chain[-1][0],
        {"password1": "a-new-long-passphrase-8", "password2": "a-new-long-passphrase-8"},
    )
    assert done.status_code == 302
    _assert_revoked(key)


@pytest.mark.django_db(transaction=True, databases=["default", "unscoped"])
def test_a_password_set_in_the_admin_revokes_every_token(worlds):
    alpha, _ = worlds
    person = alpha.user(Role.CHANNEL_MANAGER)
    _, key = api_token_create(user=person, tenant=alpha.tenant, name="CRM sync")
    admin = UserFactory(email="ops@uplift.example", is_staff=True, is_superuser=True)
    totp_activate(admin)
    client = Client()
    client.force_login(admin)
    pass_second_factor(client)
    response = client.post(
        f"/admin/tenancy/user/{person.pk}/password/",
        {"password1": "a-new-long-passphrase-8", "password2": "a-new-long-passphrase-8"},
    )
    assert response.status_code == 302, response.content[:2000]
    _assert_revoked(key)


# A token is read from the cache after its first use (`selectors.live_token`): each change
# below follows a use, so the cached copy exists when the change happens.


def _used_token(worlds):
    alpha, _ = worlds
    person = alpha.user(Role.CHANNEL_MANAGER)
    token, key = api_token_create(user=person, tenant=alpha.tenant, name="CRM sync")
    assert api(key).get("/api/v1/t/alpha/partners/").status_code == 200
    assert api(key).get("/api/v1/t/alpha/partners/").status_code == 200  # from the cache
    return person, token, key


def test_a_token_revoked_on_the_tokens_page_stops_at_once(worlds):
    person, token, key = _used_token(worlds)
    client = Client()
    client.force_login(person)
    response = client.post(reverse("api_token_revoke", args=[token.pk]))
    assert response.status_code == 302
    _assert_revoked(key)


def test_a_password_change_after_a_use_stops_the_token_at_once(worlds):
    person, _, key = _used_token(worlds)
    person.set_password("a-new-long-passphrase-8")
    person.save()
    _assert_revoked(key)


def test_a_deactivated_person_s_token_stops_at_once(worlds):
    person, _, key = _used_token(worlds)
    person.is_active = False
    person.save(update_fields=["is_active"])
    _assert_revoked(key)


def test_a_token_revoked_in_the_admin_stops_at_once(worlds):
    _, token, key = _used_token(worlds)
    token.revoked_at = timezone.now()
    token.save()
    _assert_revoked(key)


def test_a_deleted_token_stops_at_once(worlds):
    _, token, key = _used_token(worlds)
    token.delete()
    _assert_revoked(key)


def test_the_cached_token_holds_no_password_hash(worlds):
    import pickle

    from django.core.cache import cache

    from tenancy.selectors import _token_key

    person, token, _ = _used_token(worlds)
    cached = cache.get(_token_key(token.key_hash))
    assert cached is not None
    assert cached.pk == token.pk
    assert "password" not in cached.user.__dict__  # deferred: never pickled into Redis
    assert person.password.encode() not in pickle.dumps(cached)
    # The user behind a cached token can still be changed without losing their password.
    cached.user.full_name = "Renamed Through The API"
    cached.user.save()
    person.refresh_from_db()
    assert person.full_name == "Renamed Through The API"
    assert person.check_password(PASSWORD)
