"""The one rule for names and identifiers people type: NFC, no surrounding whitespace, and no
character that hides or reorders text."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from incentives.services.programs import program_create
from partners.services import tier_create
from tenancy.context import tenant_scope
from tenancy.errors import ApplicationError
from tenancy.models import User
from tenancy.roles import Role
from tenancy.services import api_token_create, invitation_create, tenant_create, tenant_update
from tenancy.text import clean_text
from tests.incentives.test_programs import BASE
from tests.tenancy.test_invitations import _mailed_link

HIDDEN = [
    "\u202e",  # right-to-left override
    "\u200b",  # zero-width space
    "\u200f",  # right-to-left mark
    "\u2066",  # left-to-right isolate
    "\ufeff",  # zero-width no-break space (byte order mark)
    "\x00",
    "\x1b",
    "\ud800",  # a lone surrogate
]


def test_text_is_nfc_and_stripped():
    assert clean_text("  Cafe\u0301 Gmbh \n", field="name") == "Caf\u00e9 Gmbh"
    assert clean_text(None, field="name") == ""
    assert clean_text("\u05e9\u05dc\u05d5\u05dd", field="name") == "\u05e9\u05dc\u05d5\u05dd"


@pytest.mark.parametrize("char", HIDDEN)
def test_hidden_characters_are_refused_naming_the_field(char):
    with pytest.raises(ApplicationError) as error:
        clean_text(f"Acme{char}Corp", field="name", label="The name")
    assert list(error.value.errors) == ["name"]
    assert f"U+{ord(char):04X}" in error.value.message


def test_tier_program_token_and_company_names_follow_the_rule(worlds):
    alpha, _ = worlds
    with tenant_scope(alpha.tenant):
        with pytest.raises(ApplicationError) as tier:
            tier_create(actor=alpha.member(Role.VENDOR_ADMIN), name="Gold\u202e")
        with pytest.raises(ApplicationError) as program:
            program_create(
                actor=alpha.member(Role.CHANNEL_MANAGER), **{**BASE, "name": "Q4\u200bSPIFF"}
            )
        with pytest.raises(ApplicationError) as settings:
            tenant_update(actor=alpha.member(Role.VENDOR_ADMIN), name="Alpha\u2067")
    with pytest.raises(ApplicationError) as token:
        api_token_create(
            user=alpha.user(Role.VENDOR_ADMIN), tenant=alpha.tenant, name="CRM\u200bsync"
        )
    with pytest.raises(ApplicationError) as company:
        tenant_create(name="Evil\u202eCorp", owner=alpha.user(Role.VENDOR_ADMIN))
    assert [list(e.value.errors) for e in (tier, program, settings, token, company)] == [
        ["name"],
        ["name"],
        ["name"],
        ["name"],
        ["company_name"],
    ]


def test_token_page_shows_the_refusal_on_the_name_field(worlds):
    alpha, _ = worlds
    client = Client()
    client.force_login(alpha.user(Role.VENDOR_ADMIN))
    response = client.post(
        reverse("api_tokens"), {"name": "CRM\u202esync", "tenant": alpha.tenant.pk}
    )
    assert response.status_code == 200
    assert "U+202E" in response.context["form"].errors["name"][0]


def test_signup_refuses_a_hidden_character_in_the_company_or_person_name(db):
    for field in ("company_name", "full_name"):
        data = {
            "email": f"{field}@globex.example",
            "full_name": "Dana Vendor",
            "company_name": "Globex Devices",
            "password1": "a-very-long-passphrase-7",
            "password2": "a-very-long-passphrase-7",
            field: "Globex\u202eDevices",
        }
        response = Client().post(reverse("account_signup"), data)
        assert response.status_code == 200
        assert "U+202E" in response.context["form"].errors[field][0]
        assert not User.objects.filter(email=f"{field}@globex.example").exists()


def test_invitation_link_refuses_a_hidden_character_in_the_name(worlds):
    alpha, _ = worlds
    with tenant_scope(alpha.tenant):
        invitation = invitation_create(
            actor=alpha.member(Role.VENDOR_ADMIN), email="zw@x.example", role="channel_manager"
        )
    path = _mailed_link(alpha, invitation)
    response = Client().post(path, {"full_name": "Z\u200bW", "password": "a-long-passphrase-42"})
    assert response.status_code == 200
    assert "U+200B" in response.context["form"].errors["full_name"][0]
    assert not User.objects.filter(email="zw@x.example").exists()
