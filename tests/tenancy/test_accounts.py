"""Accounts through django-allauth: self-serve vendor sign-up, verification, rate limits, TOTP."""

from __future__ import annotations

import re
import uuid

import pytest
from allauth.mfa.totp.internal.auth import (
    TOTP,
    format_hotp_value,
    generate_totp_secret,
    hotp_value,
    yield_hotp_counters_from_time,
)
from django.core import mail
from django.test import Client
from django.urls import reverse

from tenancy.context import tenant_scope
from tenancy.models import Membership, Tenant, User
from tenancy.roles import Role
from tests.factories.tenancy import PASSWORD


def _signup(client: Client, email: str, company: str = "Globex Devices"):
    return client.post(
        reverse("account_signup"),
        {
            "email": email,
            "full_name": "Dana Vendor",
            "company_name": company,
            "password1": "a-very-long-passphrase-7",
            "password2": "a-very-long-passphrase-7",
        },
    )


def test_signup_creates_a_vendor_tenant_with_its_admin(db):
    client = Client()
    response = _signup(client, "dana@globex.example")
    assert response.status_code == 302
    user = User.objects.get(email="dana@globex.example")
    tenant = Tenant.objects.get(name="Globex Devices")
    assert tenant.slug == "globex-devices"
    with tenant_scope(tenant):
        membership = Membership.objects.get(user=user)
    assert membership.role == Role.VENDOR_ADMIN
    assert user.full_name == "Dana Vendor"


def test_signup_requires_email_verification_before_login(db):
    client = Client()
    _signup(client, "verify@globex.example")
    assert client.get(reverse("home")).context["user"].is_anonymous
    assert "Confirm" in mail.outbox[-1].subject or "confirm" in mail.outbox[-1].body.lower()
    link = re.search(r"http://\S+/accounts/confirm-email/\S+/", mail.outbox[-1].body).group(0)
    path = link.split("://", 1)[1].split("/", 1)[1]
    response = client.post("/" + path)
    assert response.status_code == 302
    dashboard = client.get(response["Location"], follow=True)
    assert dashboard.status_code == 200
    assert b"Globex Devices" in dashboard.content


def test_signup_without_company_names_the_field(db):
    response = _signup(Client(), "nocompany@globex.example", company="")
    assert response.status_code == 200
    assert "company_name" in response.context["form"].errors
    assert not User.objects.filter(email="nocompany@globex.example").exists()


def test_failed_logins_are_rate_limited_through_redis(worlds):
    from django.core.cache import caches
    from django.core.cache.backends.redis import RedisCache

    assert isinstance(caches["default"], RedisCache)
    alpha, _ = worlds
    email = alpha.user(Role.CHANNEL_MANAGER).email
    client = Client()
    limited = [
        b"Too many failed login attempts"
        in client.post(reverse("account_login"), {"login": email, "password": "wrong"}).content
        for _ in range(6)
    ]
    assert limited == [False] * 5 + [True]
    # Counted per account in the shared cache: the right password from a fresh client (another
    # process, as far as the counter knows) is refused too, and no session is opened.
    fresh = Client()
    response = fresh.post(reverse("account_login"), {"login": email, "password": PASSWORD})
    assert b"Too many failed login attempts" in response.content
    assert fresh.get(reverse("home")).context["user"].is_anonymous


@pytest.fixture
def totp_user(worlds):
    alpha, _ = worlds
    user = alpha.user(Role.VENDOR_ADMIN)
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    return user, secret


def _current_code(secret: str) -> str:
    counter = next(yield_hotp_counters_from_time())
    return format_hotp_value(hotp_value(secret, counter))


def test_staff_with_totp_needs_the_code_to_sign_in(totp_user):
    user, secret = totp_user
    client = Client()
    response = client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})
    assert response["Location"] == reverse("mfa_authenticate")
    assert client.get(reverse("dashboard", args=["alpha"])).status_code == 302  # not in yet
    wrong = client.post(reverse("mfa_authenticate"), {"code": "000000"})
    assert wrong.status_code == 200
    done = client.post(reverse("mfa_authenticate"), {"code": _current_code(secret)})
    assert done.status_code == 302
    assert client.get(reverse("dashboard", args=["alpha"])).status_code == 200


def test_tenant_can_require_staff_to_set_up_totp(worlds):
    alpha, _ = worlds
    Tenant.objects.filter(pk=alpha.tenant.pk).update(require_staff_mfa=True)
    client = Client()
    client.force_login(alpha.user(Role.CHANNEL_MANAGER))
    response = client.get(reverse("dashboard", args=["alpha"]))
    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_activate_totp")
    rep = Client()
    rep.force_login(alpha.user(Role.PARTNER_REP))  # partner people are not held to it
    assert rep.get(reverse("portal_home", args=["alpha"])).status_code == 200


def test_unique_email_sign_up_twice_is_refused(db):
    email = f"{uuid.uuid4().hex[:8]}@globex.example"
    _signup(Client(), email)
    _signup(Client(), email, company="Second Co")
    assert User.objects.filter(email=email).count() == 1
    assert not Tenant.objects.filter(name="Second Co").exists()
