"""Eligibility as people and programs send it: every value of the wrong type, unknown, unreadable
or too big is a 400 naming the attribute and the value (`eligibility.tiers[3]`), on the API and
on the program form, and nothing is written."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse

from incentives.eligibility import MAX_VALUE_LENGTH, MAX_VALUES
from incentives.models import Program
from partners.models import Partner
from tenancy.context import tenant_scope
from tenancy.roles import Role
from tests.conftest import client_for

URL = "/api/v1/t/alpha/programs/"


def _program_body(eligibility) -> dict:
    return {
        "name": "Hostile rule",
        "kind": "spiff",
        "starts_on": "2026-10-01",
        "ends_on": "2026-12-31",
        "budget": "100.00",
        "eligibility": eligibility,
    }


def _post_raw(client, url: str, body: str, method: str = "post"):
    """JSON text sent as is: `\\ud800` stays a lone surrogate once parsed."""
    return getattr(client, method)(url, body, content_type="application/json")


def _programs(alpha) -> int:
    with tenant_scope(alpha.tenant):
        return Program.objects.count()


BAD_RULES = [
    pytest.param({"regions": ["EMEA\x00"]}, "eligibility.regions[0]", id="nul"),
    pytest.param(
        {"territories": ["DACH", "bad\u202etext"]}, "eligibility.territories[1]", id="bidi"
    ),
    pytest.param({"tiers": [5.7]}, "eligibility.tiers[0]", id="float-tier"),
    pytest.param({"tiers": [True]}, "eligibility.tiers[0]", id="bool-tier"),
    pytest.param({"tiers": ["5"]}, "eligibility.tiers[0]", id="text-tier"),
    pytest.param({"regions": [{"name": "EMEA"}]}, "eligibility.regions[0]", id="dict-value"),
    pytest.param({"regions": [["EMEA"]]}, "eligibility.regions[0]", id="list-value"),
    pytest.param({"regions": [42]}, "eligibility.regions[0]", id="number-region"),
    pytest.param({"types": ["var", {"x": 1}]}, "eligibility.types[1]", id="dict-type"),
    pytest.param({"stages": ["new", "ancient"]}, "eligibility.stages[1]", id="unknown-choice"),
    pytest.param({"countries": ["DE", "Germany"]}, "eligibility.countries[1]", id="country"),
    pytest.param({"regions": {"EMEA": True}}, "eligibility.regions", id="dict-list"),
    pytest.param(
        {"regions": [f"R{i}" for i in range(MAX_VALUES + 1)]},
        "eligibility.regions",
        id="too-many",
    ),
    pytest.param({"regions": ["x" * (MAX_VALUE_LENGTH + 1)]}, "eligibility.regions[0]", id="long"),
    pytest.param(["types"], "eligibility", id="not-an-object"),
]


@pytest.mark.parametrize(("rule", "field"), BAD_RULES)
def test_bad_eligibility_is_a_400_naming_the_value_and_writes_nothing(alpha, rule, field):
    client = client_for(alpha.user(Role.VENDOR_ADMIN))
    before = _programs(alpha)
    response = client.post(URL, _program_body(rule), format="json")
    assert response.status_code == 400, response.content[:300]
    errors = response.json()["errors"]
    assert field in errors, errors
    assert errors[field][0]
    assert _programs(alpha) == before

    detail = f"{URL}{alpha.program.pk}/"
    program_before = client.get(detail).json()["eligibility"]
    response = client.patch(detail, {"eligibility": rule}, format="json")
    assert response.status_code == 400, response.content[:300]
    assert field in response.json()["errors"]
    assert client.get(detail).json()["eligibility"] == program_before


def test_a_lone_surrogate_is_a_400_naming_the_value(alpha):
    client = client_for(alpha.user(Role.VENDOR_ADMIN))
    body = json.dumps(_program_body({"regions": ["EMEA", "PLACEHOLDER"]}))
    body = body.replace("PLACEHOLDER", "\\ud800")
    response = _post_raw(client, URL, body)
    assert response.status_code == 400, response.content[:300]
    assert "eligibility.regions[1]" in response.json()["errors"]
    assert _programs(alpha) == 1


def test_another_tenants_tier_is_named_by_its_position(worlds):
    alpha, bravo = worlds
    client = client_for(alpha.user(Role.VENDOR_ADMIN))
    rule = {"tiers": [alpha.tier.pk, bravo.tier.pk]}
    response = client.post(URL, _program_body(rule), format="json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["eligibility.tiers[1]"]
    assert "No such tier" in response.json()["errors"]["eligibility.tiers[1]"][0]


def test_free_text_values_are_normalised_and_kept(alpha):
    client = client_for(alpha.user(Role.VENDOR_ADMIN))
    rule = {"regions": ["  EMEA ", "Cafe\u0301"], "tiers": [alpha.tier.pk], "types": []}
    response = client.post(URL, _program_body(rule), format="json")
    assert response.status_code == 201, response.content
    assert response.json()["eligibility"] == {
        "regions": ["Caf\u00e9", "EMEA"],
        "tiers": [alpha.tier.pk],
    }


def test_form_refuses_more_regions_than_a_rule_holds(worlds):
    alpha, _ = worlds
    with tenant_scope(alpha.tenant):
        Partner.objects.bulk_create(
            Partner(tenant=alpha.tenant, name=f"P{i}", region=f"R{i:03}")
            for i in range(MAX_VALUES + 1)
        )
    client = Client()
    client.force_login(alpha.user(Role.CHANNEL_MANAGER))
    url = reverse("program_create", args=["alpha"])
    data = {
        "name": "Everywhere",
        "kind": "spiff",
        "starts_on": "2026-10-01",
        "ends_on": "2026-12-31",
        "claim_window_days": "30",
        "currency": "EUR",
        "budget": "10.00",
        "enrollment_mode": "open",
        "eligibility_regions": [f"R{i:03}" for i in range(MAX_VALUES + 1)],
    }
    response = client.post(url, data)
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "eligibility_regions" in errors, errors
    assert f"At most {MAX_VALUES}" in errors["eligibility_regions"][0]
    assert _programs(alpha) == 1


def test_form_names_the_refused_value_on_its_attribute(worlds):
    alpha, _ = worlds
    from incentives.forms import ProgramForm, apply_program_errors
    from tenancy.errors import ApplicationError

    with tenant_scope(alpha.tenant):
        form = ProgramForm(data={}, tiers=[], values={})
        form.is_valid()
        apply_program_errors(
            form, ApplicationError("No such tier: 9.", field="eligibility.tiers[3]")
        )
    assert form.errors["eligibility_tiers"] == ["No such tier: 9."]
