"""Partner CSV export: the partner list's filters, the import's columns, formula-looking cells
neutralised, streamed, and a file that re-imports as a no-op."""

from __future__ import annotations

import csv
import io

import pytest
from django.test import Client
from django.urls import reverse

from partners import csv_format
from partners.models import Partner
from tenancy.context import tenant_scope
from tenancy.models import AuditEvent
from tenancy.roles import Role
from tests.factories.partners import PartnerFactory, TierFactory
from tests.partners.test_csv_import import import_csv


def _client(world, role: str = Role.CHANNEL_MANAGER) -> Client:
    client = Client()
    client.force_login(world.user(role))
    return client


def export(
    world, query: str = "", *, role: str = Role.CHANNEL_MANAGER, client: Client | None = None
) -> tuple[object, str]:
    client = client or _client(world, role)
    response = client.get(reverse("partner_export", args=[world.tenant.slug]) + query)
    body = b"".join(response.streaming_content).decode("utf-8") if response.streaming else ""
    return response, body


def table(body: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body.removeprefix("\ufeff"))))


def test_export_is_an_attachment_in_the_import_columns(worlds):
    alpha, _ = worlds
    response, body = export(alpha)
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="partners-alpha-')
    assert body.startswith("\ufeff")  # spreadsheet programs read the file as UTF-8
    assert body.removeprefix("\ufeff").splitlines()[0] == ",".join(csv_format.COLUMNS)
    names = {row["name"] for row in table(body)}
    assert names == {alpha.partner.name, alpha.other_partner.name}


def test_formula_looking_cells_are_neutralised(worlds):
    alpha, _ = worlds
    PartnerFactory(
        tenant=alpha.tenant,
        name='=HYPERLINK("http://evil.example","Click")',
        external_id="@SUM(A1:A9)",
        region="+1",
        territory="-2",
        country="DE",
    )
    _, body = export(alpha, "?country=DE")
    [row] = table(body)
    assert row["name"] == '\'=HYPERLINK("http://evil.example","Click")'
    assert row["external_id"] == "'@SUM(A1:A9)"
    assert row["region"] == "'+1"
    assert row["territory"] == "'-2"
    assert row["country"] == "DE"


@pytest.mark.parametrize(
    ("value", "exported"),
    [
        ("=1+2", "'=1+2"),
        ("\tTabbed", "'\tTabbed"),
        ("\rReturn", "'\rReturn"),
        ("'=already", "''=already"),
        ("O'Brien", "O'Brien"),
        ("a=b", "a=b"),
        ("", ""),
    ],
)
def test_neutralising_is_undone_exactly_on_import(value, exported):
    assert csv_format._neutralised(value) == exported
    assert csv_format._unneutralised(exported) == value


def test_export_uses_the_partner_list_filters(worlds):
    alpha, _ = worlds
    silver = TierFactory(tenant=alpha.tenant, name="Silver", rank=2)
    cam = alpha.member(Role.CHANNEL_MANAGER)
    PartnerFactory(tenant=alpha.tenant, name="VAR Silver", type="var", tier=silver, region="EMEA")
    PartnerFactory(tenant=alpha.tenant, name="VAR Mine", type="var", channel_manager=cam)
    PartnerFactory(tenant=alpha.tenant, name="MSP Silver", type="msp", tier=silver)

    def names(query: str) -> list[str]:
        return [row["name"] for row in table(export(alpha, query)[1])]

    assert names("?type=var") == ["VAR Mine", "VAR Silver"]
    assert names(f"?tier={silver.pk}&sort=-name") == ["VAR Silver", "MSP Silver"]
    assert names("?type=var&region=EMEA") == ["VAR Silver"]
    assert names("?mine=1") == ["VAR Mine"]
    assert names("?q=msp") == ["MSP Silver"]


def test_export_re_imports_as_a_no_op(worlds):
    alpha, _ = worlds
    cam = alpha.member(Role.CHANNEL_MANAGER)
    with tenant_scope(alpha.tenant):
        Partner.objects.filter(pk=alpha.partner.pk).update(external_id="CRM-A")
        Partner.objects.filter(pk=alpha.other_partner.pk).update(external_id="CRM-B")
    PartnerFactory(
        tenant=alpha.tenant,
        external_id="CRM-C",
        name='-Full, "Quoted" Partner',
        type="distributor",
        tier=alpha.tier,
        region="=EMEA",
        territory="@Nordics",
        country="SE",
        stage="established",
        segment="deceiver",
        status="inactive",
        channel_manager=cam,
    )
    _, body = export(alpha)
    with tenant_scope(alpha.tenant):
        before = {p.pk: (p.updated_at, p.name, p.region) for p in Partner.objects.all()}
        events = AuditEvent.objects.count()

    job = import_csv(alpha, body)

    assert (job.created_count, job.updated_count, job.error_count) == (0, 0, 0), job.errors
    assert job.unchanged_count == 3
    with tenant_scope(alpha.tenant):
        assert {p.pk: (p.updated_at, p.name, p.region) for p in Partner.objects.all()} == before
        assert AuditEvent.objects.count() == events


def test_export_shows_only_the_own_tenants_partners(worlds):
    _, bravo = worlds
    _, body = export(bravo, role=Role.VENDOR_ADMIN)
    assert {row["name"] for row in table(body)} == {bravo.partner.name, bravo.other_partner.name}
    assert "Alpha" not in body
    foreign = _client(bravo).get(reverse("partner_export", args=["alpha"]))
    assert foreign.status_code == 404


@pytest.mark.parametrize("role", [Role.PARTNER_ADMIN, Role.PARTNER_REP])
def test_partner_people_cannot_export(worlds, role):
    alpha, _ = worlds
    response, _ = export(alpha, role=role)
    assert response.status_code == 403


@pytest.mark.parametrize("role", [Role.VENDOR_ADMIN, Role.CLAIMS_REVIEWER])
def test_vendor_staff_can_export(worlds, role):
    alpha, _ = worlds
    response, body = export(alpha, role=role)
    assert response.status_code == 200
    assert alpha.partner.name in body


@pytest.mark.parametrize("size", [5, 300])
def test_export_makes_a_fixed_number_of_queries(worlds, django_assert_max_num_queries, size):
    alpha, _ = worlds
    tier = alpha.tier
    cam = alpha.member(Role.CHANNEL_MANAGER)
    with tenant_scope(alpha.tenant):
        Partner.objects.bulk_create(
            [
                Partner(name=f"Bulk {n}", external_id=f"B-{n}", tier=tier, channel_manager=cam)
                for n in range(size)
            ]
        )
    client = _client(alpha)
    with django_assert_max_num_queries(15):
        _, body = export(alpha, client=client)
    assert len(table(body)) == size + 2


# The same export through the API


API_EXPORT = "/api/v1/t/{slug}/partners/export/"


def api_export(world, query: str = "", *, role: str = Role.CHANNEL_MANAGER, slug: str = ""):
    from tests.conftest import client_for

    client = client_for(world.user(role))
    response = client.get(API_EXPORT.format(slug=slug or world.tenant.slug) + query)
    streamed = getattr(response, "streaming", False)
    body = b"".join(response.streaming_content).decode("utf-8") if streamed else ""
    return response, body


def test_api_export_streams_the_same_file_as_the_page(worlds):
    alpha, _ = worlds
    PartnerFactory(tenant=alpha.tenant, name="=Formula Ltd", external_id="F-1", region="EMEA")
    response, body = api_export(alpha, "?region=EMEA")
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="partners-alpha-')
    _, page_body = export(alpha, "?region=EMEA")
    assert body == page_body
    assert [row["name"] for row in table(body)] == ["'=Formula Ltd"]


def test_api_export_applies_the_partner_list_api_filters(worlds):
    alpha, _ = worlds
    silver = TierFactory(tenant=alpha.tenant, name="Silver", rank=2)
    cam = alpha.member(Role.CHANNEL_MANAGER)
    PartnerFactory(tenant=alpha.tenant, name="VAR Silver", type="var", tier=silver, region="EMEA")
    PartnerFactory(tenant=alpha.tenant, name="VAR Mine", type="var", channel_manager=cam)
    PartnerFactory(tenant=alpha.tenant, name="MSP Silver", type="msp", tier=silver)

    def names(query: str) -> list[str]:
        response, body = api_export(alpha, query)
        assert response.status_code == 200, query
        return [row["name"] for row in table(body)]

    assert names("?type=var") == ["VAR Mine", "VAR Silver"]
    assert names(f"?tier={silver.pk}&ordering=-name") == ["VAR Silver", "MSP Silver"]
    assert names("?type=var&type=msp&region=EMEA") == ["VAR Silver"]
    assert names("?mine=true") == ["VAR Mine"]
    assert names("?q=msp") == ["MSP Silver"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("?region=%00", "region"),
        ("?q=%00", "q"),
        ("?tier=%C2%B2", "tier"),
        ("?tier=abc", "tier"),
        ("?type=wholesaler", "type"),
        ("?channel_manager=x", "channel_manager"),
        ("?ordering=evil", "ordering"),
    ],
)
def test_api_export_refuses_a_hostile_filter_with_400_naming_it(worlds, query, field):
    alpha, _ = worlds
    response, body = api_export(alpha, query)
    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert body == ""


def test_api_export_of_another_tenant_is_not_found(worlds):
    _, bravo = worlds
    response, _ = api_export(bravo, slug="alpha", role=Role.VENDOR_ADMIN)
    assert response.status_code == 404
    response, body = api_export(bravo, role=Role.VENDOR_ADMIN)
    assert {row["name"] for row in table(body)} == {bravo.partner.name, bravo.other_partner.name}


@pytest.mark.parametrize("role", [Role.PARTNER_ADMIN, Role.PARTNER_REP])
def test_partner_people_cannot_export_through_the_api(worlds, role):
    alpha, _ = worlds
    response, _ = api_export(alpha, role=role)
    assert response.status_code == 403


@pytest.mark.parametrize("role", [Role.VENDOR_ADMIN, Role.CHANNEL_MANAGER, Role.CLAIMS_REVIEWER])
def test_vendor_staff_export_through_the_api(worlds, role):
    alpha, _ = worlds
    response, body = api_export(alpha, role=role)
    assert response.status_code == 200
    assert alpha.partner.name in body


def test_api_export_answers_a_client_that_accepts_only_csv(worlds):
    from tests.conftest import client_for

    alpha, _ = worlds
    client = client_for(alpha.user(Role.CHANNEL_MANAGER))
    response = client.get(API_EXPORT.format(slug="alpha"), HTTP_ACCEPT="text/csv")
    assert response.status_code == 200
    assert alpha.partner.name in b"".join(response.streaming_content).decode()


def test_schema_documents_the_export_as_csv_with_the_list_filters(client):
    response = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    operation = response.json()["paths"]["/api/v1/t/{tenant_slug}/partners/export/"]["get"]
    assert set(operation["responses"]["200"]["content"]) == {"text/csv"}
    names = {p["name"] for p in operation["parameters"]}
    assert names >= {"q", "type", "tier", "region", "country", "status", "mine", "ordering"}
    assert "page" not in names


@pytest.mark.parametrize("size", [5, 300])
def test_api_export_makes_a_fixed_number_of_queries(worlds, django_assert_max_num_queries, size):
    alpha, _ = worlds
    cam = alpha.member(Role.CHANNEL_MANAGER)
    with tenant_scope(alpha.tenant):
        Partner.objects.bulk_create(
            [
                Partner(
                    name=f"Bulk {n}", external_id=f"B-{n}", tier=alpha.tier, channel_manager=cam
                )
                for n in range(size)
            ]
        )
    with django_assert_max_num_queries(15):
        _, body = api_export(alpha)
    assert len(table(body)) == size + 2
