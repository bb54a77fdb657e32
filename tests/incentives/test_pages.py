"""Dashboard pages of programs: who may see and change what, the program form and its
state-locked fields, transitions, terms, invitations, required partners, history, and a fixed
number of queries whatever the number of programs and partners."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from incentives import selectors
from incentives.forms import ProgramForm, apply_program_errors
from incentives.models import Enrollment, Program, ProgramStatus
from incentives.services.figures import program_figures_refresh
from incentives.services.invite_jobs import invite_job_run
from incentives.services.programs import terms_publish
from partners.models import Partner
from tenancy.audit import history_of, record_event
from tenancy.context import tenant_scope
from tenancy.errors import ApplicationError
from tenancy.roles import Role
from tests.factories.incentives import EnrollmentFactory, ProgramFactory, ProgramTermsFactory
from tests.factories.partners import PartnerFactory

STAFF = [Role.VENDOR_ADMIN, Role.CHANNEL_MANAGER, Role.CLAIMS_REVIEWER]
EDITORS = [Role.VENDOR_ADMIN, Role.CHANNEL_MANAGER]


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _url(name: str, *args) -> str:
    return reverse(name, args=["alpha", *args])


def _messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def _form_data(**overrides) -> dict:
    data = {
        "name": "Q4 VAR SPIFF",
        "description": "Sell more switches.",
        "kind": "spiff",
        "starts_on": "2026-10-01",
        "ends_on": "2026-12-31",
        "claim_window_days": "45",
        "currency": "eur",
        "budget": "25000.00",
        "enrollment_mode": "invitation",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def _program(alpha, **fields) -> Program:
    with tenant_scope(alpha.tenant):
        return Program.objects.get(pk=ProgramFactory(tenant=alpha.tenant, **fields).pk)


def _reload(alpha, obj):
    with tenant_scope(alpha.tenant):
        obj.refresh_from_db()
    return obj


@pytest.mark.parametrize("role", STAFF)
def test_staff_read_program_pages_and_only_editors_open_the_form(worlds, role):
    alpha, _ = worlds
    client = _client(alpha.user(role))
    assert client.get(_url("programs")).status_code == 200
    detail = client.get(_url("program_detail", alpha.program.pk))
    assert detail.status_code == 200
    assert alpha.program.name.encode() in detail.content
    expected = 200 if role in EDITORS else 403
    assert client.get(_url("program_create")).status_code == expected
    assert client.get(_url("program_edit", alpha.program.pk)).status_code == expected


@pytest.mark.parametrize("role", [Role.PARTNER_ADMIN, Role.PARTNER_REP])
def test_partner_people_cannot_open_dashboard_program_pages(worlds, role):
    alpha, _ = worlds
    client = _client(alpha.user(role))
    for url in (
        _url("programs"),
        _url("program_create"),
        _url("program_detail", alpha.program.pk),
        _url("program_edit", alpha.program.pk),
    ):
        assert client.get(url).status_code == 403, url


def test_signed_out_visitors_are_sent_to_sign_in(worlds):
    response = Client().get(_url("programs"))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


@pytest.mark.parametrize("role", [Role.CLAIMS_REVIEWER, Role.PARTNER_ADMIN, Role.PARTNER_REP])
def test_people_who_are_not_program_editors_change_nothing(worlds, role):
    alpha, _ = worlds
    client = _client(alpha.user(role))
    pk = alpha.program.pk
    posts = {
        _url("program_create"): _form_data(),
        _url("program_edit", pk): _form_data(),
        _url("program_transition", pk): {"action": "pause"},
        _url("program_terms", pk): {"body": "New terms"},
        _url("program_required", pk): {"partner_ids": [alpha.partner.pk]},
        _url("program_invite", pk): {"everyone": "on"},
    }
    for url, data in posts.items():
        assert client.post(url, data).status_code == 403, url
    program = _reload(alpha, alpha.program)
    assert (program.status, program.name) == ("active", "Alpha Q3 SPIFF")
    with tenant_scope(alpha.tenant):
        assert program.terms_versions.count() == 1
        assert not program.required_partners.exists()


def test_channel_manager_creates_a_draft_program_with_eligibility(worlds):
    alpha, _ = worlds
    with tenant_scope(alpha.tenant):
        PartnerFactory(tenant=alpha.tenant, region="EMEA", country="DE")
    client = _client(alpha.user(Role.CHANNEL_MANAGER))
    form_page = client.get(_url("program_create"))
    assert form_page.context["form"]["currency"].value() == "USD"
    assert b'value="EMEA"' in form_page.content
    response = client.post(
        _url("program_create"),
        _form_data(
            eligibility_types=["var", "msp"],
            eligibility_tiers=[str(alpha.tier.pk)],
            eligibility_regions=["EMEA"],
        ),
    )
    with tenant_scope(alpha.tenant):
        program = Program.objects.get(name="Q4 VAR SPIFF")
    assert response["Location"] == _url("program_detail", program.pk)
    assert program.status == ProgramStatus.DRAFT
    assert program.currency == "EUR"
    assert program.budget == Decimal("25000.00")
    assert (program.claim_window_days, program.enrollment_mode) == (45, "invitation")
    assert program.eligibility == {
        "regions": ["EMEA"],
        "tiers": [alpha.tier.pk],
        "types": ["msp", "var"],
    }
    detail = client.get(response["Location"])
    assert "Type: MSP or VAR" in detail.content.decode()
    assert "Tier: Alpha Gold" in detail.content.decode()
    assert b"created the program" in detail.content


def test_service_errors_land_on_the_fields_they_name(worlds):
    alpha, _ = worlds
    client = _client(alpha.user(Role.VENDOR_ADMIN))
    response = client.post(_url("program_create"), _form_data(ends_on="2026-09-01", budget="-1"))
    assert response.status_code == 200
    assert "budget" in response.context["form"].errors
    response = client.post(_url("program_create"), _form_data(ends_on="2026-09-01"))
    assert response.context["form"].errors["ends_on"] == [
        "The program ends on or after the day it starts."
    ]
    with tenant_scope(alpha.tenant):
        assert not Program.objects.filter(name="Q4 VAR SPIFF").exists()


def test_eligibility_errors_are_mapped_onto_their_attribute_field(worlds):
    alpha, _ = worlds
    with tenant_scope(alpha.tenant):
        form = ProgramForm(data=_form_data(), tiers=[], values={})
        assert form.is_valid(), form.errors
        apply_program_errors(form, ApplicationError("No such tier: 9.", field="eligibility.tiers"))
        apply_program_errors(form, ApplicationError("Bad.", field="eligibility"))
    assert form.errors["eligibility_tiers"] == ["No such tier: 9."]
    assert form.non_field_errors() == ["Bad."]


def test_edit_form_shows_the_fields_an_active_program_locks_as_disabled(worlds):
    alpha, _ = worlds
    page = _client(alpha.user(Role.CHANNEL_MANAGER)).get(_url("program_edit", alpha.program.pk))
    form = page.context["form"]
    assert set(form.locked_fields) == {"kind", "starts_on", "currency", "enrollment_mode"}
    assert "disabled" in str(form["kind"])
    assert str(form["enrollment_mode"]).count("disabled") == 3  # one a radio button
    assert b"locked</span>" in page.content
    assert "disabled" not in str(form["name"])
    assert "disabled" not in str(form["eligibility_types"])


def test_edit_refuses_a_change_the_state_forbids_with_a_field_error(worlds):
    alpha, _ = worlds
    client = _client(alpha.user(Role.CHANNEL_MANAGER))
    response = client.post(
        _url("program_edit", alpha.program.pk),
        _form_data(
            name="Renamed",
            kind="rebate",
            starts_on="2026-01-01",
            currency="USD",
            budget="50000.00",
            enrollment_mode="open",
            ends_on="2026-12-31",
        ),
    )
    assert response.status_code == 200
    assert response.context["form"].errors["kind"] == ["Cannot change while the program is active."]
    program = _reload(alpha, alpha.program)
    assert (program.kind, program.name) == ("spiff", "Alpha Q3 SPIFF")


def test_edit_of_an_active_program_keeps_the_locked_fields_a_browser_leaves_out(worlds):
    alpha, _ = worlds
    client = _client(alpha.user(Role.CHANNEL_MANAGER))
    data = _form_data(
        name="Alpha Q3 SPIFF extended",
        ends_on="2027-01-31",
        budget="60000.00",
        kind=None,
        starts_on=None,
        currency=None,
        enrollment_mode=None,
        eligibility_types=["var"],
    )
    response = client.post(_url("program_edit", alpha.program.pk), data)
    assert response.status_code == 302, response.context and response.context["form"].errors
    program = _reload(alpha, alpha.program)
    assert program.name == "Alpha Q3 SPIFF extended"
    assert (program.ends_on, program.budget) == (date(2027, 1, 31), Decimal("60000.00"))
    assert (program.kind, program.currency, program.starts_on) == ("spiff", "USD", date(2026, 1, 1))
    assert program.eligibility == {"types": ["var"]}
    with tenant_scope(alpha.tenant):
        assert history_of(program)[0].changes["budget"] == ["50000.00", "60000.00"]


def test_a_closed_program_cannot_change_through_the_form(worlds):
    alpha, _ = worlds
    program = _program(alpha, status="closed", name="Old")
    client = _client(alpha.user(Role.VENDOR_ADMIN))
    page = client.get(_url("program_edit", program.pk))
    assert b"nothing about it can change" in page.content
    assert b"Save changes" not in page.content
    response = client.post(_url("program_edit", program.pk), _form_data(name="New"))
    assert response.status_code == 200
    assert "name" in response.context["form"].errors
    assert _reload(alpha, program).name == "Old"


def test_transitions_through_the_program_page(worlds):
    alpha, _ = worlds
    program = _program(alpha, status="draft")
    client = _client(alpha.user(Role.CHANNEL_MANAGER))
    url = _url("program_transition", program.pk)

    response = client.post(url, {"action": "activate"}, follow=True)
    assert "Publish the program's terms before it opens to partners." in _messages(response)
    assert _reload(alpha, program).status == "draft"

    ProgramTermsFactory(program=program)
    page = client.get(_url("program_detail", program.pk)).content.decode()
    assert 'value="activate"' in page
    assert 'value="pause"' not in page
    for action, status in [
        ("activate", "active"),
        ("pause", "paused"),
        ("activate", "active"),
        ("close", "closed"),
    ]:
        response = client.post(url, {"action": action})
        assert response["Location"] == _url("program_detail", program.pk)
        assert _reload(alpha, program).status == status
    response = client.post(url, {"action": "activate"}, follow=True)
    assert any("Only a draft or paused program can activate" in m for m in _messages(response))
    assert _reload(alpha, program).status == "closed"
    with tenant_scope(alpha.tenant):
        actions = [e.action for e in history_of(program)]
    assert actions[:4] == ["close", "activate", "pause", "activate"]


def test_publishing_terms_asks_enrolled_partners_to_accept_again(worlds):
    alpha, _ = worlds
    client = _client(alpha.user(Role.CHANNEL_MANAGER))
    response = client.post(
        _url("program_terms", alpha.program.pk), {"body": "## Version two\n\nNo stacking."}
    )
    assert response["Location"] == _url("program_detail", alpha.program.pk) + "#terms"
    assert _reload(alpha, alpha.enrollment).status == "reaccept"
    detail = client.get(_url("program_detail", alpha.program.pk)).content.decode()
    assert "<h2>Version two</h2>" in detail
    assert "Version 2" in detail
    assert "published terms" in detail
    portal = _client(alpha.user(Role.PARTNER_ADMIN)).get(_url("portal_program", alpha.program.pk))
    assert b"Re-accept new terms" in portal.content
    assert b'name="terms_version" value="2"' in portal.content


def test_empty_terms_are_refused_on_the_program_page(worlds):
    alpha, _ = worlds
    response = _client(alpha.user(Role.CHANNEL_MANAGER)).post(
        _url("program_terms", alpha.program.pk), {"body": "  "}
    )
    assert response.status_code == 200
    assert response.context["terms_form"].errors["body"]
    assert (
        _client(alpha.user(Role.CHANNEL_MANAGER))
        .get(_url("program_terms", alpha.program.pk))
        .status_code
        == 405
    )


def test_invite_all_eligible_partners_reports_the_counts(worlds):
    alpha, _ = worlds
    program = _program(alpha, enrollment_mode="invitation", eligibility={"types": ["var"]})
    with tenant_scope(alpha.tenant):
        vars_ = PartnerFactory.create_batch(3, tenant=alpha.tenant, type="var")
        EnrollmentFactory(program=program, partner=vars_[0], status="enrolled")
    client = _client(alpha.user(Role.CHANNEL_MANAGER))
    response = client.post(_url("program_invite", program.pk), {"everyone": "on"}, follow=True)
    assert (
        "Inviting the 3 eligible partners in the background; the progress is shown under "
        "Enrollments." in _messages(response)
    )
    assert 'hx-trigger="every 2s"' in response.content.decode()  # the page polls the progress
    with tenant_scope(alpha.tenant):
        job = selectors.invite_job_latest(program)
        invite_job_run(job_id=job.pk, seconds=60)  # what the worker does once the request commits
    page = client.get(_url("program_detail", program.pk)).content.decode()
    assert "3 of 3 partners gone through,\n    2 invited, 1 already invited or enrolled." in page
    assert 'hx-trigger="every 2s"' not in page
    with tenant_scope(alpha.tenant):
        statuses = dict(Enrollment.objects.filter(program=program).values_list("partner", "status"))
    assert statuses == {vars_[0].pk: "enrolled", vars_[1].pk: "invited", vars_[2].pk: "invited"}
    assert page.count("invited ·") == 2  # both invitations are in the history, with the partner


def test_invite_the_ticked_partners_counts_the_ineligible(worlds):
    alpha, _ = worlds
    program = _program(alpha, enrollment_mode="invitation", eligibility={"types": ["var"]})
    with tenant_scope(alpha.tenant):
        var = PartnerFactory(tenant=alpha.tenant, type="var")
    client = _client(alpha.user(Role.CHANNEL_MANAGER))
    response = client.post(
        _url("program_invite", program.pk),
        {"partner_ids": [var.pk, alpha.other_partner.pk]},
        follow=True,
    )
    assert "1 invited, 1 not eligible, 0 already invited or enrolled." in _messages(response)
    response = client.post(_url("program_invite", program.pk), {}, follow=True)
    assert "Tick the partners to invite, or invite all eligible ones." in _messages(response)


def test_required_partners_are_set_from_the_page_and_counted(worlds):
    alpha, _ = worlds
    client = _client(alpha.user(Role.CHANNEL_MANAGER))
    url = _url("program_required", alpha.program.pk)
    response = client.post(url, {"partner_ids": [alpha.partner.pk, alpha.other_partner.pk]})
    assert response["Location"].endswith("#partners")
    figures = client.get(_url("program_detail", alpha.program.pk)).context["figures"]
    assert (figures.required, figures.required_enrolled) == (2, 1)
    shown = [alpha.partner.pk, alpha.other_partner.pk]  # the page listed both; one stays ticked
    client.post(url, {"shown_partner_ids": shown, "partner_ids": [alpha.other_partner.pk]})
    with tenant_scope(alpha.tenant):
        assert list(alpha.program.required_partners.all()) == [alpha.other_partner]
    response = client.post(url, {"partner_ids": ["x"]}, follow=True)
    assert "Tick partners from the list." in _messages(response)


def test_partner_search_on_the_program_page_lists_matching_partners(worlds):
    alpha, _ = worlds
    with tenant_scope(alpha.tenant):
        PartnerFactory(tenant=alpha.tenant, name="Northwind Traders")
    client = _client(alpha.user(Role.CHANNEL_MANAGER))
    page = client.get(_url("program_detail", alpha.program.pk), {"pq": "northwind"})
    names = [p.name for p in page.context["picker_partners"]]
    assert names == ["Northwind Traders"]


def test_enrollments_table_filters_by_status(worlds):
    alpha, _ = worlds
    with tenant_scope(alpha.tenant):
        EnrollmentFactory(program=alpha.program, partner=alpha.other_partner, status="invited")
    client = _client(alpha.user(Role.CLAIMS_REVIEWER))
    page = client.get(_url("program_detail", alpha.program.pk), {"status": "invited"})
    assert [e.partner.name for e in page.context["enrollments"]] == ["Alpha Other Partner"]
    page = client.get(_url("program_detail", alpha.program.pk))
    assert len(page.context["enrollments"]) == 2


def test_program_history_shows_program_and_enrollment_events(worlds):
    alpha, _ = worlds
    admin = _client(alpha.user(Role.PARTNER_ADMIN))
    admin.post(_url("portal_program_withdraw", alpha.program.pk))
    page = _client(alpha.user(Role.VENDOR_ADMIN)).get(_url("program_detail", alpha.program.pk))
    history = page.content.decode().split('data-testid="history"')[1]
    assert "withdrew · Alpha Partner Ltd" in history
    assert "status: enrolled → withdrawn" in history


def test_program_events_carry_no_partner_name_of_an_enrollment_with_the_same_id(worlds):
    alpha, _ = worlds
    # An id neither sequence has reached, so that no enrollment of the worlds holds it already.
    program = _program(alpha, name="Fresh program", pk=1_000_000_000)
    with tenant_scope(alpha.tenant):
        # An enrollment of another program whose id is this program's id.
        EnrollmentFactory(pk=program.pk, program=alpha.program, partner=alpha.other_partner)
        record_event(program, action="terms_published", actor=None)
    page = _client(alpha.user(Role.VENDOR_ADMIN)).get(_url("program_detail", program.pk))
    history = page.content.decode().split('data-testid="history"')[1]
    assert "published terms" in history
    assert "Alpha Other Partner" not in history


def test_program_list_shows_figures_and_filters(worlds):
    alpha, _ = worlds
    _program(alpha, name="Draft rebate", status="draft", kind="rebate")
    client = _client(alpha.user(Role.CLAIMS_REVIEWER))
    page = client.get(_url("programs"))
    figures = page.context["figures"]
    rows = {row["name"]: figures[row["id"]] for row in page.context["rows"]}
    assert (rows["Alpha Q3 SPIFF"].eligible, rows["Alpha Q3 SPIFF"].enrolled) == (2, 1)
    assert "50%" in page.content.decode()
    filtered = client.get(_url("programs"), {"kind": "rebate", "status": "draft"})
    assert [row["name"] for row in filtered.context["rows"]] == ["Draft rebate"]
    searched = client.get(_url("programs"), {"q": "q3"})
    assert [row["name"] for row in searched.context["rows"]] == ["Alpha Q3 SPIFF"]


def test_program_list_answers_each_filter_with_its_own_rows_on_repeated_requests(worlds):
    alpha, _ = worlds
    _program(alpha, name="Draft rebate", status="draft", kind="rebate")
    client = _client(alpha.user(Role.CHANNEL_MANAGER))

    def names(**query) -> list[str]:
        return [row["name"] for row in client.get(_url("programs"), query).context["rows"]]

    for _ in range(2):  # the second round reads the statements kept from the first
        assert sorted(names()) == ["Alpha Q3 SPIFF", "Draft rebate"]
        assert names(status="draft") == ["Draft rebate"]
        assert names(kind="spiff", q="q3") == ["Alpha Q3 SPIFF"]
        assert names(kind="spiff", status="draft") == []


def test_a_rate_with_nothing_eligible_reads_no_data(worlds):
    alpha, _ = worlds
    program = _program(alpha, name="Iceland only", eligibility={"countries": ["IS"]})
    page = _client(alpha.user(Role.VENDOR_ADMIN)).get(_url("program_detail", program.pk))
    assert page.context["figures"].enrollment_rate is None
    assert b"no data" in page.content


def _grow(alpha, *, programs: int, partners: int) -> None:
    with tenant_scope(alpha.tenant):
        Partner.objects.bulk_create(
            [
                Partner(name=f"P{i:04}", type="var" if i % 2 else "msp", region="EMEA")
                for i in range(partners)
            ]
        )
        made = [
            ProgramFactory(
                tenant=alpha.tenant,
                eligibility={"types": ["var"], "tiers": [alpha.tier.pk]} if i % 2 else {},
            )
            for i in range(programs)
        ]
        Enrollment.objects.bulk_create(
            [
                Enrollment(program=made[0], partner=p, status="enrolled")
                for p in Partner.objects.all()[: partners // 2]
            ]
        )


# The request shell (session, user, the membership lookup and the tenant scope: 10), then the
# page's own: count, the page of programs, three statements of figures.
LIST_QUERIES = 15


@pytest.mark.parametrize(("programs", "partners"), [(3, 10), (30, 1000)])
def test_program_list_makes_a_fixed_number_of_queries(
    worlds, django_assert_max_num_queries, programs, partners
):
    alpha, _ = worlds
    _grow(alpha, programs=programs, partners=partners)
    client = _client(alpha.user(Role.CHANNEL_MANAGER))
    with django_assert_max_num_queries(LIST_QUERIES):
        response = client.get(_url("programs"))
    assert response.status_code == 200
    assert len(response.context["rows"]) == min(programs + 1, 25)


def test_program_list_counts_re_accepts_only_of_programs_past_their_first_terms(worlds):
    alpha, _ = worlds
    with tenant_scope(alpha.tenant):
        program_figures_refresh()  # stored figures: the list reads no enrollment for them
    client = _client(alpha.user(Role.CHANNEL_MANAGER))

    def reaccept_statements() -> tuple[str, list[str]]:
        with CaptureQueriesContext(connection) as queries:
            page = client.get(_url("programs")).content.decode()
        sql = [q["sql"] for q in queries.captured_queries]
        return page, [s for s in sql if '"incentives_enrollment"' in s and "'reaccept'" in s]

    page, asked = reaccept_statements()  # terms version 1: nothing can wait to re-accept
    assert asked == []
    assert "re-accept" not in page
    with tenant_scope(alpha.tenant):
        terms_publish(actor=alpha.member(Role.CHANNEL_MANAGER), program=alpha.program, body="v2")
    page, asked = reaccept_statements()
    assert len(asked) == 1
    assert "1 to re-accept" in page.split("Alpha Q3 SPIFF")[1].split("</tr>")[0]


# The shell (10), the program, its figures (3), the tier names its eligibility shows (1), the
# terms, two of enrollments (count, page), required partners, the partner picker, the history,
# the latest "invite all eligible" job.
DETAIL_QUERIES = 22


@pytest.mark.parametrize("partners", [10, 1000])
def test_program_page_makes_a_fixed_number_of_queries(
    worlds, django_assert_max_num_queries, partners
):
    alpha, _ = worlds
    _grow(alpha, programs=1, partners=partners)
    with tenant_scope(alpha.tenant):
        program = Program.objects.get(pk=alpha.program.pk)
        Program.objects.filter(pk=program.pk).update(
            eligibility={"types": ["var", "reseller"], "tiers": [alpha.tier.pk]}
        )
        Enrollment.objects.bulk_create(
            [
                Enrollment(program=program, partner=p, status="invited")
                for p in Partner.objects.exclude(pk=alpha.partner.pk)[: partners // 2]
            ]
        )
    client = _client(alpha.user(Role.CHANNEL_MANAGER))
    client.post(_url("program_required", program.pk), {"partner_ids": [alpha.partner.pk]})
    with django_assert_max_num_queries(DETAIL_QUERIES):
        response = client.get(_url("program_detail", program.pk))
    assert response.status_code == 200
    # The required partner only: nothing else is listed until a search is typed.
    assert [p.pk for p in response.context["picker_partners"]] == [alpha.partner.pk]


def test_a_closed_program_takes_no_new_terms(worlds):
    alpha, _ = worlds
    program = _program(alpha, status="closed")
    client = _client(alpha.user(Role.CHANNEL_MANAGER))
    page = client.get(_url("program_detail", program.pk))
    assert _url("program_terms", program.pk).encode() not in page.content
    assert _url("program_invite", program.pk).encode() not in page.content
    response = client.post(_url("program_terms", program.pk), {"body": "Late"}, follow=True)
    assert _messages(response) == ["A closed program's terms cannot change."]
    with tenant_scope(alpha.tenant):
        assert not program.terms_versions.exists()


# The program rows as the template wrote them before `incentives.views.program_rows`.
TEMPLATE_ROWS = """{% load programs %}{% for program, figures in rows %}
    <tr>
      <td><a href="{% url 'program_detail' tenant.slug program.pk %}">{{ program.name }}</a></td>
      <td>{{ program.get_kind_display }}</td>
      <td><span class="badge status-{{ program.status }}">{{ program.get_status_display }}</span></td>
      <td>{{ program.starts_on|date:"j M Y" }} – {{ program.ends_on|date:"j M Y" }}</td>
      <td class="num">{{ figures.eligible }}</td>
      <td class="num">{{ figures.enrolled }}</td>
      <td class="num">{{ figures.enrollment_rate|rate }}{% if program.to_reaccept %}<br><small class="reaccept" title="Enrolled partners who have not yet accepted the current terms">{{ program.to_reaccept }} to re-accept</small>{% endif %}</td>
      <td class="num">{% if figures.required %}{{ figures.required_enrolled }} of {{ figures.required }}{% else %}<span class="muted">none required</span>{% endif %}</td>
    </tr>{% endfor %}"""  # noqa: E501, RUF001


def test_the_program_rows_equal_what_the_template_wrote(worlds):
    import re

    from django.template import Context, Template

    from incentives.views import ROW_VALUES, program_rows

    alpha, _ = worlds
    ProgramFactory(tenant=alpha.tenant, name='<i>"Q4" & Sons\'</i>', status="draft")
    with tenant_scope(alpha.tenant):
        program_figures_refresh()  # stored rows for these two, the next one computed live
        ProgramFactory(tenant=alpha.tenant, name="Paused", status="paused", kind="mdf")
        programs = list(Program.objects.order_by("pk"))
        figures = selectors.program_figures(programs)
        to_reaccept = {}
        for number, program in enumerate(programs):
            program.to_reaccept = to_reaccept[program.pk] = number  # one with none, others some
        pairs = [(program, figures[program.pk]) for program in programs]
        rows = list(selectors.program_list_rows(Program.objects.order_by("pk"), columns=ROW_VALUES))
        html = program_rows(
            rows,
            figures=selectors.program_row_figures(rows),
            to_reaccept=to_reaccept,
            tenant_slug="alpha",
        )
        expected = Template(TEMPLATE_ROWS).render(Context({"rows": pairs, "tenant": alpha.tenant}))
    assert "&lt;i&gt;&quot;Q4&quot; &amp; Sons&#x27;&lt;/i&gt;" in html
    assert "1 to re-accept" in html
    assert html == re.sub(r">\s+<", "><", expected).strip()
