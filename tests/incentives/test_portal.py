"""Portal pages of programs: what a partner admin and a rep see, enrolling by accepting the
terms, declining and withdrawing, the reasons an ineligible company gets, and terms rendered
from Markdown safely."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from incentives.markdown import render_markdown
from incentives.models import Enrollment, Program
from tenancy.audit import history_of
from tenancy.context import tenant_scope
from tenancy.roles import Role
from tests.factories.incentives import EnrollmentFactory, ProgramFactory, ProgramTermsFactory
from tests.factories.partners import PartnerFactory
from tests.factories.tenancy import MembershipFactory

PARTNER_ROLES = [Role.PARTNER_ADMIN, Role.PARTNER_REP]


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _url(name: str, *args) -> str:
    return reverse(name, args=["alpha", *args])


def _messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def _open_program(alpha, body: str = "Claims within 30 days.", **fields) -> Program:
    program = ProgramFactory(tenant=alpha.tenant, **fields)
    ProgramTermsFactory(program=program, body=body)
    return program


def _enrollment(alpha, program, partner=None) -> Enrollment | None:
    with tenant_scope(alpha.tenant):
        return Enrollment.objects.filter(program=program, partner=partner or alpha.partner).first()


@pytest.mark.parametrize("role", PARTNER_ROLES)
def test_partner_people_see_the_programs_open_to_their_company(worlds, role):
    alpha, _ = worlds
    open_program = _open_program(alpha, name="Open rebate")
    ProgramFactory(tenant=alpha.tenant, name="Draft idea", status="draft")
    ProgramFactory(tenant=alpha.tenant, name="Invite only", enrollment_mode="invitation")
    client = _client(alpha.user(role))
    page = client.get(_url("portal_programs"))
    assert page.status_code == 200
    assert [p.name for p, _ in page.context["enrolled"]] == ["Alpha Q3 SPIFF"]
    assert [p.name for p, _ in page.context["open"]] == ["Open rebate"]
    assert b"Draft idea" not in page.content
    assert b"Invite only" not in page.content
    detail = client.get(_url("portal_program", open_program.pk))
    assert detail.status_code == 200
    assert b"Claims within 30 days." in detail.content


@pytest.mark.parametrize("role", [Role.VENDOR_ADMIN, Role.CHANNEL_MANAGER, Role.CLAIMS_REVIEWER])
def test_staff_do_not_use_the_portal_program_pages(worlds, role):
    alpha, _ = worlds
    client = _client(alpha.user(role))
    assert client.get(_url("portal_programs")).status_code == 403
    assert client.get(_url("portal_program", alpha.program.pk)).status_code == 403
    response = client.post(_url("portal_program_enroll", alpha.program.pk), {"terms_version": 1})
    assert response.status_code == 403


def test_a_draft_or_uninvited_program_is_not_found_in_the_portal(worlds):
    alpha, _ = worlds
    draft = ProgramFactory(tenant=alpha.tenant, status="draft")
    invitation = ProgramFactory(tenant=alpha.tenant, enrollment_mode="invitation")
    client = _client(alpha.user(Role.PARTNER_ADMIN))
    for program in (draft, invitation):
        assert client.get(_url("portal_program", program.pk)).status_code == 404
        response = client.post(_url("portal_program_enroll", program.pk), {"terms_version": 1})
        assert response.status_code == 404


def test_partner_admin_enrolls_by_accepting_the_current_terms(worlds):
    alpha, _ = worlds
    program = _open_program(alpha, name="Open rebate")
    client = _client(alpha.user(Role.PARTNER_ADMIN))
    page = client.get(_url("portal_program", program.pk))
    assert b"Accept terms and enroll" in page.content
    assert b"Your company is eligible." in page.content
    response = client.post(
        _url("portal_program_enroll", program.pk), {"terms_version": "1"}, follow=True
    )
    assert "Your company is enrolled in Open rebate (terms version 1)." in _messages(response)
    enrollment = _enrollment(alpha, program)
    assert enrollment.status == "enrolled"
    assert enrollment.accepted_by == alpha.user(Role.PARTNER_ADMIN)
    assert enrollment.accepted_from == "127.0.0.1"
    assert enrollment.accepted_at is not None
    with tenant_scope(alpha.tenant):
        assert enrollment.terms.version == 1
        assert history_of(enrollment)[0].note == "from 127.0.0.1"
    assert b"Withdraw" in response.content
    assert b"accepted the terms" in response.content
    listing = client.get(_url("portal_programs"))
    assert "Open rebate" in [p.name for p, _ in listing.context["enrolled"]]


def test_a_rep_reads_the_program_but_cannot_enroll(worlds):
    alpha, _ = worlds
    program = _open_program(alpha, name="Open rebate")
    client = _client(alpha.user(Role.PARTNER_REP))
    page = client.get(_url("portal_program", program.pk))
    assert page.status_code == 200
    assert b"Ask your partner admin to enroll" in page.content
    assert b"Accept terms and enroll" not in page.content
    for name in ("portal_program_enroll", "portal_program_decline", "portal_program_withdraw"):
        assert client.post(_url(name, program.pk), {"terms_version": "1"}).status_code == 403
    assert _enrollment(alpha, program) is None


def test_a_partner_admin_acts_only_for_its_own_company(worlds):
    alpha, _ = worlds
    program = _open_program(alpha, name="Open rebate")
    other_admin = MembershipFactory(
        tenant=alpha.tenant, role="partner_admin", partner=alpha.other_partner
    ).user
    response = _client(other_admin).post(
        _url("portal_program_enroll", program.pk), {"terms_version": "1", "partner": 1}
    )
    assert response.status_code == 302
    assert _enrollment(alpha, program, alpha.other_partner).status == "enrolled"
    assert _enrollment(alpha, program, alpha.partner) is None
    # The other company's page shows its own state, never alpha.partner's enrollment.
    page = _client(other_admin).get(_url("portal_program", alpha.program.pk))
    assert page.context["enrollment"] is None


def test_an_ineligible_company_sees_why(worlds):
    alpha, _ = worlds
    program = _open_program(
        alpha, name="MSP only", eligibility={"types": ["msp"], "tiers": [alpha.tier.pk]}
    )
    client = _client(alpha.user(Role.PARTNER_ADMIN))
    page = client.get(_url("portal_program", program.pk)).content.decode()
    assert "Your company is not eligible for this program." in page
    assert "The program is open to type MSP; your company&#x27;s type is Reseller." in page
    assert "Accept terms and enroll" not in page
    response = client.post(
        _url("portal_program_enroll", program.pk), {"terms_version": "1"}, follow=True
    )
    assert _messages(response) == [
        "The program is open to type MSP; your company's type is Reseller."
    ]
    assert _enrollment(alpha, program) is None


def test_stale_terms_are_refused_with_a_message(worlds):
    alpha, _ = worlds
    program = _open_program(alpha, name="Open rebate")
    ProgramTermsFactory(program=program, version=2, body="Version two")
    response = _client(alpha.user(Role.PARTNER_ADMIN)).post(
        _url("portal_program_enroll", program.pk), {"terms_version": "1"}, follow=True
    )
    assert _messages(response) == [
        "The terms have changed since you opened them; read the current version."
    ]
    assert _enrollment(alpha, program) is None
    response = _client(alpha.user(Role.PARTNER_ADMIN)).post(
        _url("portal_program_enroll", program.pk), {"terms_version": "two"}, follow=True
    )
    assert _messages(response) == ["Open the terms and accept the version shown."]


def test_reaccepting_new_terms_restores_the_enrollment(worlds):
    alpha, _ = worlds
    ProgramTermsFactory(program=alpha.program, version=2, body="Version two")
    with tenant_scope(alpha.tenant):
        Enrollment.objects.filter(pk=alpha.enrollment.pk).update(status="reaccept")
    client = _client(alpha.user(Role.PARTNER_ADMIN))
    page = client.get(_url("portal_program", alpha.program.pk))
    assert b"The terms changed to version 2." in page.content
    assert b"Re-accept new terms" in page.content
    rep_page = _client(alpha.user(Role.PARTNER_REP)).get(_url("portal_program", alpha.program.pk))
    assert b"Re-accept new terms" not in rep_page.content
    client.post(_url("portal_program_enroll", alpha.program.pk), {"terms_version": "2"})
    enrollment = _enrollment(alpha, alpha.program)
    with tenant_scope(alpha.tenant):
        assert (enrollment.status, enrollment.terms.version) == ("enrolled", 2)


def test_an_invited_company_declines(worlds):
    alpha, _ = worlds
    program = _open_program(alpha, name="By invitation", enrollment_mode="invitation")
    EnrollmentFactory(program=program, partner=alpha.partner, status="invited")
    client = _client(alpha.user(Role.PARTNER_ADMIN))
    page = client.get(_url("portal_program", program.pk))
    assert b"Decline" in page.content
    assert b"Accept terms and enroll" in page.content
    response = client.post(_url("portal_program_decline", program.pk), follow=True)
    assert "Your company declined the invitation to By invitation." in _messages(response)
    assert _enrollment(alpha, program).status == "declined"
    assert b"This program is by invitation; your company has no open invitation." in (
        response.content
    )
    response = client.post(
        _url("portal_program_enroll", program.pk), {"terms_version": "1"}, follow=True
    )
    assert _messages(response) == ["This program is by invitation; your company is not invited."]


def test_an_enrolled_company_withdraws_and_cannot_withdraw_twice(worlds):
    alpha, _ = worlds
    client = _client(alpha.user(Role.PARTNER_ADMIN))
    response = client.post(_url("portal_program_withdraw", alpha.program.pk), follow=True)
    assert "Your company withdrew from Alpha Q3 SPIFF." in _messages(response)
    assert _enrollment(alpha, alpha.program).status == "withdrawn"
    response = client.post(_url("portal_program_withdraw", alpha.program.pk), follow=True)
    assert _messages(response) == ["Your company is withdrawn in this program."]
    assert client.get(_url("portal_program_withdraw", alpha.program.pk)).status_code == 405


MALICIOUS = """# Terms

<script>alert("x")</script>

Read [the rules](javascript:alert(1)) and [our site](https://vendor.example/rules).

<a href="https://vendor.example" onclick="steal()">click</a>
<img src="https://evil.example/x.png" onerror="steal()">
<p style="color:red" onmouseover="steal()">styled</p>

| Tier | Rate |
|------|-----:|
| Gold | 5%   |
"""


def test_markdown_terms_are_rendered_and_sanitised():
    html = render_markdown(MALICIOUS)
    assert "<h1>Terms</h1>" in html
    assert "<table>" in html
    assert "<td>Gold</td>" in html
    assert 'href="https://vendor.example/rules"' in html
    for forbidden in (
        "<script",
        "alert",
        "javascript:",
        "onclick",
        "onerror",
        "onmouseover",
        "style=",
        "<img",
        "steal",
    ):
        assert forbidden not in html, forbidden


def test_the_portal_shows_terms_without_anything_executable(worlds):
    alpha, _ = worlds
    program = _open_program(alpha, body=MALICIOUS)
    page = _client(alpha.user(Role.PARTNER_REP)).get(_url("portal_program", program.pk))
    terms = page.content.decode().split('data-testid="terms"')[1].split("</article>")[0]
    assert "<h1>Terms</h1>" in terms
    assert "javascript:" not in terms
    assert "<script" not in terms
    assert "onclick" not in terms


# The request shell (10), the programs, the company's enrollments of them.
PORTAL_LIST_QUERIES = 12


@pytest.mark.parametrize("size", [3, 30])
def test_portal_program_list_makes_a_fixed_number_of_queries(
    worlds, django_assert_max_num_queries, size
):
    alpha, _ = worlds
    with tenant_scope(alpha.tenant):
        PartnerFactory.create_batch(size, tenant=alpha.tenant)
    for i in range(size):
        program = ProgramFactory(tenant=alpha.tenant)
        if i % 2:
            EnrollmentFactory(program=program, partner=alpha.partner, status="invited")
    client = _client(alpha.user(Role.PARTNER_REP))
    with django_assert_max_num_queries(PORTAL_LIST_QUERIES):
        response = client.get(_url("portal_programs"))
    assert len(response.context["enrolled"]) + len(response.context["open"]) == size + 1
