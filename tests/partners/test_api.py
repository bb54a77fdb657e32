"""The partner and tier API: filters, ordering, roles, field-named errors, the ladder, and a
fixed number of queries whatever the number of partners."""

from __future__ import annotations

import pytest

from partners.models import Partner, Tier
from tenancy.audit import history_of
from tenancy.context import tenant_scope
from tenancy.roles import Role
from tests.conftest import client_for
from tests.partners.test_selectors import FILTER_CASES, SORT_CASES, catalogue

PARTNERS = "/api/v1/t/alpha/partners/"
TIERS = "/api/v1/t/alpha/tiers/"


def _names(response) -> list[str]:
    assert response.status_code == 200, response.json()
    return [row["name"] for row in response.json()["results"]]


# --- reading -----------------------------------------------------------------------------


def test_partner_carries_every_attribute(worlds):
    alpha, _ = worlds
    cat = catalogue(alpha)
    client = client_for(alpha.user(Role.CLAIMS_REVIEWER))
    body = client.get(f"{PARTNERS}{cat.northwind.pk}/").json()
    cam = alpha.member(Role.CHANNEL_MANAGER)
    assert body | {"created_at": None, "updated_at": None} == {
        "id": cat.northwind.pk,
        "name": "Northwind Traders",
        "type": "var",
        "tier": cat.platinum.pk,
        "tier_name": "Platinum",
        "region": "EMEA",
        "territory": "DACH",
        "country": "DE",
        "stage": "established",
        "segment": "achiever",
        "channel_manager": cam.pk,
        "channel_manager_email": "channel_manager@alpha.example",
        "status": "active",
        "external_id": "CRM-1",
        "created_at": None,
        "updated_at": None,
        "actions": [],  # a claims reviewer reads partners and changes none
    }


@pytest.mark.parametrize("case", sorted(FILTER_CASES))
def test_list_filters_by_each_attribute(worlds, case):
    alpha, _ = worlds
    cat = catalogue(alpha)
    query, expected = FILTER_CASES[case]
    client = client_for(alpha.user(Role.CHANNEL_MANAGER))
    assert set(_names(client.get(f"{PARTNERS}?{query(alpha, cat)}"))) == expected


def test_mine_is_the_callers_partners(worlds):
    alpha, _ = worlds
    catalogue(alpha)
    client = client_for(alpha.user(Role.CHANNEL_MANAGER))
    assert _names(client.get(f"{PARTNERS}?mine=true")) == ["Northwind Traders"]
    assert _names(client.get(f"{PARTNERS}?mine=1&region=APAC")) == []


ORDERINGS = {"created_at": "created", "-created_at": "-created"}


@pytest.mark.parametrize(
    "ordering", ["name", "-name", "created_at", "-created_at", "tier", "-tier", "region", "stage"]
)
def test_list_orders(worlds, ordering):
    alpha, _ = worlds
    catalogue(alpha)
    client = client_for(alpha.user(Role.CHANNEL_MANAGER))
    names = _names(client.get(f"{PARTNERS}?ordering={ordering}"))
    assert names == SORT_CASES[ORDERINGS.get(ordering, ordering)]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("tier=gold", "tier"),
        ("type=wizard", "type"),
        ("ordering=pk", "ordering"),
        ("channel_manager=me", "channel_manager"),
        ("status=gone", "status"),
    ],
)
def test_a_bad_filter_value_is_an_error_on_its_parameter(worlds, query, field):
    alpha, _ = worlds
    response = client_for(alpha.user(Role.CHANNEL_MANAGER)).get(f"{PARTNERS}?{query}")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]


@pytest.mark.parametrize("role", [Role.PARTNER_ADMIN, Role.PARTNER_REP])
def test_partner_people_read_only_their_own_partner(worlds, role):
    alpha, _ = worlds
    catalogue(alpha)
    client = client_for(alpha.user(role))
    assert _names(client.get(PARTNERS)) == [alpha.partner.name]
    assert _names(client.get(f"{PARTNERS}?q=north")) == []
    assert client.get(f"{PARTNERS}{alpha.other_partner.pk}/").status_code == 404


def test_another_tenants_staff_see_nothing(worlds):
    alpha, bravo = worlds
    client = client_for(bravo.user(Role.VENDOR_ADMIN))
    assert client.get(PARTNERS).status_code == 404
    own = client.get("/api/v1/t/bravo/partners/?q=alpha")
    assert _names(own) == []
    assert client.get(f"/api/v1/t/bravo/partners/{alpha.partner.pk}/").status_code == 404
    assert client.get(f"/api/v1/t/bravo/tiers/{alpha.tier.pk}/").status_code == 404


# --- writing -----------------------------------------------------------------------------


def test_editor_creates_a_partner_with_every_attribute(worlds):
    alpha, _ = worlds
    cam = alpha.member(Role.CHANNEL_MANAGER)
    payload = {
        "name": "Initech",
        "type": "distributor",
        "tier": alpha.tier.pk,
        "region": "EMEA",
        "territory": "Nordics",
        "country": "se",
        "stage": "developing",
        "segment": "believer",
        "channel_manager": cam.pk,
        "status": "active",
        "external_id": "SF-77",
    }
    response = client_for(cam.user).post(PARTNERS, payload)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["country"] == "SE"
    assert (body["tier_name"], body["channel_manager_email"]) == ("Alpha Gold", cam.user.email)
    with tenant_scope(alpha.tenant):
        partner = Partner.objects.get(pk=body["id"])
        assert partner.territory == "Nordics"
        assert history_of(partner)[0].action == "created"


def test_partial_update_changes_only_what_is_sent_and_records_it(worlds):
    alpha, _ = worlds
    admin = alpha.member(Role.VENDOR_ADMIN)
    client = client_for(admin.user)
    response = client.patch(f"{PARTNERS}{alpha.partner.pk}/", {"tier": None, "region": "LATAM"})
    assert response.status_code == 200, response.json()
    assert (response.json()["tier"], response.json()["tier_name"]) == (None, None)
    assert response.json()["name"] == "Alpha Partner Ltd"
    with tenant_scope(alpha.tenant):
        event = history_of(alpha.partner)[0]
    assert event.actor == admin.user
    assert event.changes == {"tier": ["Alpha Gold", None], "region": ["", "LATAM"]}


@pytest.mark.parametrize(
    ("payload", "field", "reason"),
    [
        ({"country": "D1"}, "country", "two-letter country code"),
        ({"country": "DEU"}, "country", "no more than 2 characters"),
        ({"type": "wizard"}, "type", "not a valid choice"),
        ({"name": "  "}, "name", "may not be blank"),
    ],
)
def test_errors_name_their_field(worlds, payload, field, reason):
    alpha, _ = worlds
    client = client_for(alpha.user(Role.CHANNEL_MANAGER))
    created = client.post(PARTNERS, {"name": "Initech", **payload})
    updated = client.patch(f"{PARTNERS}{alpha.partner.pk}/", payload)
    for response in (created, updated):
        assert response.status_code == 400
        assert list(response.json()["errors"]) == [field]
        assert reason in response.json()["errors"][field][0]


def test_another_tenants_tier_or_a_partner_person_is_refused_by_field(worlds):
    alpha, bravo = worlds
    client = client_for(alpha.user(Role.VENDOR_ADMIN))
    response = client.post(PARTNERS, {"name": "Initech", "tier": bravo.tier.pk})
    assert "does not exist" in response.json()["errors"]["tier"][0]
    rep = alpha.member(Role.PARTNER_REP)
    response = client.post(PARTNERS, {"name": "Initech", "channel_manager": rep.pk})
    assert response.json()["errors"] == {
        "channel_manager": ["The channel account manager is a vendor staff member."]
    }


def test_a_taken_crm_id_is_refused_by_field(worlds):
    alpha, _ = worlds
    client = client_for(alpha.user(Role.VENDOR_ADMIN))
    assert client.post(PARTNERS, {"name": "One", "external_id": "X-1"}).status_code == 201
    response = client.post(PARTNERS, {"name": "Two", "external_id": "X-1"})
    assert list(response.json()["errors"]) == ["external_id"]


@pytest.mark.parametrize("role", [Role.PARTNER_ADMIN, Role.PARTNER_REP, Role.CLAIMS_REVIEWER])
def test_who_is_no_partner_editor_cannot_write(worlds, role):
    alpha, _ = worlds
    client = client_for(alpha.user(role))
    assert client.post(PARTNERS, {"name": "Mine now"}).status_code == 403
    patch = client.patch(f"{PARTNERS}{alpha.partner.pk}/", {"name": "Mine now"})
    assert patch.status_code == 403
    with tenant_scope(alpha.tenant):
        assert not Partner.objects.filter(name="Mine now").exists()


# --- the tier ladder ---------------------------------------------------------------------


def _ladder(world) -> list[str]:
    with tenant_scope(world.tenant):
        return list(Tier.objects.order_by("rank").values_list("name", flat=True))


@pytest.mark.parametrize("role", Role.values)
def test_every_role_reads_the_ladder(worlds, role):
    alpha, _ = worlds
    catalogue(alpha)
    response = client_for(alpha.user(role)).get(TIERS)
    assert [t["name"] for t in response.json()["results"]] == ["Alpha Gold", "Silver", "Platinum"]
    assert [t["rank"] for t in response.json()["results"]] == [1, 2, 3]


def test_vendor_admin_adds_renames_reorders_and_deletes_tiers(worlds):
    alpha, _ = worlds
    client = client_for(alpha.user(Role.VENDOR_ADMIN))
    silver = client.post(TIERS, {"name": "Silver"}).json()
    assert silver["rank"] == 2
    renamed = client.patch(f"{TIERS}{silver['id']}/", {"name": "Platinum"})
    assert renamed.json()["name"] == "Platinum"
    reordered = client.post(f"{TIERS}reorder/", {"order": [silver["id"], alpha.tier.pk]})
    assert reordered.status_code == 200, reordered.json()
    assert [(t["name"], t["rank"]) for t in reordered.json()] == [
        ("Platinum", 1),
        ("Alpha Gold", 2),
    ]
    assert client.delete(f"{TIERS}{silver['id']}/").status_code == 204
    assert _ladder(alpha) == ["Alpha Gold"]


def test_a_tier_with_partners_is_not_deleted(worlds):
    alpha, _ = worlds
    response = client_for(alpha.user(Role.VENDOR_ADMIN)).delete(f"{TIERS}{alpha.tier.pk}/")
    assert response.status_code == 400
    assert "move them to another tier first" in response.json()["detail"]
    assert _ladder(alpha) == ["Alpha Gold"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [({"order": [1]}, "order"), ({"order": "up"}, "order"), ({}, "order")],
)
def test_reorder_must_name_every_tier_once(worlds, payload, field):
    alpha, _ = worlds
    catalogue(alpha)
    response = client_for(alpha.user(Role.VENDOR_ADMIN)).post(f"{TIERS}reorder/", payload)
    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]
    assert _ladder(alpha) == ["Alpha Gold", "Silver", "Platinum"]


def test_a_duplicate_tier_name_is_refused_by_field(worlds):
    alpha, _ = worlds
    response = client_for(alpha.user(Role.VENDOR_ADMIN)).post(TIERS, {"name": "alpha gold"})
    assert response.json()["errors"] == {"name": ["There is a tier called alpha gold already."]}


@pytest.mark.parametrize("role", [Role.CHANNEL_MANAGER, Role.PARTNER_ADMIN])
def test_only_the_vendor_admin_changes_the_ladder(worlds, role):
    alpha, _ = worlds
    client = client_for(alpha.user(role))
    tier = f"{TIERS}{alpha.tier.pk}/"
    assert client.post(TIERS, {"name": "Silver"}).status_code == 403
    assert client.patch(tier, {"name": "X"}).status_code == 403
    assert client.delete(tier).status_code == 403
    assert client.post(f"{TIERS}reorder/", {"order": [alpha.tier.pk]}).status_code == 403
    assert _ladder(alpha) == ["Alpha Gold"]


# --- schema and query counts -------------------------------------------------------------


def test_schema_documents_every_filter(client):
    response = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    paths = response.json()["paths"]
    parameters = {
        p["name"] for p in paths["/api/v1/t/{tenant_slug}/partners/"]["get"]["parameters"]
    }
    assert parameters >= {
        "q",
        "type",
        "tier",
        "region",
        "territory",
        "country",
        "stage",
        "segment",
        "status",
        "channel_manager",
        "mine",
        "ordering",
        "page",
        "page_size",
    }
    assert "/api/v1/t/{tenant_slug}/tiers/reorder/" in paths
    assert {"get", "patch"} <= set(paths["/api/v1/t/{tenant_slug}/partners/{partner_id}/"])
    assert {"get", "patch", "delete"} <= set(paths["/api/v1/t/{tenant_slug}/tiers/{tier_id}/"])


# The shell of an API request (8, see tests/tenancy/test_api.py), the membership lookup, the
# count and the page with tier and manager joined.
API_LIST_QUERIES = 11


@pytest.mark.parametrize("size", [10, 1000])
@pytest.mark.parametrize(
    "query", ["", "?ordering=-tier", "?mine=1&region=R1&type=reseller", "?q=bulk"]
)
def test_partner_list_makes_a_fixed_number_of_queries(
    worlds, django_assert_max_num_queries, size, query
):
    alpha, _ = worlds
    cam = alpha.member(Role.CHANNEL_MANAGER)
    with tenant_scope(alpha.tenant):
        Partner.objects.bulk_create(
            [
                Partner(
                    name=f"Bulk {n:05}", tier=alpha.tier, channel_manager=cam, region=f"R{n % 7}"
                )
                for n in range(size)
            ]
        )
    client = client_for(cam.user)
    separator = "&" if query else "?"
    with django_assert_max_num_queries(API_LIST_QUERIES):
        response = client.get(f"{PARTNERS}{query}{separator}page_size=500")
    assert response.status_code == 200
    rows = response.json()["results"]
    assert all(
        row["channel_manager_email"] == cam.user.email for row in rows if "Bulk" in row["name"]
    )
