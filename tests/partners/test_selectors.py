"""Reads of partners: every filter, every sort, and who sees what."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.db import connection, transaction
from django.http import Http404, QueryDict

from partners import selectors
from partners.models import Partner, Tier
from partners.selectors import PartnerFilters
from partners.views import ROW_VALUES
from tenancy.context import tenant_scope
from tenancy.roles import Role
from tests.conftest import World
from tests.factories.partners import PartnerFactory, TierFactory
from tests.partners.test_search import add_filler_partners


@dataclass
class Catalogue:
    """Two partners of tenant A that differ in every attribute, on top of the world's two."""

    silver: Tier
    platinum: Tier
    northwind: Partner
    southgate: Partner


def catalogue(world: World) -> Catalogue:
    tenant = world.tenant
    silver = TierFactory(tenant=tenant, name="Silver", rank=2)
    platinum = TierFactory(tenant=tenant, name="Platinum", rank=3)
    northwind = PartnerFactory(
        tenant=tenant,
        name="Northwind Traders",
        type="var",
        tier=platinum,
        region="EMEA",
        territory="DACH",
        country="DE",
        stage="established",
        segment="achiever",
        channel_manager=world.member(Role.CHANNEL_MANAGER),
        status="active",
        external_id="CRM-1",
    )
    southgate = PartnerFactory(
        tenant=tenant,
        name="Southgate IT",
        type="msp",
        tier=silver,
        region="APAC",
        territory="ANZ",
        country="AU",
        stage="developing",
        segment="believer",
        channel_manager=world.member(Role.VENDOR_ADMIN),
        status="inactive",
        external_id="CRM-2",
    )
    return Catalogue(silver, platinum, northwind, southgate)


# (query string built from the world and catalogue, the partner names it keeps)
FILTER_CASES = {
    "type": (lambda w, c: "type=var", {"Northwind Traders"}),
    "types": (lambda w, c: "type=var&type=msp", {"Northwind Traders", "Southgate IT"}),
    "tier": (lambda w, c: f"tier={c.platinum.pk}", {"Northwind Traders"}),
    "region": (lambda w, c: "region=APAC", {"Southgate IT"}),
    "territory": (lambda w, c: "territory=DACH", {"Northwind Traders"}),
    "country": (lambda w, c: "country=au", {"Southgate IT"}),
    "stage": (lambda w, c: "stage=established", {"Northwind Traders"}),
    "segment": (lambda w, c: "segment=believer", {"Southgate IT"}),
    "status": (lambda w, c: "status=inactive", {"Southgate IT"}),
    "channel_manager": (
        lambda w, c: f"channel_manager={w.member(Role.VENDOR_ADMIN).pk}",
        {"Southgate IT"},
    ),
    "search_name": (lambda w, c: "q=north", {"Northwind Traders"}),
    "search_crm_id": (lambda w, c: "q=crm-2", {"Southgate IT"}),
    "combined": (lambda w, c: "region=EMEA&status=inactive", set()),
}


@pytest.mark.parametrize("case", sorted(FILTER_CASES))
def test_partner_list_narrows_by_each_attribute(worlds, case):
    alpha, _ = worlds
    cat = catalogue(alpha)
    query, expected = FILTER_CASES[case]
    me = alpha.member(Role.CHANNEL_MANAGER)
    filters = PartnerFilters.from_query(QueryDict(query(alpha, cat)), me=me)
    with tenant_scope(alpha.tenant):
        names = set(selectors.partner_list_for(me, filters).values_list("name", flat=True))
    assert names == expected


def test_mine_is_the_signed_in_managers_partners(worlds):
    alpha, _ = worlds
    catalogue(alpha)
    me = alpha.member(Role.CHANNEL_MANAGER)
    filters = PartnerFilters.from_query(QueryDict("mine=1&channel_manager=1"), me=me)
    assert filters.channel_manager == me.pk
    with tenant_scope(alpha.tenant):
        names = list(selectors.partner_list_for(me, filters).values_list("name", flat=True))
    assert names == ["Northwind Traders"]


SORT_CASES = {
    "name": ["Alpha Other Partner", "Alpha Partner Ltd", "Northwind Traders", "Southgate IT"],
    "-name": ["Southgate IT", "Northwind Traders", "Alpha Partner Ltd", "Alpha Other Partner"],
    "tier": ["Alpha Partner Ltd", "Southgate IT", "Northwind Traders", "Alpha Other Partner"],
    "-tier": ["Alpha Other Partner", "Northwind Traders", "Southgate IT", "Alpha Partner Ltd"],
    "region": ["Alpha Other Partner", "Alpha Partner Ltd", "Southgate IT", "Northwind Traders"],
    "stage": ["Southgate IT", "Northwind Traders", "Alpha Other Partner", "Alpha Partner Ltd"],
    "created": ["Alpha Partner Ltd", "Alpha Other Partner", "Northwind Traders", "Southgate IT"],
    "-created": ["Southgate IT", "Northwind Traders", "Alpha Other Partner", "Alpha Partner Ltd"],
}


@pytest.mark.parametrize("sort", sorted(SORT_CASES))
def test_partner_list_sorts(worlds, sort):
    alpha, _ = worlds
    catalogue(alpha)
    me = alpha.member(Role.CLAIMS_REVIEWER)
    filters = PartnerFilters.from_query(QueryDict(f"sort={sort}"), me=me)
    with tenant_scope(alpha.tenant):
        names = list(selectors.partner_list_for(me, filters).values_list("name", flat=True))
    # Nulls sort last ascending in PostgreSQL: the partner with no tier ends "tier" and starts
    # "-tier"; blank regions ("") sort first; stages sort by their stored value.
    assert names == SORT_CASES[sort]


def test_an_unknown_sort_falls_back_to_name():
    assert PartnerFilters.from_query(QueryDict("sort=drop table")).sort == "name"


@pytest.mark.parametrize("role", [Role.PARTNER_ADMIN, Role.PARTNER_REP])
def test_partner_people_see_only_their_own_partner(worlds, role):
    alpha, _ = worlds
    catalogue(alpha)
    me = alpha.member(role)
    with tenant_scope(alpha.tenant):
        assert list(selectors.partner_list_for(me)) == [alpha.partner]
        with pytest.raises(Http404):
            selectors.access_partner(me, alpha.other_partner.pk)


def test_another_tenants_partner_and_tier_are_not_found(worlds):
    alpha, bravo = worlds
    me = bravo.member(Role.VENDOR_ADMIN)
    with tenant_scope(bravo.tenant):
        with pytest.raises(Http404):
            selectors.access_partner(me, alpha.partner.pk)
        with pytest.raises(Http404):
            selectors.access_tier(alpha.tier.pk)
        assert alpha.partner.pk not in selectors.partner_list_for(me).values_list("pk", flat=True)


def test_distinct_values_and_tiers_are_the_tenants_own(worlds):
    alpha, bravo = worlds
    catalogue(alpha)
    PartnerFactory(tenant=bravo.tenant, region="LATAM", country="BR")
    with tenant_scope(alpha.tenant):
        assert selectors.distinct_values("region") == ["APAC", "EMEA"]
        assert selectors.distinct_values("country") == ["AU", "DE"]
        assert [t.name for t in selectors.tier_list()] == ["Alpha Gold", "Silver", "Platinum"]


# --- a filtered page is read in order from its filter's index ------------------------------

INDEXED_FILTERS = {
    "type": {"types": ["var"]},
    "tier": {"tiers": [1]},
    "region": {"regions": ["EMEA"]},
    "territory": {"territories": ["DACH"]},
    "country": {"countries": ["DE"]},
    "stage": {"stages": ["new"]},
    "segment": {"segments": ["champion"]},
    "status": {"statuses": ["active"]},
    "channel_manager": {"channel_manager": 1},
}


@pytest.mark.parametrize("column", sorted(INDEXED_FILTERS))
def test_a_filtered_page_reads_its_filters_index_in_name_order(worlds, column):
    """One filter with the default sort: PostgreSQL reads the page from `(tenant, column,
    name, id)` in order and stops after it, with no sort of every partner the filter keeps,
    nor a walk of the name index past every partner it drops."""
    alpha, _ = worlds
    add_filler_partners(alpha, 2000)
    me = alpha.member(Role.VENDOR_ADMIN)
    with tenant_scope(alpha.tenant), transaction.atomic():
        filters = PartnerFilters(**INDEXED_FILTERS[column])
        queryset = selectors.partner_list_for(me, filters).values(*ROW_VALUES)
        sql, params = queryset[:50].query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("SET LOCAL enable_bitmapscan = off")
            cursor.execute(f"EXPLAIN {sql}", params)
            plan = "\n".join(row[0] for row in cursor.fetchall())
    short = column[:12]
    assert f"Index Scan using partner_{short}_by_name on partners_partner" in plan, plan
    assert "Sort" not in plan, plan
