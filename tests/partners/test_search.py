"""Partner search: each word of the query starts a word of the name, or the query is the CRM id.
The terms it reads are kept by PostgreSQL's triggers, whoever writes the partners, and it reads
them with comparisons that can use an index under row-level security."""

from __future__ import annotations

import re

import psycopg2
import pytest
from django.db import connection, connections, transaction
from django.http import QueryDict
from django.test import Client
from django.test.utils import CaptureQueriesContext

from partners import search, selectors, services
from partners.models import Partner, PartnerSearchTerm
from partners.selectors import PartnerFilters
from partners.views import ROW_VALUES
from tenancy.context import all_tenants, tenant_scope
from tenancy.models import Tenant
from tenancy.roles import Role
from tests.conftest import World, build_world, client_for
from tests.factories.partners import PartnerFactory
from tests.factories.tenancy import TenantFactory
from tests.partners.test_csv_import import HEADER, import_csv

PARTNERS_API = "/api/v1/t/{slug}/partners/"


def found(world: World, q: str) -> set[str]:
    """Names the selector finds for `q` in the world's tenant, as a channel manager."""
    me = world.member(Role.CHANNEL_MANAGER)
    with tenant_scope(world.tenant):
        params = QueryDict(mutable=True)
        params["q"] = q
        filters = PartnerFilters.from_query(params, me=me)
        return set(selectors.partner_list_for(me, filters).values_list("name", flat=True))


def api_names(world: World, q: str, *, slug: str | None = None) -> set[str]:
    client = client_for(world.user(Role.VENDOR_ADMIN))
    response = client.get(PARTNERS_API.format(slug=slug or world.tenant.slug), {"q": q})
    assert response.status_code == 200, response.content
    return {row["name"] for row in response.json()["results"]}


def page_names(world: World, q: str) -> set[str]:
    client = Client()
    client.force_login(world.user(Role.VENDOR_ADMIN))
    response = client.get(f"/t/{world.tenant.slug}/partners/", {"q": q})
    assert response.status_code == 200
    return {row["name"] for row in response.context["page"].object_list}


def terms_of(world: World, partner: Partner) -> set[tuple[str, str]]:
    with tenant_scope(world.tenant):
        rows = PartnerSearchTerm.objects.filter(partner_id=partner.pk)
        return set(rows.values_list("kind", "term"))


@pytest.fixture
def shelf(worlds) -> World:
    alpha, _ = worlds
    for name, crm_id in [
        ("Northwind Traders", "CRM-1"),
        ("Southgate IT", "crm-2"),
        ("Müller & Söhne GmbH", "DE-Zürich-7"),
        ("Société Générale Informatique", ""),
        ("O'Brien e-mail_box 24/7 Services", "ob_24"),
        ("ΣΟΦΙΑ Systems", ""),
    ]:
        PartnerFactory(tenant=alpha.tenant, name=name, external_id=crm_id)
    return alpha


SEMANTICS = {
    "word prefix": ("north", {"Northwind Traders"}),
    "prefix of a later word": ("trad", {"Northwind Traders"}),
    "whole word": ("traders", {"Northwind Traders"}),
    "not mid-word": ("wind", set()),
    "words in any order": ("traders north", {"Northwind Traders"}),
    "every word must match": ("north gate", set()),
    "case-insensitive": ("NORTHWIND tRaDeRs", {"Northwind Traders"}),
    "punctuation between words ignored": ("north, traders!", {"Northwind Traders"}),
    "umlaut": ("müll", {"Müller & Söhne GmbH"}),
    "umlaut upper case": ("MÜLLER SÖHNE", {"Müller & Söhne GmbH"}),
    "accented words": ("soc gén", {"Société Générale Informatique"}),
    "accents are not folded": ("generale", set()),
    "greek, final sigma lower-cased": ("σοφια", {"ΣΟΦΙΑ Systems"}),
    "apostrophe splits": ("brien", {"O'Brien e-mail_box 24/7 Services"}),
    "hyphen splits": ("mail", {"O'Brien e-mail_box 24/7 Services"}),
    "underscore splits": ("box", {"O'Brien e-mail_box 24/7 Services"}),
    "digits are words": ("24 7", {"O'Brien e-mail_box 24/7 Services"}),
    "a shared prefix finds both": (
        "s",
        {
            "Southgate IT",
            "Société Générale Informatique",
            "ΣΟΦΙΑ Systems",
            "Müller & Söhne GmbH",
            "O'Brien e-mail_box 24/7 Services",
        },
    ),
    "crm id exact": ("CRM-1", {"Northwind Traders"}),
    "crm id in any case": ("CRM-2", {"Southgate IT"}),
    "crm id with non-ASCII letters in any case": ("de-zÜrich-7", {"Müller & Söhne GmbH"}),
    "crm id with an underscore": ("OB_24", {"O'Brien e-mail_box 24/7 Services"}),
    "crm id is not a prefix search": ("CRM-", set()),
    "no match": ("zebra", set()),
    "punctuation alone finds nothing": ("-- & !", set()),
}


@pytest.mark.parametrize("case", sorted(SEMANTICS))
def test_search_finds_partners_whose_name_words_start_with_every_query_word(shelf, case):
    q, expected = SEMANTICS[case]
    assert found(shelf, q) == expected
    assert api_names(shelf, q) == expected


def test_a_blank_query_is_no_search(shelf):
    with tenant_scope(shelf.tenant):
        everyone = set(Partner.objects.values_list("name", flat=True))
    assert found(shelf, "   ") == everyone
    assert api_names(shelf, "") == everyone


NAMES = [
    "Müller & Söhne",
    "Société Générale",
    "ΣΟΦΙΑ ΟΔΥΣΣΕΥΣ",
    "İstanbul Bilişim",
    "Straße 42_b",
    "x²y ٣4 Ⅻ",
    "O'Brien-Smith & Co.",
    "e\u0301cole",  # NFD: "école" with a combining accent
    "日本 テレコム",
    "  --multiple   spaces--  ",
]


@pytest.mark.parametrize("name", NAMES)
def test_a_name_is_found_by_itself_and_by_each_of_its_words(worlds, name):
    """The query is split by the function that wrote the terms, so whatever a name's words are
    (scripts, digits, accents, decomposed input), typing the name, or any of its words, finds
    it."""
    alpha, _ = worlds
    PartnerFactory(tenant=alpha.tenant, name=name)
    with connection.cursor() as cursor:
        cursor.execute("SELECT word FROM partners_search_words(%s) ORDER BY place", [name])
        words = [row[0] for row in cursor.fetchall()]
    assert words  # every sample has words
    assert name in found(alpha, name)
    for word in words:
        assert name in found(alpha, word), word


def test_the_words_of_a_text_come_in_order_once_each_and_cut_to_the_term_length(db):
    def words(text: str) -> list[str]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT word FROM partners_search_words(%s) ORDER BY place", [text])
            return [row[0] for row in cursor.fetchall()]

    assert words("Müller & Söhne, müller") == ["müller", "söhne"]
    assert words("O'Brien e-mail_box 24/7") == ["o", "brien", "e", "mail", "box", "24", "7"]
    assert words("e\u0301cole") == ["\u00e9cole"]  # decomposed input, composed term
    assert words("a" * 300) == ["a" * search.TERM_LENGTH]
    assert words(" -- ! ") == []


def test_a_query_that_cannot_be_sent_finds_nothing():
    assert search.searchable("a\x00b") is None
    assert search.searchable("a\ud800b") is None
    assert search.searchable("   ") is None
    assert search.searchable("x" * 10_000) == "x" * search.MAX_QUERY_LENGTH


@pytest.mark.parametrize(
    "q",
    ["zz\x00qq", "x" * 10_000, " ".join(["w"] * 500), " ".join(f"w{n}" for n in range(500))],
)
def test_a_huge_or_hostile_query_is_a_400_or_an_empty_result(shelf, q):
    client = client_for(shelf.user(Role.VENDOR_ADMIN))
    response = client.get(PARTNERS_API.format(slug="alpha"), {"q": q})
    assert response.status_code in (200, 400)
    if response.status_code == 200:
        assert response.json()["results"] == []
    page = Client()
    page.force_login(shelf.user(Role.VENDOR_ADMIN))
    assert page.get("/t/alpha/partners/", {"q": q}).status_code in (200, 400)
    assert found(shelf, q) == set()  # the selector alone, without the views' checks


def test_eight_words_of_a_long_query_are_used(shelf):
    partner = "Northwind Traders"
    assert found(shelf, "north " * 40 + "traders") == {partner}
    assert found(shelf, "n no nor nort north northw northwi northwin zebra") == {partner}


# --- the triggers keep the terms ------------------------------------------------------------


def test_terms_follow_create_rename_crm_id_change_and_delete(worlds):
    alpha, _ = worlds
    admin = alpha.member(Role.VENDOR_ADMIN)
    with tenant_scope(alpha.tenant):
        partner = services.partner_create(actor=admin, name="Acme Widgets", external_id="A-1")
    assert terms_of(alpha, partner) == {("word", "acme"), ("word", "widgets"), ("crm_id", "a-1")}
    assert found(alpha, "widg") == found(alpha, "a-1") == {"Acme Widgets"}

    with tenant_scope(alpha.tenant):
        services.partner_update(actor=admin, partner=partner, name="Zenith Gadgets")
    assert found(alpha, "widg") == set()
    assert found(alpha, "gadg zen") == {"Zenith Gadgets"}
    assert found(alpha, "a-1") == {"Zenith Gadgets"}

    with tenant_scope(alpha.tenant):
        services.partner_update(actor=admin, partner=partner, external_id="B-2")
    assert found(alpha, "a-1") == set()
    assert found(alpha, "b-2") == {"Zenith Gadgets"}

    with tenant_scope(alpha.tenant):
        services.partner_update(actor=admin, partner=partner, external_id="")
    assert terms_of(alpha, partner) == {("word", "zenith"), ("word", "gadgets")}

    with tenant_scope(alpha.tenant):
        Partner.objects.filter(pk=partner.pk).update(region="EMEA")  # name untouched
        assert terms_of(alpha, partner) == {("word", "zenith"), ("word", "gadgets")}
        Partner.objects.filter(pk=partner.pk).delete()
    assert terms_of(alpha, partner) == set()
    assert found(alpha, "zenith") == set()


def test_deleting_a_partner_removes_its_terms_in_the_same_statement(worlds):
    alpha, _ = worlds
    with tenant_scope(alpha.tenant):
        partner = PartnerFactory(tenant=alpha.tenant, name="Short Lived", external_id="SL-1")
        with transaction.atomic():
            Partner.objects.get(pk=partner.pk).delete()
            assert not PartnerSearchTerm.objects.filter(partner_id=partner.pk).exists()


def partner_table_reads() -> int:
    """Index and sequential scans of the partner table in the current transaction."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT coalesce(idx_scan, 0) + coalesce(seq_scan, 0) FROM pg_stat_xact_user_tables"
            " WHERE relname = 'partners_partner'"
        )
        return cursor.fetchone()[0]


def test_writing_partners_reads_no_partner_back_for_their_terms(worlds):
    """The terms are the triggers' to keep: no foreign key check reads each term's partner (a
    check a term, through an index the planner may pick badly on a table without statistics,
    made a new tenant's 200,000-row import scan its partners for every term)."""
    alpha, _ = worlds
    with tenant_scope(alpha.tenant):
        before = partner_table_reads()
        Partner.objects.bulk_create(
            Partner(tenant=alpha.tenant, name=f"Bulk Written Number {n}", external_id=f"BW-{n}")
            for n in range(30)
        )
        with connection.cursor() as cursor:  # deferred checks run now, as at a commit
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        assert partner_table_reads() - before < 30
        assert PartnerSearchTerm.objects.filter(term="bulk").count() == 30


def test_a_csv_import_keeps_terms_on_bulk_create_and_bulk_update(worlds):
    alpha, _ = worlds
    import_csv(
        alpha,
        f"{HEADER}\n"
        "IMP-1,Harbour Freight,var,,EMEA,DACH,DE,new,achiever,active\n"
        "IMP-2,Lighthouse Systems,msp,,EMEA,DACH,DE,new,achiever,active\n",
    )
    assert found(alpha, "harb") == {"Harbour Freight"}
    assert found(alpha, "imp-2") == {"Lighthouse Systems"}
    import_csv(
        alpha,
        f"{HEADER}\n"
        "IMP-1,Harbour Logistics,var,,EMEA,DACH,DE,new,achiever,active\n"
        "IMP-2,Lighthouse Systems,msp,,APAC,ANZ,AU,new,achiever,active\n",
    )
    assert found(alpha, "freight") == set()
    assert found(alpha, "harbour log") == {"Harbour Logistics"}
    assert found(alpha, "light sys") == {"Lighthouse Systems"}
    assert found(alpha, "IMP-1") == {"Harbour Logistics"}


def test_existing_partners_have_terms(worlds):
    """The worlds' partners were made before any search: their terms are there."""
    alpha, _ = worlds
    assert terms_of(alpha, alpha.partner) == {
        ("word", "alpha"),
        ("word", "partner"),
        ("word", "ltd"),
    }


# --- isolation ------------------------------------------------------------------------------


def test_another_tenants_terms_never_match(worlds):
    alpha, bravo = worlds
    PartnerFactory(tenant=bravo.tenant, name="Bravo Only Kestrel", external_id="K-9")
    PartnerFactory(tenant=alpha.tenant, name="Shared Name Corp", external_id="S-1")
    PartnerFactory(tenant=bravo.tenant, name="Shared Name Corp", external_id="S-1")
    for q in ("kestrel", "k-9", "bravo"):
        assert found(alpha, q) == set()
        assert api_names(alpha, q) == set()
        assert page_names(alpha, q) == set()
    assert api_names(bravo, "kestrel") == {"Bravo Only Kestrel"}
    for q in ("shared name", "s-1"):
        for names in (found(alpha, q), api_names(alpha, q), page_names(alpha, q)):
            assert names == {"Shared Name Corp"}
        with tenant_scope(alpha.tenant):
            me = alpha.member(Role.VENDOR_ADMIN)
            ids = set(selectors.partner_list_for(me, search=q).values_list("tenant_id", flat=True))
        assert ids == {alpha.tenant.pk}


def test_a_tenants_staff_cannot_search_another_tenant(worlds):
    _, bravo = worlds
    client = client_for(bravo.user(Role.VENDOR_ADMIN))
    assert client.get(PARTNERS_API.format(slug="alpha"), {"q": "alpha"}).status_code == 404
    assert api_names(bravo, "alpha") == set()


# --- the plan -------------------------------------------------------------------------------


def search_plan(world: World, q: str) -> str:
    """EXPLAIN of the partner list page's query for `q`, on the application connection under
    the tenant's scope, with sequential scans priced out."""
    me = world.member(Role.VENDOR_ADMIN)
    with tenant_scope(world.tenant), transaction.atomic():
        queryset = selectors.partner_list_for(me, PartnerFilters(search=q)).values(*ROW_VALUES)
        sql, params = queryset[:50].query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_user")
            assert cursor.fetchone()[0] == "uplift_app"
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute(f"EXPLAIN {sql}", params)
            return "\n".join(row[0] for row in cursor.fetchall())


def add_filler_partners(world: World, count: int) -> None:
    """`count` more partners in one INSERT, so that the tables span enough pages for the planner
    to tell a selective index from a merely tenant-wide one (the test tables are never
    analysed)."""
    with tenant_scope(world.tenant), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO partners_partner (tenant_id, name, type, region, territory, country,"
            " stage, segment, status, external_id, created_at, updated_at)"
            " SELECT %s, 'Filler Company ' || n, 'var', '', '', '', 'new', 'unassessed',"
            " 'active', 'F-' || n, now(), now() FROM generate_series(1, %s) AS n",
            [world.tenant.pk, count],
        )


@pytest.mark.parametrize("q", ["north", "north trad", "CRM-1"])
def test_search_reads_the_term_index_under_row_level_security(shelf, q):
    add_filler_partners(shelf, 2000)
    plan = search_plan(shelf, q)
    assert "Seq Scan on partners_partner" not in plan, plan  # the partners and their terms
    # Django writes icontains as UPPER(name) LIKE UPPER(...): "~~" (and ILIKE's "~~*") are the
    # row-by-row filters this search replaces.
    assert "~~" not in plan, plan
    assert "upper(" not in plan, plan
    # The terms are read by an index whose condition holds the tenant and the term: either of
    # the two indexes that lead with the tenant and hold the term, as the planner prices them.
    scans = re.findall(
        r"Index (?:Only )?Scan using (partner_search_term_\w+)[^\n]*\n([^\n]*)", plan
    )
    assert scans, plan
    assert any("tenant_id = " in cond and "term" in cond for _, cond in scans), plan


# --- the unscoped role and raw SQL ----------------------------------------------------------


@pytest.mark.django_db(transaction=True, databases=["default", "unscoped"])
def test_terms_are_kept_for_the_unscoped_role_and_removed_with_a_tenant():
    tenant = TenantFactory(name="Gamma Corp", slug="gamma")
    with all_tenants(reason="test: platform admin edits a partner"):
        partner = Partner.objects.create(tenant=tenant, name="Gamma Gears", external_id="G-1")
        Partner.objects.filter(pk=partner.pk).update(name="Gamma Sprockets")
        terms = set(
            PartnerSearchTerm.objects.filter(partner_id=partner.pk).values_list("kind", "term")
        )
        assert terms == {("word", "gamma"), ("word", "sprockets"), ("crm_id", "g-1")}
        Partner.objects.create(tenant=tenant, name="Gamma Two")
        Tenant.objects.filter(pk=tenant.pk).delete()
        assert not PartnerSearchTerm.objects.filter(tenant_id=tenant.pk).exists()
        assert not Partner.objects.filter(tenant_id=tenant.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_raw_sql_as_the_application_role_keeps_terms():
    world = build_world("delta")
    database = connections["default"].settings_dict
    raw = psycopg2.connect(
        dbname=database["NAME"], user="uplift_app", host=database["HOST"], port=database["PORT"]
    )
    try:
        with raw, raw.cursor() as cursor:
            cursor.execute("SELECT set_config('app.tenant_id', %s, true)", [str(world.tenant.pk)])
            cursor.execute(
                "INSERT INTO partners_partner (tenant_id, name, type, region, territory, country,"
                " stage, segment, status, external_id, created_at, updated_at) VALUES"
                " (%s, 'Raw One', 'var', '', '', '', 'new', 'unassessed', 'active', 'R-1',"
                " now(), now()), (%s, 'Raw Two', 'var', '', '', '', 'new', 'unassessed',"
                " 'active', '', now(), now())",
                [world.tenant.pk, world.tenant.pk],
            )
            cursor.execute(
                "UPDATE partners_partner SET name = name || ' Renamed' WHERE name LIKE 'Raw %%'"
            )
    finally:
        raw.close()
    assert found(world, "renamed") == {"Raw One Renamed", "Raw Two Renamed"}
    assert found(world, "r-1") == {"Raw One Renamed"}


# --- a search's page is chosen from the terms -----------------------------------------------


@pytest.fixture
def meridians(worlds) -> World:
    """Partners a search for "meridian" finds, with the awkward cases of a page chosen by
    name: two partners of one name (the key breaks the tie), a name holding the word twice
    (found once), a match by CRM id alone, and partners it must not find."""
    alpha, beta = worlds
    for name, crm_id in [
        ("Meridian Cloud", "M-1"),
        ("Meridian Cloud", "M-2"),
        ("Meridian Meridian Holdings", "M-3"),
        ("Acme Meridiana", "M-4"),
        ("Zeta Meridian", "M-5"),
        ("Alpha Systems", "MERIDIAN"),
        ("Bravo Meridional", "M-7"),
        ("Charlie Networks", "M-8"),
        ("Meridians of Delta", "M-9"),
    ]:
        PartnerFactory(tenant=alpha.tenant, name=name, external_id=crm_id, region="EMEA")
    PartnerFactory(tenant=beta.tenant, name="Meridian Elsewhere", external_id="M-1")
    return alpha


def expected_order(world: World, q: str, sort: str, **filters) -> list[int]:
    """The list `partner_list_for` gives: every match, in the list's order."""
    me = world.member(Role.VENDOR_ADMIN)
    with tenant_scope(world.tenant):
        filters = PartnerFilters(search=q, sort=sort, **filters)
        return list(selectors.partner_list_for(me, filters).values_list("pk", flat=True))


def api_pages(world: World, params: dict, size: int) -> tuple[list[int], set[int]]:
    """Every page of the API list, in order, and the counts it gave."""
    client = client_for(world.user(Role.VENDOR_ADMIN))
    ids, counts, page = [], set(), 1
    while True:
        response = client.get(
            PARTNERS_API.format(slug=world.tenant.slug), {**params, "page_size": size, "page": page}
        )
        assert response.status_code == 200, response.content
        body = response.json()
        ids += [row["id"] for row in body["results"]]
        counts.add(body["count"])
        if not body["next"]:
            return ids, counts
        page += 1


@pytest.mark.parametrize("ordering", ["name", "-name"])
@pytest.mark.parametrize("q", ["meridian", "mer", "meridian cloud", "Meridian"])
def test_search_pages_keep_the_lists_order_count_and_ties(meridians, q, ordering):
    expected = expected_order(meridians, q, ordering)
    assert expected, "the case finds partners"
    for size in (1, 2, 3, 50):
        ids, counts = api_pages(meridians, {"q": q, "ordering": ordering}, size)
        assert ids == expected, (size, ids, expected)
        assert counts == {len(expected)}


def test_a_search_with_another_filter_reads_the_partners(meridians):
    expected = expected_order(meridians, "meridian", "name", regions=["EMEA"])
    ids, counts = api_pages(meridians, {"q": "meridian", "region": "EMEA"}, 2)
    assert ids == expected
    assert counts == {len(expected)}


def test_a_search_page_on_the_dashboard_is_the_same_list(meridians):
    client = Client()
    client.force_login(meridians.user(Role.VENDOR_ADMIN))
    expected = expected_order(meridians, "meridian", "-name")
    response = client.get(
        f"/t/{meridians.tenant.slug}/partners/", {"q": "meridian", "sort": "-name"}
    )
    assert response.status_code == 200
    assert [row["id"] for row in response.context["page"].object_list] == expected
    assert response.context["page"].paginator.count == len(expected)


def test_a_search_page_reads_only_that_pages_partners(meridians, settings):
    """The page's keys come from the terms' index (which carries the name); the partner table
    is then read for those keys only, not for every match to sort them."""
    settings.PREPARED_STATEMENTS = False  # the SQL sent is read here
    client = client_for(meridians.user(Role.VENDOR_ADMIN))
    url = PARTNERS_API.format(slug=meridians.tenant.slug)
    client.get(url, {"q": "meridian", "page_size": 2})  # the count is cached after this
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, {"q": "meridian", "page_size": 2})
    assert response.status_code == 200
    reads = [q["sql"] for q in queries if 'FROM "partners_partner"' in q["sql"]]
    assert len(reads) == 1, reads
    assert "partners_partnersearchterm" not in reads[0], reads[0]
    # The page's two keys, sent as one array (the statement is compiled once for any page).
    assert re.search(r'"partners_partner"\."id" = ANY\(ARRAY\[\d+, ?\d+\]\)', reads[0]), reads[0]


def test_terms_carry_their_partners_name_through_create_rename_and_import(worlds):
    alpha, _ = worlds
    admin = alpha.member(Role.VENDOR_ADMIN)
    with tenant_scope(alpha.tenant):
        partner = services.partner_create(actor=admin, name="Acme Widgets", external_id="A-1")
        assert set(
            PartnerSearchTerm.objects.filter(partner_id=partner.pk).values_list("name", flat=True)
        ) == {"Acme Widgets"}
        services.partner_update(actor=admin, partner=partner, name="Zenith Gadgets")
        assert set(
            PartnerSearchTerm.objects.filter(partner_id=partner.pk).values_list("name", flat=True)
        ) == {"Zenith Gadgets"}
    import_csv(alpha, f"{HEADER}\nIMP-1,Imported Name Co,var,,EMEA,DACH,DE,new,achiever,active\n")
    with tenant_scope(alpha.tenant):
        names = PartnerSearchTerm.objects.filter(partner__external_id="IMP-1").values_list(
            "name", flat=True
        )
        assert set(names) == {"Imported Name Co"}
