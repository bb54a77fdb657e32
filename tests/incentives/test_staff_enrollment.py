"""Vendor staff enroll a partner on its behalf (a program that runs on paper): a required reason,
recorded on the enrollment and in its history; eligibility and the program's state still apply;
a second enrollment of the same partner is a 409; the page, the API and the partner page show
who accepted the terms for the partner and why."""

from __future__ import annotations

import threading

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test import Client
from django.urls import reverse

from incentives.models import Enrollment, Program
from incentives.services.enrollments import enrollment_accept, enrollment_enroll_on_behalf
from incentives.services.programs import terms_publish
from partners.models import Partner
from tenancy.context import tenant_scope
from tenancy.errors import ApplicationError, Conflict, NotPermitted
from tenancy.models import AuditEvent
from tenancy.roles import Role
from tests.conftest import build_world, client_for
from tests.factories.incentives import EnrollmentFactory, ProgramFactory, ProgramTermsFactory
from tests.factories.partners import PartnerFactory

REASON = "Signed the paper form at the partner summit"


@pytest.fixture
def paper_program(alpha):
    program = ProgramFactory(tenant=alpha.tenant, name="Paper rebate", enrollment_mode="invitation")
    ProgramTermsFactory(program=program, version=1)
    return program


def enroll(world, program, partner, *, reason=REASON, role=Role.CHANNEL_MANAGER, **kwargs):
    with tenant_scope(world.tenant):
        program = Program.objects.get(pk=program.pk)
        return enrollment_enroll_on_behalf(
            actor=world.member(role),
            program=program,
            partner_id=partner.pk if isinstance(partner, Partner) else partner,
            reason=reason,
            **kwargs,
        )


def _reload(world, enrollment):
    with tenant_scope(world.tenant):
        return Enrollment.objects.select_related("terms", "accepted_by").get(pk=enrollment.pk)


# The service


@pytest.mark.parametrize("role", [Role.VENDOR_ADMIN, Role.CHANNEL_MANAGER])
def test_staff_enroll_a_partner_on_its_behalf_with_the_reason_recorded(worlds, paper_program, role):
    alpha, _ = worlds
    enrollment = _reload(alpha, enroll(alpha, paper_program, alpha.other_partner, role=role))
    assert enrollment.status == "enrolled"
    assert enrollment.partner_id == alpha.other_partner.pk
    assert enrollment.terms.version == 1
    assert enrollment.accepted_by == alpha.user(role)
    assert enrollment.accepted_at is not None
    assert enrollment.on_behalf is True
    assert enrollment.on_behalf_reason == REASON
    with tenant_scope(alpha.tenant):
        [event] = AuditEvent.objects.filter(entity="incentives.enrollment", entity_id=enrollment.pk)
    assert (event.action, event.actor) == ("enrolled_on_behalf", alpha.user(role))
    assert event.changes == {"status": [None, "enrolled"], "terms_version": [None, 1]}
    assert event.note == f"on behalf: {REASON}"


@pytest.mark.parametrize(
    ("reason", "message"),
    [
        ("", "Give the reason"),
        ("   ", "Give the reason"),
        (None, "Give the reason"),
        ("x" * 501, "at most 500 characters"),
        ("Paper\u202eform", "invisible or control character"),
        ("two\nlines", "invisible or control character"),
        (42, "must be text"),
    ],
)
def test_the_reason_is_required_clean_and_bounded(worlds, paper_program, reason, message):
    alpha, _ = worlds
    with pytest.raises(ApplicationError) as error:
        enroll(alpha, paper_program, alpha.other_partner, reason=reason)
    assert list(error.value.errors) == ["reason"]
    assert message in error.value.errors["reason"][0]
    with tenant_scope(alpha.tenant):
        assert not Enrollment.objects.filter(
            program=paper_program, partner=alpha.other_partner
        ).exists()


def test_the_reason_is_stored_in_nfc_without_surrounding_space(worlds, paper_program):
    alpha, _ = worlds
    enrollment = enroll(alpha, paper_program, alpha.other_partner, reason="  Cafe\u0301 form  ")
    assert _reload(alpha, enrollment).on_behalf_reason == "Caf\u00e9 form"


def test_eligibility_still_applies(worlds, paper_program):
    alpha, _ = worlds
    with tenant_scope(alpha.tenant):
        Program.objects.filter(pk=paper_program.pk).update(eligibility={"types": ["msp"]})
    with pytest.raises(ApplicationError) as error:
        enroll(alpha, paper_program, alpha.other_partner)
    assert error.value.code == "ineligible"
    assert "partner_id" in error.value.errors
    assert "open to type MSP" in error.value.message


def test_an_already_enrolled_partner_is_a_duplicate_conflict(worlds, paper_program):
    alpha, _ = worlds
    enroll(alpha, paper_program, alpha.other_partner)
    with pytest.raises(Conflict) as error:
        enroll(alpha, paper_program, alpha.other_partner, reason="Again")
    assert error.value.code == "duplicate"
    assert "already enrolled" in error.value.message
    with tenant_scope(alpha.tenant):
        assert AuditEvent.objects.filter(action="enrolled_on_behalf").count() == 1


@pytest.mark.parametrize("status", ["invited", "declined", "withdrawn", "reaccept"])
def test_an_invited_declined_withdrawn_or_reaccept_partner_is_enrolled_on_the_current_terms(
    worlds, paper_program, status
):
    alpha, _ = worlds
    with tenant_scope(alpha.tenant):
        EnrollmentFactory(program=paper_program, partner=alpha.other_partner, status=status)
        ProgramTermsFactory(program=paper_program, version=2)
    enrollment = _reload(alpha, enroll(alpha, paper_program, alpha.other_partner))
    assert (enrollment.status, enrollment.terms.version) == ("enrolled", 2)


def test_a_stale_terms_version_is_a_conflict(worlds, paper_program):
    alpha, _ = worlds
    with tenant_scope(alpha.tenant):
        terms_publish(actor=alpha.member(Role.CHANNEL_MANAGER), program=paper_program, body="v2")
    with pytest.raises(Conflict) as error:
        enroll(alpha, paper_program, alpha.other_partner, terms_version=1)
    assert (error.value.code, list(error.value.errors)) == ("stale_terms", ["terms_version"])
    assert enroll(alpha, paper_program, alpha.other_partner, terms_version=2).terms.version == 2


@pytest.mark.parametrize("status", ["draft", "paused", "closed"])
def test_only_an_active_program_takes_enrollments(worlds, status):
    alpha, _ = worlds
    program = ProgramFactory(tenant=alpha.tenant, status=status)
    ProgramTermsFactory(program=program)
    with pytest.raises(Conflict):
        enroll(alpha, program, alpha.other_partner)


def test_a_program_without_terms_takes_no_enrollment_on_behalf(worlds):
    alpha, _ = worlds
    program = ProgramFactory(tenant=alpha.tenant, enrollment_mode="automatic")
    with pytest.raises(ApplicationError) as error:
        enroll(alpha, program, alpha.other_partner)
    assert error.value.code == "no_terms"


@pytest.mark.parametrize("role", [Role.CLAIMS_REVIEWER, Role.PARTNER_ADMIN, Role.PARTNER_REP])
def test_only_program_editors_enroll_on_behalf(worlds, paper_program, role):
    alpha, _ = worlds
    with pytest.raises(NotPermitted):
        enroll(alpha, paper_program, alpha.other_partner, role=role)


def test_another_tenants_partner_is_no_such_partner(worlds, paper_program):
    alpha, bravo = worlds
    with pytest.raises(ApplicationError) as error:
        enroll(alpha, paper_program, bravo.other_partner)
    assert error.value.errors == {"partner_id": ["No such partner."]}


def test_the_partner_accepting_itself_later_replaces_the_staff_acceptance(worlds, paper_program):
    alpha, _ = worlds
    enroll(alpha, paper_program, alpha.partner)
    with tenant_scope(alpha.tenant):
        terms_publish(actor=alpha.member(Role.CHANNEL_MANAGER), program=paper_program, body="v2")
        enrollment = enrollment_accept(
            actor=alpha.member(Role.PARTNER_ADMIN), program=paper_program, terms_version=2
        )
    enrollment = _reload(alpha, enrollment)
    assert (enrollment.on_behalf, enrollment.on_behalf_reason) == (False, "")
    assert enrollment.accepted_by == alpha.user(Role.PARTNER_ADMIN)


# The API


def _api(world, program):
    return f"/api/v1/t/{world.tenant.slug}/programs/{program.pk}/enroll-on-behalf/"


def test_api_enrolls_on_behalf_and_shows_it_on_the_enrollment(worlds, paper_program):
    alpha, _ = worlds
    client = client_for(alpha.user(Role.CHANNEL_MANAGER))
    body = {"partner_id": alpha.other_partner.pk, "reason": REASON, "terms_version": 1}
    response = client.post(_api(alpha, paper_program), body, format="json")
    assert response.status_code == 201, response.json()
    data = response.json()
    assert (data["status"], data["on_behalf"], data["on_behalf_reason"]) == (
        "enrolled",
        True,
        REASON,
    )
    assert data["accepted_by"] == alpha.user(Role.CHANNEL_MANAGER).email
    again = client.post(_api(alpha, paper_program), body, format="json")
    assert again.status_code == 409
    assert again.json()["code"] == "duplicate"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"reason": REASON}, "partner_id"),
        ({"partner_id": "x", "reason": REASON}, "partner_id"),
        ({"partner_id": 0}, "reason"),
        ({"partner_id": 0, "reason": ""}, "reason"),
        ({"partner_id": 0, "reason": "x" * 501}, "reason"),
        ({"partner_id": 0, "reason": "bad\u0000"}, "reason"),
        ({"partner_id": 0, "reason": REASON, "terms_version": "v1"}, "terms_version"),
    ],
)
def test_api_refuses_bad_input_naming_the_field(worlds, paper_program, body, field):
    alpha, _ = worlds
    body = {k: alpha.other_partner.pk if v == 0 else v for k, v in body.items()}
    client = client_for(alpha.user(Role.CHANNEL_MANAGER))
    response = client.post(_api(alpha, paper_program), body, format="json")
    assert response.status_code == 400
    assert field in response.json()["errors"]
    with tenant_scope(alpha.tenant):
        assert not Enrollment.objects.filter(program=paper_program).exists()


def test_api_another_tenants_program_is_404_and_partner_a_field_error(worlds, paper_program):
    alpha, bravo = worlds
    client = client_for(bravo.user(Role.VENDOR_ADMIN))
    body = {"partner_id": bravo.other_partner.pk, "reason": REASON}
    assert client.post(_api(alpha, paper_program), body, format="json").status_code == 404
    other = f"/api/v1/t/bravo/programs/{paper_program.pk}/enroll-on-behalf/"
    assert client.post(other, body, format="json").status_code == 404
    own = client.post(
        f"/api/v1/t/bravo/programs/{bravo.program.pk}/enroll-on-behalf/",
        {"partner_id": alpha.other_partner.pk, "reason": REASON},
        format="json",
    )
    assert own.status_code == 400
    assert own.json()["errors"] == {"partner_id": ["No such partner."]}


@pytest.mark.parametrize("role", [Role.CLAIMS_REVIEWER, Role.PARTNER_ADMIN, Role.PARTNER_REP])
def test_api_refuses_who_may_not_enroll_on_behalf(worlds, paper_program, role):
    alpha, _ = worlds
    client = client_for(alpha.user(role))
    body = {"partner_id": alpha.other_partner.pk, "reason": REASON}
    assert client.post(_api(alpha, paper_program), body, format="json").status_code in (403, 404)


def test_api_program_lists_the_action_for_editors_only(worlds, paper_program):
    alpha, _ = worlds
    url = f"/api/v1/t/alpha/programs/{paper_program.pk}/"
    cam = client_for(alpha.user(Role.CHANNEL_MANAGER)).get(url).json()
    reviewer = client_for(alpha.user(Role.CLAIMS_REVIEWER)).get(url).json()
    assert "enroll_on_behalf" in cam["actions"]
    assert "enroll_on_behalf" not in reviewer["actions"]


@pytest.mark.django_db(transaction=True)
def test_two_staff_enrolling_one_partner_at_once_give_one_enrollment_and_one_409():
    alpha = build_world("alpha")
    build_world("bravo")
    program = ProgramFactory(tenant=alpha.tenant, name="Race")
    ProgramTermsFactory(program=program)
    barrier = threading.Barrier(2)
    answers = []

    def post(role):
        try:
            client = client_for(alpha.user(role))
            barrier.wait(timeout=10)
            body = {"partner_id": alpha.other_partner.pk, "reason": f"by {role}"}
            answers.append(client.post(_api(alpha, program), body, format="json").status_code)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=post, args=(role,))
        for role in (Role.VENDOR_ADMIN, Role.CHANNEL_MANAGER)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == [201, 409]
    with tenant_scope(alpha.tenant):
        assert Enrollment.objects.filter(program=program, partner=alpha.other_partner).count() == 1


# The pages


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_program_page_searches_a_partner_and_enrolls_it_with_a_reason(worlds, paper_program):
    alpha, _ = worlds
    with tenant_scope(alpha.tenant):
        northwind = PartnerFactory(
            tenant=alpha.tenant, name="Northwind Traders", external_id="NW-1"
        )
    client = _client(alpha.user(Role.CHANNEL_MANAGER))
    detail = reverse("program_detail", args=["alpha", paper_program.pk])
    page = client.get(detail, {"eq": "northwind"})
    html = page.content.decode()
    assert [p.name for p in page.context["on_behalf_partners"]] == ["Northwind Traders"]
    assert reverse("program_enroll_on_behalf", args=["alpha", paper_program.pk]) in html
    assert 'name="reason"' in html

    url = reverse("program_enroll_on_behalf", args=["alpha", paper_program.pk])
    response = client.post(
        url, {"partner_id": northwind.pk, "reason": REASON, "terms_version": 1}, follow=True
    )
    assert _messages(response) == ["Northwind Traders enrolled on its behalf."]
    html = response.content.decode()
    assert f"on behalf: {REASON}" in html  # the enrollments table and the history
    assert "enrolled on the partner&#x27;s behalf · Northwind Traders" in html


def test_program_page_shows_a_refusal_as_a_message_and_enrolls_nothing(worlds, paper_program):
    alpha, _ = worlds
    client = _client(alpha.user(Role.CHANNEL_MANAGER))
    url = reverse("program_enroll_on_behalf", args=["alpha", paper_program.pk])
    response = client.post(url, {"partner_id": alpha.other_partner.pk, "reason": ""}, follow=True)
    assert _messages(response) == ["Give the reason the partner is enrolled on its behalf."]
    response = client.post(url, {"partner_id": "x", "reason": REASON}, follow=True)
    assert _messages(response) == ["Choose a partner from the search."]
    client.post(url, {"partner_id": alpha.other_partner.pk, "reason": REASON})
    response = client.post(
        url, {"partner_id": alpha.other_partner.pk, "reason": REASON}, follow=True
    )
    assert _messages(response)[-1] == "Alpha Other Partner is already enrolled in this program."


def test_program_page_offers_the_form_only_to_editors_of_an_active_program(worlds, paper_program):
    alpha, _ = worlds
    url = reverse("program_enroll_on_behalf", args=["alpha", paper_program.pk])
    detail = reverse("program_detail", args=["alpha", paper_program.pk])
    mark = 'data-testid="enroll-on-behalf"'
    assert mark in _client(alpha.user(Role.VENDOR_ADMIN)).get(detail).content.decode()
    assert mark not in _client(alpha.user(Role.CLAIMS_REVIEWER)).get(detail).content.decode()
    assert _client(alpha.user(Role.CLAIMS_REVIEWER)).post(url, {}).status_code == 403
    paused = ProgramFactory(tenant=alpha.tenant, status="paused")
    ProgramTermsFactory(program=paused)
    page = _client(alpha.user(Role.VENDOR_ADMIN)).get(
        reverse("program_detail", args=["alpha", paused.pk])
    )
    assert mark not in page.content.decode()


def test_partner_page_shows_who_accepted_on_the_partners_behalf_and_why(worlds, paper_program):
    alpha, _ = worlds
    enroll(alpha, paper_program, alpha.other_partner)
    client = _client(alpha.user(Role.CLAIMS_REVIEWER))
    page = client.get(reverse("partner_detail", args=["alpha", alpha.other_partner.pk]))
    html = page.content.decode()
    table = html.split('data-testid="partner-programs"')[1].split("</table>")[0]
    staff = alpha.user(Role.CHANNEL_MANAGER).full_name
    assert f"v1 by {staff} on behalf: {REASON}" in table
    assert "enrolled on the partner&#x27;s behalf" in html  # the timeline


def test_another_tenants_program_page_action_is_not_found(worlds, paper_program):
    _, bravo = worlds
    url = reverse("program_enroll_on_behalf", args=["bravo", paper_program.pk])
    response = _client(bravo.user(Role.VENDOR_ADMIN)).post(
        url, {"partner_id": bravo.other_partner.pk, "reason": REASON}
    )
    assert response.status_code == 404


@pytest.mark.parametrize("partners", [10, 1000])
def test_program_page_with_a_partner_search_makes_a_fixed_number_of_queries(
    worlds, django_assert_max_num_queries, partners
):
    from tests.incentives.test_pages import DETAIL_QUERIES, _grow

    alpha, _ = worlds
    _grow(alpha, programs=1, partners=partners)
    client = _client(alpha.user(Role.CHANNEL_MANAGER))
    detail = reverse("program_detail", args=["alpha", alpha.program.pk])
    # One query more than the page without a search: the matching partners, with their
    # eligibility and enrollment status.
    with django_assert_max_num_queries(DETAIL_QUERIES + 1):
        response = client.get(detail, {"eq": "P0"})
    assert response.status_code == 200
    assert len(response.context["on_behalf_partners"]) == min(partners, 20)


def test_the_portal_tells_the_partner_who_accepted_on_its_behalf_and_why(worlds, paper_program):
    alpha, _ = worlds
    enroll(alpha, paper_program, alpha.partner)
    page = _client(alpha.user(Role.PARTNER_REP)).get(
        reverse("portal_program", args=["alpha", paper_program.pk])
    )
    staff = alpha.user(Role.CHANNEL_MANAGER).full_name
    assert f"accepted on your company's behalf by {staff}" in page.content.decode()
    assert REASON in page.content.decode()
