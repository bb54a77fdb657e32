"""Reads of partner companies and tiers."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from django.core.cache import cache
from django.db import connection
from django.db.models import QuerySet
from django.http import Http404

from partners.models import (
    PARTNERS_KIND,
    Partner,
    PartnerImport,
    PartnerSearchTerm,
    SearchTermKind,
    Tier,
)
from partners.search import MAX_WORDS, TERM_LENGTH, TOP, searchable
from tenancy.api.pagination import CompiledRows, KeysFirst
from tenancy.caching import bump_generation, forget
from tenancy.context import current_tenant_id
from tenancy.models import Membership
from tenancy.permissions import is_partner_person
from tenancy.query import query_int, query_ints
from tenancy.selectors import staff_list

SORTS = {
    "name": ("name", "pk"),
    "-name": ("-name", "-pk"),
    "created": ("created_at", "pk"),
    "-created": ("-created_at", "-pk"),
    "tier": ("tier__rank", "name", "pk"),
    "-tier": ("-tier__rank", "name", "pk"),
    "region": ("region", "name", "pk"),
    "stage": ("stage", "name", "pk"),
}


@dataclass
class PartnerFilters:
    """Every attribute a partner list can be narrowed by; empty means any."""

    search: str = ""
    types: list[str] = field(default_factory=list)
    tiers: list[int] = field(default_factory=list)
    regions: list[str] = field(default_factory=list)
    territories: list[str] = field(default_factory=list)
    countries: list[str] = field(default_factory=list)
    stages: list[str] = field(default_factory=list)
    segments: list[str] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)
    channel_manager: int | None = None
    sort: str = "name"

    @classmethod
    def from_query(cls, params, *, me: Membership | None = None) -> PartnerFilters:
        """From a query string: ?q=&type=var&type=msp&tier=3&region=EMEA&mine=1&sort=-name."""
        manager = query_int(params, "channel_manager")
        if params.get("mine") and me is not None:
            manager = me.pk
        return cls(
            search=params.get("q", "").strip(),
            types=[v for v in params.getlist("type") if v],
            tiers=query_ints(params, "tier"),
            regions=[v for v in params.getlist("region") if v],
            territories=[v for v in params.getlist("territory") if v],
            countries=[v.upper() for v in params.getlist("country") if v],
            stages=[v for v in params.getlist("stage") if v],
            segments=[v for v in params.getlist("segment") if v],
            statuses=[v for v in params.getlist("status") if v],
            channel_manager=manager,
            sort=params.get("sort", "name") if params.get("sort") in SORTS else "name",
        )


def partner_list_for(
    actor: Membership, filters: PartnerFilters | None = None, *, search: str = ""
) -> QuerySet[Partner]:
    """Partners `actor` may see, filtered and sorted: all of the tenant's for staff, their own
    for partner people. A search keeps the partners `partner_ids_matching` finds."""
    filters = filters or PartnerFilters(search=search)
    queryset = Partner.objects.select_related("tier", "channel_manager__user")
    if is_partner_person(actor):
        queryset = queryset.filter(pk=actor.partner_id)
    if filters.search:
        queryset = queryset.filter(pk__in=partner_ids_matching(filters.search))
    for values, lookup in (
        (filters.types, "type__in"),
        (filters.tiers, "tier_id__in"),
        (filters.regions, "region__in"),
        (filters.territories, "territory__in"),
        (filters.countries, "country__in"),
        (filters.stages, "stage__in"),
        (filters.segments, "segment__in"),
        (filters.statuses, "status__in"),
    ):
        if values:
            queryset = queryset.filter(**{lookup: values})
    if filters.channel_manager is not None:
        queryset = queryset.filter(channel_manager_id=filters.channel_manager)
    return queryset.order_by(*SORTS[filters.sort])


# The sorts a search's page can be chosen in from the search terms alone (they carry the name).
KEY_SORTS = {"name": ("name", "partner_id"), "-name": ("-name", "-partner_id")}


def partner_rows_for(
    actor: Membership, filters: PartnerFilters, fields: tuple[str, ...], *, key: tuple
) -> CompiledRows | KeysFirst:
    """The list `partner_list_for` gives, as `values(*fields)` rows to be read a page at a
    time. A search over all the tenant's partners with no other filter, sorted by name, is a
    `KeysFirst` list: its page is picked from the search terms' index (which carries each
    partner's name) and only that page's partners are read. A list is read by its statement,
    a search by its keys' statement, compiled once for `key` (`CompiledRows`: who asks and the
    request's parameters, `tenancy.api.pagination.list_key`), which the filters must be made
    from; so a repeated search does not ask the database for its words again."""
    only_search = (
        filters.search
        and filters.sort in KEY_SORTS
        and replace(filters, search="", sort="name") == PartnerFilters()
        and not is_partner_person(actor)
    )
    if not only_search:
        return CompiledRows(key, lambda: partner_list_for(actor, filters).values(*fields))
    keys = CompiledRows(
        key,
        lambda: partner_ids_matching(filters.search, with_name=True).order_by(
            *KEY_SORTS[filters.sort]
        ),
    )
    every = replace(filters, search="")  # staff only (above): the rows depend on the sort alone
    return KeysFirst(
        keys,
        ("partner-rows-by-key", filters.sort, fields),
        lambda ids: partner_list_for(actor, every).filter(pk__any_of=ids).values(*fields),
    )


# A query's words, as the function that wrote the terms splits them, in the order they first
# appear, and the query as a CRM id's term.
QUERY_TERMS_SQL = (
    "SELECT ARRAY(SELECT word FROM partners_search_words(%s) ORDER BY place LIMIT %s),"
    " left(normalize(lower(%s), NFC), %s)"
)


def query_terms(query: str) -> tuple[list[str], str]:
    """The words of `query` and its CRM-id term, from the database (`partners.search`)."""
    with connection.cursor() as cursor:
        cursor.execute(QUERY_TERMS_SQL, [query, MAX_WORDS, query, TERM_LENGTH])
        words, crm_id = cursor.fetchone()
    return list(words), crm_id


def partner_ids_matching(text: str, *, with_name: bool = False) -> QuerySet:
    """Ids of the bound tenant's partners that `text` finds, as a subquery: those whose name has,
    for every word of `text`, a word that starts with it (in any order, any case), and the one
    whose CRM id is `text`, in any case. A query with no letters or digits has no words and
    finds only a CRM id equal to it. See `partners.search` for the limits.

    The query's words are asked of the database first (one short statement), so that they
    reach the search as values: PostgreSQL then estimates each word's matches from the terms'
    statistics and picks the plan for a rare word or a common one. One index range scan of the
    terms a word (`term >= word AND term < word || U+10FFFF`, byte order under the column's C
    collation; their results intersected) and one index lookup for the CRM id: only byte-order
    comparisons and equality on `term`, which PostgreSQL may evaluate under row-level security
    before the policy, so each is an index condition.

    `with_name`: `(partner_id, name)` tuples instead, read from the same index, for a page
    chosen by name (`partner_rows_for`)."""
    if with_name:
        terms = PartnerSearchTerm.objects.values_list("partner_id", "name")
    else:
        terms = PartnerSearchTerm.objects.values("partner_id")
    query = searchable(text)
    if query is None:
        return terms.none()
    words, crm_id = query_terms(query)
    each_word = [
        terms.filter(kind=SearchTermKind.WORD, term__gte=word, term__lt=word + TOP)
        for word in words
    ]
    by_crm_id = terms.filter(kind=SearchTermKind.CRM_ID, term=crm_id)
    if not each_word:
        return by_crm_id
    every_word = each_word[0].intersection(*each_word[1:]) if len(each_word) > 1 else each_word[0]
    return every_word.union(by_crm_id)


def access_partner(actor: Membership, partner_id: object) -> Partner:
    try:
        return partner_list_for(actor).get(pk=int(partner_id))
    except (Partner.DoesNotExist, ValueError, TypeError):
        raise Http404("No such partner.") from None


def tier_list() -> QuerySet[Tier]:
    return Tier.objects.order_by("rank", "name")


def access_tier(tier_id: object) -> Tier:
    try:
        return tier_list().get(pk=int(tier_id))
    except (Tier.DoesNotExist, ValueError, TypeError):
        raise Http404("No such tier.") from None


FILTER_FIELDS = ("region", "territory", "country")
# A backstop only: every change the menus show drops them when it commits.
FILTER_VALUES_SECONDS = 600
# Bumped when a person is renamed: the channel-manager menus of every tenant show names.
MENUS_GENERATION_KEY = "partners:filter-menus:generation"


@dataclass(frozen=True)
class MenuItem:
    """One choice of a filter menu: the id the filter takes and the name shown."""

    pk: int
    name: str


def _filter_values_key(tenant_id: int | None = None) -> str:
    return f"partners:filter-values:v1:{tenant_id or current_tenant_id()}"


def _menus_key(tenant_id: int | None = None) -> str:
    return f"partners:filter-menus:v1:{tenant_id or current_tenant_id()}"


def filter_values() -> dict[str, list]:
    """The choices of the partner list's filter menus in the bound tenant: the regions,
    territories and countries in use (three DISTINCT scans of the partners), the tiers and the
    staff who can be channel account managers (`MenuItem`s). Read once, then from the cache
    (Redis, one round trip for all of them) until a partner, a tier, a membership or a
    person's name changes (`forget_filter_values`, `forget_filter_menus`)."""
    values_key, menus_key = _filter_values_key(), _menus_key()
    found = cache.get_many([values_key, menus_key, MENUS_GENERATION_KEY])
    values = found.get(values_key)
    if values is None:
        values = {name: distinct_values(name) for name in FILTER_FIELDS}
        cache.set(values_key, values, FILTER_VALUES_SECONDS)
    generation = found.get(MENUS_GENERATION_KEY, 0)
    menus = found.get(menus_key)
    if menus is None or menus[0] != generation:
        menus = (generation, _read_menus())
        cache.set(menus_key, menus, FILTER_VALUES_SECONDS)
    return {**values, **menus[1]}


def _read_menus() -> dict[str, list[MenuItem]]:
    return {
        "tiers": [MenuItem(tier.pk, tier.name) for tier in tier_list()],
        "managers": [MenuItem(m.pk, str(m.user)) for m in staff_list()],
    }


def forget_filter_values() -> None:
    """Drop the bound tenant's cached regions, territories and countries, now and when the
    transaction commits (a page read between the two would otherwise cache the old values
    again)."""
    forget([_filter_values_key()])


def forget_filter_menus(tenant_id: int) -> None:
    """Drop a tenant's cached tier and channel-manager menus, now and on commit."""
    forget([_menus_key(tenant_id)])


def forget_all_filter_menus() -> None:
    """Make every tenant's cached menus stale (a person's name changed), now and on commit."""
    bump_generation(MENUS_GENERATION_KEY)


def distinct_values(field_name: str) -> list[str]:
    """The values in use for a free-text attribute (region, territory, country), for filters."""
    return list(
        Partner.objects.exclude(**{field_name: ""})
        .order_by(field_name)
        .values_list(field_name, flat=True)
        .distinct()
    )


def partner_import_list_for(actor: Membership) -> QuerySet[PartnerImport]:
    """The tenant's partner imports (not other kinds: see `csv_io.ImportKind`), newest first,
    for vendor staff; nothing for partner people."""
    imports = (
        PartnerImport.objects.filter(kind=PARTNERS_KIND)
        .defer("content")
        .order_by("-created_at", "-pk")
    )
    return imports.none() if is_partner_person(actor) else imports


def access_partner_import(actor: Membership, import_id: object) -> PartnerImport:
    try:
        return partner_import_list_for(actor).get(pk=int(import_id))
    except (PartnerImport.DoesNotExist, ValueError, TypeError):
        raise Http404("No such import.") from None
