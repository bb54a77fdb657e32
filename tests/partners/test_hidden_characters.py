"""Partner names and CRM ids through every way in: NFC and NFD forms of one id are one partner,
and a name that hides or reorders text is refused on its field."""

from __future__ import annotations

import unicodedata

import pytest

from partners import services
from partners.models import Partner
from tenancy.context import tenant_scope
from tenancy.errors import ApplicationError
from tenancy.roles import Role
from tests.conftest import client_for
from tests.partners.test_api import PARTNERS
from tests.partners.test_csv_import import import_csv, partners_by_crm_id
from tests.partners.test_pages import _client, _form_data, _url

CRM_ID = "Z\u00fcrich-7"  # "Zürich-7", composed
CRM_ID_NFD = unicodedata.normalize("NFD", CRM_ID)


def test_nfc_and_nfd_forms_of_one_crm_id_are_one_partner(worlds):
    alpha, _ = worlds
    assert CRM_ID_NFD != CRM_ID
    with tenant_scope(alpha.tenant):
        first = services.partner_create(
            actor=alpha.member(Role.VENDOR_ADMIN), name="Zurich One", external_id=CRM_ID_NFD
        )
        assert first.external_id == CRM_ID
        with pytest.raises(ApplicationError) as taken:
            services.partner_create(
                actor=alpha.member(Role.VENDOR_ADMIN), name="Zurich Two", external_id=CRM_ID
            )
        assert list(taken.value.errors) == ["external_id"]
        assert Partner.objects.filter(external_id=CRM_ID).count() == 1


def test_an_import_matches_the_nfd_form_of_a_crm_id_to_its_partner(worlds):
    alpha, _ = worlds
    first = import_csv(alpha, f"external_id,name\n{CRM_ID},Zurich One\n")
    second = import_csv(alpha, f"external_id,name\n{CRM_ID_NFD},Zurich Renamed\n")
    assert (first.created_count, second.created_count, second.updated_count) == (1, 0, 1)
    assert {k: p.name for k, p in partners_by_crm_id(alpha).items()} == {CRM_ID: "Zurich Renamed"}


@pytest.mark.parametrize("char", ["\u202e", "\u200b"])
def test_api_refuses_a_hidden_character_naming_the_field(worlds, char):
    alpha, _ = worlds
    client = client_for(alpha.user(Role.VENDOR_ADMIN))
    response = client.post(PARTNERS, {"name": f"Acme{char}Corp", "region": "EMEA"})
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["name"]
    assert f"U+{ord(char):04X}" in response.json()["errors"]["name"][0]
    response = client.post(PARTNERS, {"name": "Acme", "territory": f"DA{char}CH"})
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["territory"]


@pytest.mark.parametrize("char", ["\u202e", "\u200b"])
def test_page_shows_a_hidden_character_as_a_form_error(worlds, char):
    alpha, _ = worlds
    client = _client(alpha.user(Role.VENDOR_ADMIN))
    response = client.post(_url("partner_create"), _form_data(name=f"Acme{char}Corp"))
    assert response.status_code == 200
    assert f"U+{ord(char):04X}" in response.context["form"].errors["name"][0]
    with tenant_scope(alpha.tenant):
        assert not Partner.objects.filter(name__startswith="Acme").exists()


def test_a_csv_row_with_a_hidden_character_is_reported_and_good_rows_are_kept(worlds):
    alpha, _ = worlds
    job = import_csv(
        alpha,
        "external_id,name,region\n"
        "H-1,Good One,EMEA\n"
        "H-2,Evil\u202eCorp,EMEA\n"
        "H-3,Good Three,EM\u200bEA\n"
        "H-4,Good Four,APAC\n",
    )
    assert (job.created_count, job.error_count) == (2, 2)
    assert [(e["row"], e["column"]) for e in job.errors] == [(3, "name"), (4, "region")]
    assert set(partners_by_crm_id(alpha)) >= {"H-1", "H-4"}
    assert not {"H-2", "H-3"} & set(partners_by_crm_id(alpha))
