"""The isolation sweep of the routes outside the tenant's own: the platform admin and the
account pages, called by every role of tenant B with tenant A's ids, people and keys.

Every route under `admin/` sends B's people to the admin login, whatever id of A it names; every
route under `accounts/` answers A's person exactly as it answers a person who does not exist, and
changes nothing of A.
"""

from __future__ import annotations

import pytest
from allauth.account.models import EmailAddress
from django import forms
from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.test import Client
from django.utils.http import int_to_base36

from tenancy.models import Tenant, User
from tenancy.roles import Role
from tests.conftest import World
from tests.isolation import answers
from tests.test_isolation import (
    ADMIN_PREFIX,
    CSRF_VALUE,
    MISSING_ID,
    Route,
    all_routes,
    alpha_markers,
    body_of,
    call,
    snapshot,
)


def _admin_values(route: Route, alpha: World, a_ids: dict) -> dict:
    values: dict = {"app_label": "partners", "url": f"partners/partner/{alpha.partner.pk}/x/"}
    parts = route.pattern.split("/")
    model = None
    if len(parts) > 3 and parts[1] not in ("r", "login", "logout"):
        try:
            model = apps.get_model(parts[1], parts[2])
        except LookupError:
            model = None
    if model is Tenant:
        values["object_id"] = alpha.tenant.pk
    elif model is not None and model in a_ids:
        values["object_id"] = a_ids[model]
    else:
        values["object_id"] = a_ids[User]
    values["id"] = a_ids[User]
    values["content_type_id"] = ContentType.objects.get_for_model(type(alpha.partner)).pk
    if "content_type_id" in route.kwargs:
        values["object_id"] = alpha.partner.pk
    return values


@pytest.mark.parametrize("role", Role.values)
def test_admin_sends_tenant_b_people_to_the_login_with_a_ids(worlds, role):
    alpha, bravo = worlds
    before = snapshot(alpha.tenant)
    a_ids = answers.first_ids(alpha.tenant)
    markers = alpha_markers(alpha)
    client = Client()
    client.force_login(bravo.user(role))
    exercised = 0
    for route in all_routes():
        if not route.pattern.startswith(ADMIN_PREFIX):
            continue
        url = route.url(
            **{k: v for k, v in _admin_values(route, alpha, a_ids).items() if k in route.kwargs}
        )
        for method in ("GET", "POST"):
            response = call(
                client, method, url, {"name": "Changed by B", "tenant": bravo.tenant.pk}
            )
            body = body_of(response)
            assert [m for m in markers if m in body] == [], (method, url)
            if route.pattern == "admin/login/":
                assert response.status_code == 403, (method, url)
                assert b"not a platform admin" in response.content
            else:
                # The admin's logout sends a non-staff caller to the admin index, which then
                # asks for a staff login; every other page asks for it at once.
                login = "/admin/" if route.pattern == "admin/logout/" else "/admin/login/"
                assert response.status_code == 302, (method, url, response.status_code)
                assert response["Location"].startswith(login), (method, url)
            exercised += 1
    assert exercised > 100
    assert snapshot(alpha.tenant) == before


def _account_values(route: Route, person: User | None) -> dict:
    """URL keywords of an allauth route for `person` (None: a person who does not exist): the
    user id in base 36 and an email-confirmation key that names the person's address."""
    pk = person.pk if person else MISSING_ID
    values = {"uidb36": int_to_base36(pk), "key": f"set-password-{pk}"}
    if "confirm-email" in route.pattern:
        address = EmailAddress.objects.filter(user=person).first() if person else None
        values["key"] = str(address.pk if address else pk)
    return values


def _account_body(route: Route, email: str) -> dict:
    """The route's form with `email` in every address field, and the email page's actions."""
    form_class = getattr(route.view_class, "form_class", None)
    body = {"action_remove": "", "action_primary": "", "action_send": ""}
    for name, form_field in getattr(form_class, "base_fields", {}).items():
        if isinstance(form_field, forms.EmailField) or name in ("email", "login"):
            body[name] = email
    body.setdefault("email", email)
    return body


@pytest.mark.parametrize("role", Role.values)
def test_accounts_with_a_people_change_and_reveal_nothing_of_a(worlds, role, settings):
    settings.ACCOUNT_RATE_LIMITS = False  # two calls of a pair must meet the same limits
    alpha, bravo = worlds
    a_person = alpha.user(Role.VENDOR_ADMIN)
    assert EmailAddress.objects.filter(user=a_person).exists()  # its key is tried below
    before = snapshot(alpha.tenant)
    markers = alpha_markers(alpha)
    exercised = 0
    client = None
    for route in all_routes():
        if not route.pattern.startswith("accounts/") or route.view_class is None:
            continue
        for method in route.methods():
            replies = []
            for person, email in ((a_person, a_person.email), (None, "nobody@missing.example")):
                if client is None:
                    client = Client()
                    client.force_login(bravo.user(role))
                url = route.url(
                    **{k: v for k, v in _account_values(route, person).items() if k in route.kwargs}
                )
                response = call(client, method, url, _account_body(route, email))
                body = body_of(response).replace(email, "{email}")
                assert [m for m in markers if m in body] == [], (method, route.pattern)
                replies.append(_account_answer(response, body, url, email))
                if method != "GET":
                    client = None  # signed in afresh: a logout or password post ends the session
            assert replies[0] == replies[1], (method, route.pattern)
            exercised += 1
    assert exercised > 20
    assert snapshot(alpha.tenant) == before


def _account_answer(response, body: str, url: str, email: str) -> tuple:
    """Status, redirect and page, with the URL and address it was sent written alike."""
    text = CSRF_VALUE.sub(r"\1-", body).replace(url, "{url}")
    location = response.get("Location", "").replace(url, "{url}").replace(email, "{email}")
    return response.status_code, location, text
