"""A signed-in session's person comes from the cache after the first request, and a change of
the person (deactivation, password) applies to every session at once."""

from __future__ import annotations

from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tenancy import selectors
from tenancy.roles import Role
from tests.factories.tenancy import PASSWORD

DASHBOARD = "/t/alpha/"


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_signed_in_page_reads_no_user_row_once_the_person_is_cached(alpha):
    client = signed_in(alpha.user(Role.CHANNEL_MANAGER))
    assert client.get(DASHBOARD).status_code == 200
    with CaptureQueriesContext(connection) as queries:
        assert client.get(DASHBOARD).status_code == 200
    assert not [q["sql"] for q in queries if 'FROM "tenancy_user"' in q["sql"]]


def test_the_cached_person_carries_the_session_hash_not_the_password_hash(alpha):
    person = alpha.user(Role.CHANNEL_MANAGER)
    expected = person.get_session_auth_hash()
    selectors.session_user(person.pk)
    kept = cache.get(selectors._user_key(person.pk))
    assert "password" not in kept.__dict__
    assert kept.get_session_auth_hash() == expected


def test_a_deactivated_person_is_signed_out_at_once(alpha):
    person = alpha.user(Role.CHANNEL_MANAGER)
    client = signed_in(person)
    assert client.get(DASHBOARD).status_code == 200
    person.is_active = False
    person.save()
    assert client.get(DASHBOARD).status_code == 302


def test_a_password_changed_elsewhere_signs_out_every_other_session(alpha):
    person = alpha.user(Role.CHANNEL_MANAGER)
    other, changer = signed_in(person), signed_in(person)
    assert other.get(DASHBOARD).status_code == 200
    response = changer.post(
        reverse("account_change_password"),
        {
            "oldpassword": PASSWORD,
            "password1": "n3w-long-passphrase",
            "password2": "n3w-long-passphrase",
        },
    )
    assert response.status_code == 302
    assert changer.get(DASHBOARD).status_code == 200  # the session that changed it stays
    assert other.get(DASHBOARD).status_code == 302
