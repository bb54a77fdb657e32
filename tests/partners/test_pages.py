"""Partner pages: the list with its filters, sorts, pages and "my partners"; the partner page;
the create and edit forms; the tier ladder. Who may do what, and fixed query counts."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from incentives.services.enrollments import auto_enroll
from partners.models import Partner, Tier
from tenancy.audit import ACTION_LABELS, record_event
from tenancy.context import tenant_scope
from tenancy.models import AuditEvent
from tenancy.roles import Role
from tests.factories.incentives import ProgramFactory
from tests.factories.partners import PartnerFactory
from tests.partners.test_selectors import FILTER_CASES, catalogue


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _names(response) -> list[str]:
    return [p["name"] for p in response.context["page"].object_list]


def _url(name: str, *args) -> str:
    return reverse(name, args=["alpha", *args])


# --- who may do what ---------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.VENDOR_ADMIN, Role.CHANNEL_MANAGER, Role.CLAIMS_REVIEWER])
def test_staff_read_the_partner_pages(worlds, role):
    alpha, _ = worlds
    client = _client(alpha.user(role))
    for url in (_url("partners"), _url("partner_detail", alpha.partner.pk), _url("tiers")):
        assert client.get(url).status_code == 200, url


@pytest.mark.parametrize("role", [Role.PARTNER_ADMIN, Role.PARTNER_REP])
def test_partner_people_get_none_of_the_partner_pages(worlds, role):
    alpha, _ = worlds
    client = _client(alpha.user(role))
    for url in (
        _url("partners"),
        _url("partner_create"),
        _url("partner_detail", alpha.partner.pk),
        _url("partner_edit", alpha.partner.pk),
        _url("tiers"),
    ):
        assert client.get(url).status_code == 403, url


@pytest.mark.parametrize("role", [Role.PARTNER_REP, Role.CLAIMS_REVIEWER])
def test_who_is_no_partner_editor_cannot_add_or_edit_partners(worlds, role):
    alpha, _ = worlds
    client = _client(alpha.user(role))
    edit = client.post(_url("partner_edit", alpha.partner.pk), _form_data(name="Renamed"))
    create = client.post(_url("partner_create"), _form_data(name="New Co"))
    assert (edit.status_code, create.status_code) == (403, 403)
    with tenant_scope(alpha.tenant):
        assert Partner.objects.get(pk=alpha.partner.pk).name == "Alpha Partner Ltd"
        assert not Partner.objects.filter(name="New Co").exists()


def test_edit_buttons_show_for_editors_only(worlds):
    alpha, _ = worlds
    edit_url = _url("partner_edit", alpha.partner.pk).encode()
    editor = _client(alpha.user(Role.CHANNEL_MANAGER)).get(_url("partners"))
    reviewer = _client(alpha.user(Role.CLAIMS_REVIEWER)).get(_url("partners"))
    assert edit_url in editor.content
    assert _url("partner_create").encode() in editor.content
    assert edit_url not in reviewer.content
    assert _url("partner_create").encode() not in reviewer.content


def test_another_tenants_staff_see_nothing(worlds):
    alpha, bravo = worlds
    client = _client(bravo.user(Role.VENDOR_ADMIN))
    assert client.get(_url("partners")).status_code == 404
    own = client.get(reverse("partners", args=["bravo"]))
    assert alpha.partner.name.encode() not in own.content
    detail = reverse("partner_detail", args=["bravo", alpha.partner.pk])
    assert client.get(detail).status_code == 404


# --- the list ----------------------------------------------------------------------------


@pytest.mark.parametrize("case", sorted(FILTER_CASES))
def test_list_filters_by_each_attribute(worlds, case):
    alpha, _ = worlds
    cat = catalogue(alpha)
    query, expected = FILTER_CASES[case]
    client = _client(alpha.user(Role.CHANNEL_MANAGER))
    response = client.get(f"{_url('partners')}?{query(alpha, cat)}")
    assert set(_names(response)) == expected


def test_filter_form_offers_every_attribute_and_keeps_the_choice(worlds):
    alpha, _ = worlds
    cat = catalogue(alpha)
    page = _client(alpha.user(Role.CHANNEL_MANAGER)).get(f"{_url('partners')}?region=APAC")
    form = page.content.decode().split('data-testid="partner-filters"')[1].split("</form>")[0]
    for name in ("q", "type", "tier", "region", "territory", "country", "stage", "segment"):
        assert f'name="{name}"' in form, name
    assert 'name="status"' in form
    assert 'name="channel_manager"' in form
    assert f'<option value="{cat.platinum.pk}">Platinum</option>' in form
    assert '<option value="APAC" selected>APAC</option>' in form
    assert escape(str(alpha.user(Role.CHANNEL_MANAGER))) in form  # CAM choices name the staff


def test_sort_links_reverse_the_current_sort_and_keep_filters(worlds):
    alpha, _ = worlds
    catalogue(alpha)
    client = _client(alpha.user(Role.CHANNEL_MANAGER))
    response = client.get(f"{_url('partners')}?sort=name&status=active")
    assert response.context["sorts"]["name"] == {
        "query": "status=active&sort=-name",
        "state": "ascending",
    }
    assert response.context["sorts"]["tier"]["query"] == "status=active&sort=tier"
    descending = client.get(f"{_url('partners')}?{response.context['sorts']['name']['query']}")
    assert _names(descending) == ["Northwind Traders", "Alpha Partner Ltd", "Alpha Other Partner"]
    assert b'aria-sort="descending"' in descending.content


def test_mine_shows_the_managers_partners_and_is_a_tab(worlds):
    alpha, _ = worlds
    catalogue(alpha)
    client = _client(alpha.user(Role.CHANNEL_MANAGER))
    everything = client.get(_url("partners"))
    assert b'data-testid="my-partners"' in everything.content
    assert everything.context["mine_query"] == "mine=1"
    mine = client.get(f"{_url('partners')}?mine=1")
    assert _names(mine) == ["Northwind Traders"]
    assert re.search(rb'aria-current="page" data-testid="my-partners"', mine.content)
    assert b'<input type="hidden" name="mine" value="1">' in mine.content


def test_pages_of_fifty_keep_the_query_string(worlds):
    alpha, _ = worlds
    with tenant_scope(alpha.tenant):
        Partner.objects.bulk_create(
            [Partner(name=f"Acme {n:03}", region="EMEA") for n in range(120)]
        )
    client = _client(alpha.user(Role.CHANNEL_MANAGER))
    first = client.get(f"{_url('partners')}?region=EMEA&sort=-name")
    assert len(first.context["page"].object_list) == 50
    assert first.context["page"].paginator.count == 120
    assert b'href="?region=EMEA&amp;sort=-name&amp;page=2"' in first.content
    second = client.get(f"{_url('partners')}?region=EMEA&sort=-name&page=2")
    assert _names(second)[0] == "Acme 069"
    assert b"page=1" in second.content
    assert b"page=3" in second.content


def test_htmx_live_search_is_kept(worlds):
    alpha, _ = worlds
    page = _client(alpha.user(Role.CHANNEL_MANAGER)).get(_url("partners")).content.decode()
    assert 'id="partner-results"' in page
    search = page.split('id="q"')[1].split(">")[0]
    for attribute in (
        'hx-get="/t/alpha/partners/"',
        'hx-target="#partner-results"',
        'hx-select="#partner-results"',
        'hx-push-url="true"',
    ):
        assert attribute in search


def test_export_and_import_links_carry_the_query(worlds):
    alpha, _ = worlds
    page = _client(alpha.user(Role.CHANNEL_MANAGER)).get(f"{_url('partners')}?region=EMEA&page=2")
    assert f'href="{_url("partner_export")}?region=EMEA"'.encode() in page.content
    assert f'href="{_url("partner_import")}"'.encode() in page.content


def test_pages_need_no_inline_script_or_style(worlds):
    alpha, _ = worlds
    client = _client(alpha.user(Role.VENDOR_ADMIN))
    for url in (
        _url("partners"),
        _url("partner_create"),
        _url("partner_detail", alpha.partner.pk),
        _url("partner_edit", alpha.partner.pk),
        _url("tiers"),
    ):
        body = client.get(url).content.decode()
        assert " style=" not in body, url
        assert re.search(r"<script(?![^>]*\bsrc=)", body) is None, url
        assert re.search(r"\son[a-z]+=", body) is None, url


# --- create and edit ---------------------------------------------------------------------


def _form_data(**overrides) -> dict:
    data = {
        "name": "Initech Resellers",
        "type": "reseller",
        "tier": "",
        "region": "EMEA",
        "territory": "Benelux",
        "country": "nl",
        "stage": "new",
        "segment": "unassessed",
        "channel_manager": "",
        "status": "active",
        "external_id": "",
    }
    return {**data, **overrides}


def test_create_page_adds_a_partner_with_every_attribute(worlds):
    alpha, _ = worlds
    cam = alpha.member(Role.CHANNEL_MANAGER)
    client = _client(cam.user)
    response = client.post(
        _url("partner_create"),
        _form_data(tier=alpha.tier.pk, channel_manager=cam.pk, external_id="SF-9"),
    )
    with tenant_scope(alpha.tenant):
        partner = Partner.objects.get(name="Initech Resellers")
    assert response["Location"] == _url("partner_detail", partner.pk)
    assert (partner.tier_id, partner.channel_manager_id) == (alpha.tier.pk, cam.pk)
    assert partner.country == "NL"
    assert partner.external_id == "SF-9"


def test_list_links_to_the_create_page_instead_of_a_quick_form(worlds):
    alpha, _ = worlds
    page = _client(alpha.user(Role.CHANNEL_MANAGER)).get(_url("partners"))
    assert b'id="id_name"' not in page.content
    assert f'href="{_url("partner_create")}">Add partner</a>'.encode() in page.content


@pytest.mark.parametrize(
    ("country", "reason"),
    [("D1", "Use a two-letter country code"), ("DEU", "at most 2 characters")],
)
def test_a_bad_country_is_an_error_on_the_country_field(worlds, country, reason):
    alpha, _ = worlds
    client = _client(alpha.user(Role.VENDOR_ADMIN))
    response = client.post(_url("partner_create"), _form_data(country=country))
    assert response.status_code == 200
    assert reason in response.context["form"].errors["country"][0]
    assert reason.encode() in response.content


def test_a_taken_crm_id_is_an_error_on_its_field(worlds):
    alpha, _ = worlds
    with tenant_scope(alpha.tenant):
        Partner.objects.filter(pk=alpha.partner.pk).update(external_id="SF-1")
    client = _client(alpha.user(Role.VENDOR_ADMIN))
    response = client.post(_url("partner_create"), _form_data(external_id="SF-1"))
    assert "already has the CRM id" in response.context["form"].errors["external_id"][0]


def test_another_tenants_tier_or_manager_is_not_a_choice(worlds):
    alpha, bravo = worlds
    client = _client(alpha.user(Role.VENDOR_ADMIN))
    response = client.post(
        _url("partner_create"),
        _form_data(tier=bravo.tier.pk, channel_manager=bravo.member(Role.CHANNEL_MANAGER).pk),
    )
    assert set(response.context["form"].errors) == {"tier", "channel_manager"}


def test_a_partner_person_is_not_a_channel_manager_choice(worlds):
    alpha, _ = worlds
    client = _client(alpha.user(Role.VENDOR_ADMIN))
    response = client.post(
        _url("partner_create"), _form_data(channel_manager=alpha.member(Role.PARTNER_REP).pk)
    )
    assert "channel_manager" in response.context["form"].errors


def test_edit_page_starts_from_the_partner_and_saves_a_change(worlds):
    alpha, _ = worlds
    client = _client(alpha.user(Role.CHANNEL_MANAGER))
    page = client.get(_url("partner_edit", alpha.partner.pk))
    assert page.context["form"].initial["tier"] == alpha.tier.pk
    assert page.context["form"].initial["name"] == "Alpha Partner Ltd"
    with tenant_scope(alpha.tenant):
        silver = Tier.objects.create(name="Silver", rank=2)
    data = _form_data(name="Alpha Partner Ltd", tier=silver.pk, stage="developing")
    response = client.post(_url("partner_edit", alpha.partner.pk), data)
    assert response["Location"] == _url("partner_detail", alpha.partner.pk)
    with tenant_scope(alpha.tenant):
        partner = Partner.objects.get(pk=alpha.partner.pk)
    assert (partner.tier_id, partner.stage, partner.region) == (silver.pk, "developing", "EMEA")


def test_edit_errors_land_on_their_fields(worlds):
    alpha, _ = worlds
    client = _client(alpha.user(Role.CHANNEL_MANAGER))
    response = client.post(
        _url("partner_edit", alpha.partner.pk), _form_data(name=" ", country="9Z")
    )
    assert set(response.context["form"].errors) == {"name"}  # required: the form catches it
    response = client.post(_url("partner_edit", alpha.partner.pk), _form_data(country="9Z"))
    assert "two-letter" in response.context["form"].errors["country"][0]


# --- the partner page --------------------------------------------------------------------


def test_partner_page_shows_attributes_people_and_programs(worlds):
    alpha, _ = worlds
    cat = catalogue(alpha)
    page = (
        _client(alpha.user(Role.CLAIMS_REVIEWER))
        .get(_url("partner_detail", cat.northwind.pk))
        .content.decode()
    )
    attributes = page.split('data-testid="partner-attributes"')[1].split("</dl>")[0]
    for shown in ("VAR", "Platinum", "EMEA", "DACH", "DE", "Established", "Achiever", "CRM-1"):
        assert shown in attributes, shown
    assert escape(str(alpha.user(Role.CHANNEL_MANAGER))) in attributes
    partner_page = _client(alpha.user(Role.CLAIMS_REVIEWER)).get(
        _url("partner_detail", alpha.partner.pk)
    )
    body = partner_page.content.decode()
    assert "partner_rep@alpha.example" in body
    assert "partner_admin@alpha.example" in body
    programs = body.split('data-testid="partner-programs"')[1].split("</table>")[0]
    assert alpha.program.name in programs
    assert "Enrolled" in programs


def test_an_automatic_enrollment_reads_enrolled_automatically(worlds):
    alpha, _ = worlds
    with tenant_scope(alpha.tenant):
        partner = PartnerFactory(tenant=alpha.tenant, name="Auto Partner", stage="new")
        program = ProgramFactory(
            tenant=alpha.tenant, enrollment_mode="automatic", eligibility={"stages": ["new"]}
        )
        auto_enroll(program_id=program.pk)
    page = _client(alpha.user(Role.VENDOR_ADMIN)).get(_url("partner_detail", partner.pk))
    programs = page.content.decode().split('data-testid="partner-programs"')[1]
    row = programs.split("</table>")[0].split(program.name)[1].split("</tr>")[0]
    assert "enrolled automatically" in row
    assert " by " not in row
    assert "v by" not in row


def test_history_shows_who_changed_what(worlds):
    alpha, _ = worlds
    cam = alpha.member(Role.CHANNEL_MANAGER)
    client = _client(cam.user)
    client.post(_url("partner_edit", alpha.partner.pk), _form_data(name="Alpha Partners Group"))
    page = client.get(_url("partner_detail", alpha.partner.pk))
    entry = page.context["timeline"][0]
    assert (entry.subject, entry.event.action, entry.event.actor) == (
        "Partner",
        "updated",
        cam.user,
    )
    assert ("name", "Alpha Partner Ltd", "Alpha Partners Group") in entry.changes
    assert ("territory", "", "Benelux") in entry.changes
    history = page.content.decode().split('data-testid="history"')[1].split("</ol>")[0]
    assert escape(str(cam.user)) in history
    assert "name: Alpha Partner Ltd → Alpha Partners Group" in history


def test_history_includes_the_partners_enrollments_in_one_timeline(worlds):
    alpha, bravo = worlds
    admin = alpha.user(Role.PARTNER_ADMIN)
    with tenant_scope(alpha.tenant):
        record_event(
            alpha.enrollment,
            action="enrolled",
            actor=admin,
            changes={"status": ["invited", "enrolled"]},
        )
    with tenant_scope(bravo.tenant):  # the same enrollment id in another tenant stays out
        AuditEvent.objects.create(
            entity="incentives.enrollment", entity_id=alpha.enrollment.pk, action="withdrawn"
        )
    page = _client(alpha.user(Role.VENDOR_ADMIN)).get(_url("partner_detail", alpha.partner.pk))
    timeline = page.context["timeline"]
    assert [(e.subject, e.event.action) for e in timeline] == [(alpha.program.name, "enrolled")]
    assert b"status: invited \xe2\x86\x92 enrolled" in page.content


def test_history_names_every_action_in_words(worlds):
    alpha, _ = worlds
    actions = ["imported_created", "imported_updated", "created", "updated", "enrolled"]
    with tenant_scope(alpha.tenant):
        for action in actions:
            record_event(alpha.partner, action=action, actor=None)
        for action in ["invited", "accepted", "declined", "withdrawn"]:
            record_event(alpha.enrollment, action=action, actor=None)
    page = _client(alpha.user(Role.VENDOR_ADMIN)).get(_url("partner_detail", alpha.partner.pk))
    history = page.content.decode().split('data-testid="history"')[1].split("</ol>")[0]
    assert "created by import · Partner" in history
    assert "changed by import · Partner" in history
    assert "_" not in re.sub(r"<[^>]*>", "", history)
    shown = {entry.event.action for entry in page.context["timeline"]}
    assert shown <= set(ACTION_LABELS)


# --- the tier ladder ---------------------------------------------------------------------


def _ladder(world) -> list[str]:
    with tenant_scope(world.tenant):
        return list(Tier.objects.order_by("rank").values_list("name", flat=True))


def test_vendor_admin_builds_the_ladder(worlds):
    alpha, _ = worlds
    client = _client(alpha.user(Role.VENDOR_ADMIN))
    assert client.post(_url("tiers"), {"name": "Silver"}).status_code == 302
    assert client.post(_url("tiers"), {"name": "Platinum"}).status_code == 302
    assert _ladder(alpha) == ["Alpha Gold", "Silver", "Platinum"]
    with tenant_scope(alpha.tenant):
        silver = Tier.objects.get(name="Silver")
    client.post(_url("tier_move", silver.pk), {"direction": "down"})
    assert _ladder(alpha) == ["Silver", "Alpha Gold", "Platinum"]
    client.post(_url("tier_move", silver.pk), {"direction": "up"})
    client.post(_url("tier_move", silver.pk), {"direction": "up"})
    assert _ladder(alpha) == ["Alpha Gold", "Platinum", "Silver"]
    client.post(_url("tier_move", silver.pk), {"direction": "up"})  # already at the top
    assert _ladder(alpha) == ["Alpha Gold", "Platinum", "Silver"]
    client.post(_url("tier_rename", silver.pk), {"name": "Diamond"})
    assert _ladder(alpha) == ["Alpha Gold", "Platinum", "Diamond"]
    page = client.get(_url("tiers"))
    assert [t.name for t in page.context["tiers"]] == ["Diamond", "Platinum", "Alpha Gold"]


def test_a_tier_with_partners_is_not_deleted(worlds):
    alpha, _ = worlds
    client = _client(alpha.user(Role.VENDOR_ADMIN))
    response = client.post(_url("tier_delete", alpha.tier.pk), follow=True)
    assert "move them to another tier first" in response.content.decode()
    assert _ladder(alpha) == ["Alpha Gold"]
    with tenant_scope(alpha.tenant):
        Partner.objects.filter(tier=alpha.tier).update(tier=None)
    response = client.post(_url("tier_delete", alpha.tier.pk), follow=True)
    assert "Alpha Gold deleted." in response.content.decode()
    assert _ladder(alpha) == []


def test_tier_errors_are_shown(worlds):
    alpha, _ = worlds
    client = _client(alpha.user(Role.VENDOR_ADMIN))
    response = client.post(_url("tiers"), {"name": "alpha gold"})
    assert response.status_code == 409  # the form again, answered as a conflict
    assert "There is a tier called" in response.context["form"].errors["name"][0]
    with tenant_scope(alpha.tenant):
        silver = Tier.objects.create(name="Silver", rank=2)
    renamed = client.post(_url("tier_rename", silver.pk), {"name": "Alpha Gold"}, follow=True)
    assert "There is a tier called" in renamed.content.decode()
    moved = client.post(_url("tier_move", silver.pk), {"direction": "sideways"}, follow=True)
    assert "not one of the available choices" in moved.content.decode()


@pytest.mark.parametrize("role", [Role.CHANNEL_MANAGER, Role.CLAIMS_REVIEWER])
def test_only_the_vendor_admin_changes_the_ladder(worlds, role):
    alpha, _ = worlds
    client = _client(alpha.user(role))
    page = client.get(_url("tiers"))
    assert page.status_code == 200
    assert alpha.tier.name.encode() in page.content
    assert _url("tier_delete", alpha.tier.pk).encode() not in page.content
    assert client.post(_url("tiers"), {"name": "Silver"}).status_code == 403
    assert client.post(_url("tier_rename", alpha.tier.pk), {"name": "X"}).status_code == 403
    assert client.post(_url("tier_move", alpha.tier.pk), {"direction": "up"}).status_code == 403
    assert client.post(_url("tier_delete", alpha.tier.pk)).status_code == 403
    assert _ladder(alpha) == ["Alpha Gold"]


def test_another_tenants_tier_is_not_found(worlds):
    alpha, bravo = worlds
    client = _client(bravo.user(Role.VENDOR_ADMIN))
    for name in ("tier_rename", "tier_move", "tier_delete"):
        url = reverse(name, args=["bravo", alpha.tier.pk])
        assert client.post(url, {"name": "X", "direction": "up"}).status_code == 404
    assert _ladder(alpha) == ["Alpha Gold"]


# --- query counts ------------------------------------------------------------------------

# The request's shell: the user (1), the memberships scope (5) and the tenant scope (4), as in
# tests/tenancy/test_pages.py. Then the list: the count, the page (tier and manager joined) and
# the filter choices (tiers, regions, territories, countries, channel managers): 17 in all.
LIST_QUERIES = 17
# The shell (10), the partner, its people, invitations, enrollments, its history and its
# enrollments' history.
DETAIL_QUERIES = 16


def _many_partners(world, size: int) -> None:
    cam = world.member(Role.CHANNEL_MANAGER)
    with tenant_scope(world.tenant):
        Partner.objects.bulk_create(
            [
                Partner(
                    name=f"Bulk {n:05}",
                    tier=world.tier,
                    channel_manager=cam,
                    region=f"R{n % 7}",
                    territory=f"T{n % 11}",
                    country="DE",
                )
                for n in range(size)
            ]
        )


@pytest.mark.parametrize("size", [10, 1000])
@pytest.mark.parametrize(
    "query", ["", "?sort=-tier", "?mine=1&region=R1&type=reseller&page=2", "?q=bulk"]
)
def test_partner_list_makes_a_fixed_number_of_queries(
    worlds, django_assert_max_num_queries, size, query
):
    alpha, _ = worlds
    _many_partners(alpha, size)
    client = _client(alpha.user(Role.CHANNEL_MANAGER))
    with django_assert_max_num_queries(LIST_QUERIES):
        response = client.get(_url("partners") + query)
    assert response.status_code == 200


@pytest.mark.parametrize("size", [3, 100])
def test_partner_page_makes_a_fixed_number_of_queries(worlds, django_assert_max_num_queries, size):
    alpha, _ = worlds
    cam = alpha.member(Role.CHANNEL_MANAGER)
    with tenant_scope(alpha.tenant):
        for n in range(size):
            record_event(
                alpha.partner, action="updated", actor=cam.user, changes={"name": [n, n + 1]}
            )
            record_event(alpha.enrollment, action="enrolled", actor=cam.user)
    PartnerFactory(tenant=alpha.tenant, name="Unrelated")
    client = _client(cam.user)
    with django_assert_max_num_queries(DETAIL_QUERIES):
        response = client.get(_url("partner_detail", alpha.partner.pk))
    assert len(response.context["timeline"]) == min(2 * size, 100)


def reference_rows(partners, *, tenant_slug: str, can_edit: bool) -> str:
    """`partners.views.partner_rows` as it was written with `format_html`, the reference its
    faster form must equal."""
    from django.utils.formats import date_format
    from django.utils.html import format_html
    from django.utils.safestring import mark_safe
    from django.utils.timezone import localtime

    from partners.views import LABELS, ROW

    detail = reverse("partner_detail", args=[tenant_slug, 0]).replace("/0/", "/{}/")
    edit = reverse("partner_edit", args=[tenant_slug, 0]).replace("/0/", "/{}/")
    out = []
    for p in partners:
        manager = p.channel_manager.user if p.channel_manager_id else None
        out.append(
            format_html(
                ROW,
                detail=detail.format(p.pk),
                name=p.name,
                crm=format_html("<br><small>{}</small>", p.external_id) if p.external_id else "",
                type=LABELS["type"].get(p.type, p.type),
                tier=p.tier.name if p.tier_id else "—",
                region=p.region or "—",
                territory=format_html(" · {}", p.territory) if p.territory else "",
                country=format_html("<br><small>{}</small>", p.country) if p.country else "",
                stage=LABELS["stage"].get(p.stage, p.stage),
                segment=LABELS["segment"].get(p.segment, p.segment),
                manager=manager if manager else mark_safe('<span class="muted">—</span>'),
                status=p.status,
                status_label=LABELS["status"].get(p.status, p.status),
                added=date_format(localtime(p.created_at), "j M Y"),
                edit=format_html(
                    '<td><a href="{}" aria-label="Edit {}">Edit</a></td>', edit.format(p.pk), p.name
                )
                if can_edit
                else "",
            )
        )
    return mark_safe("\n".join(out))  # noqa: S308  (each row built by format_html)


@pytest.mark.parametrize("can_edit", [True, False])
def test_the_partner_rows_equal_their_format_html_reference(worlds, can_edit):
    from partners.views import ROW_VALUES, partner_rows

    alpha, _ = worlds
    cam = alpha.member(Role.CHANNEL_MANAGER)
    PartnerFactory(
        tenant=alpha.tenant,
        name='<b>"Bold" & Sons\'</b>',
        external_id="CRM-<1>",
        region="EMEA",
        territory="DACH & <Nordics>",
        country="DE",
        tier=alpha.tier,
        channel_manager=cam,
        type="var",
    )
    with tenant_scope(alpha.tenant):
        partners = list(
            Partner.objects.select_related("tier", "channel_manager__user").order_by("pk")
        )
        values = list(Partner.objects.order_by("pk").values(*ROW_VALUES))
        rows = partner_rows(values, tenant_slug="alpha", can_edit=can_edit)
        expected = reference_rows(partners, tenant_slug="alpha", can_edit=can_edit)
    assert len(partners) == 3
    assert "&lt;b&gt;&quot;Bold&quot; &amp; Sons&#x27;&lt;/b&gt;" in rows
    assert rows == expected
