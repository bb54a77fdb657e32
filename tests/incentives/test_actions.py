"""The actions a page shows and the API lists for a program, or for a company's enrollment in
it, are exactly the ones the services allow, in every state and for every role."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from incentives.models import Enrollment, Program
from incentives.services.enrollments import (
    enrollment_accept,
    enrollment_decline,
    enrollment_enroll_on_behalf,
    enrollment_invite,
    enrollment_withdraw,
)
from incentives.services.programs import (
    program_transition,
    program_update,
    required_partners_set,
    terms_publish,
)
from partners.models import Partner
from tenancy.context import tenant_scope
from tenancy.models import AuditEvent
from tenancy.roles import Role
from tests.conftest import client_for
from tests.factories.incentives import EnrollmentFactory, ProgramFactory, ProgramTermsFactory
from tests.probe import NothingChanged, service_allows


def _url(name: str, *args) -> str:
    return reverse(name, args=["alpha", *args])


def _page(user, url: str) -> str:
    client = Client()
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200, url
    return response.content.decode()


def _fresh(alpha, program: Program) -> Program:
    with tenant_scope(alpha.tenant):
        return Program.objects.get(pk=program.pk)


# Programs on the dashboard


PROGRAM_PROBES = {
    "edit": lambda actor, program: program_update(
        actor=actor, program=program, name=f"{program.name} (renamed)"
    ),
    "activate": lambda actor, program: program_transition(
        actor=actor, program=program, action="activate"
    ),
    "pause": lambda actor, program: program_transition(
        actor=actor, program=program, action="pause"
    ),
    "close": lambda actor, program: program_transition(
        actor=actor, program=program, action="close"
    ),
    "publish_terms": lambda actor, program: terms_publish(
        actor=actor, program=program, body="New terms."
    ),
    "set_required_partners": lambda actor, program: required_partners_set(
        actor=actor, program=program, partner_ids=[]
    ),
    "invite": lambda actor, program: enrollment_invite(
        actor=actor, program=program, partner_ids=[]
    ),
    "enroll_on_behalf": lambda actor, program: enrollment_enroll_on_behalf(
        actor=actor, program=program, partner_id=_not_enrolled(program).pk, reason="On paper"
    ),
}


def _not_enrolled(program: Program):
    enrolled = Enrollment.objects.filter(program=program).values("partner_id")
    return Partner.objects.exclude(pk__in=enrolled).order_by("pk").first()


def _program_page_actions(html: str, program: Program) -> set[str]:
    pk = program.pk
    marks = {
        "edit": _url("program_edit", pk),
        "activate": 'value="activate"',
        "pause": 'value="pause"',
        "close": 'value="close"',
        "publish_terms": _url("program_terms", pk),
        "set_required_partners": _url("program_required", pk),
        "invite": _url("program_invite", pk),
        "enroll_on_behalf": 'data-testid="enroll-on-behalf"',
    }
    return {action for action, mark in marks.items() if mark in html}


PROGRAM_STATES = [
    ("draft", "invitation", False),
    ("draft", "invitation", True),
    ("draft", "automatic", False),
    ("active", "open", True),
    ("active", "automatic", False),
    ("paused", "invitation", True),
    ("closed", "open", True),
]


@pytest.mark.parametrize("role", [Role.VENDOR_ADMIN, Role.CHANNEL_MANAGER, Role.CLAIMS_REVIEWER])
@pytest.mark.parametrize(("status", "mode", "with_terms"), PROGRAM_STATES)
def test_program_page_and_api_offer_what_the_services_allow(worlds, role, status, mode, with_terms):
    alpha, _ = worlds
    program = ProgramFactory(tenant=alpha.tenant, status=status, enrollment_mode=mode)
    if with_terms:
        ProgramTermsFactory(program=program)
    actor = alpha.member(role)

    allowed = {
        action
        for action, probe in PROGRAM_PROBES.items()
        if service_allows(alpha.tenant, lambda probe=probe: probe(actor, _fresh(alpha, program)))
    }
    shown = _program_page_actions(
        _page(alpha.user(role), _url("program_detail", program.pk)), program
    )
    client = client_for(alpha.user(role))
    listed = client.get(f"/api/v1/t/alpha/programs/{program.pk}/").json()
    rows = client.get("/api/v1/t/alpha/programs/?page_size=50").json()["results"]
    [row] = [row for row in rows if row["id"] == program.pk]

    assert shown == allowed
    assert set(listed["actions"]) == allowed
    assert set(row["actions"]) == allowed  # the list's, checked once a kind of program
    if role == Role.CLAIMS_REVIEWER:
        assert allowed == set()
    elif status != "closed":
        assert "edit" in allowed  # the table is not vacuous


# A company's enrollment, in the portal


def _accept(actor, program):
    terms = program.terms_versions.order_by("-version").first()
    version = terms.version if terms else 1
    before = AuditEvent.objects.filter(action="accepted").count()
    enrollment_accept(actor=actor, program=program, terms_version=version)
    if AuditEvent.objects.filter(action="accepted").count() == before:
        raise NothingChanged


def _enrollment_probes(status_before: str | None) -> dict:
    accept = "reaccept" if status_before == "reaccept" else "enroll"
    return {
        accept: _accept,
        "decline": lambda actor, program: enrollment_decline(actor=actor, program=program),
        "withdraw": lambda actor, program: enrollment_withdraw(actor=actor, program=program),
    }


def _portal_page_actions(html: str, program: Program) -> set[str]:
    shown = set()
    if _url("portal_program_enroll", program.pk) in html:
        shown.add("reaccept" if "Re-accept new terms" in html else "enroll")
    if _url("portal_program_decline", program.pk) in html:
        shown.add("decline")
    if _url("portal_program_withdraw", program.pk) in html:
        shown.add("withdraw")
    return shown


ENROLLMENT_STATES = [
    # program status, mode, enrollment status, eligible
    ("active", "open", None, True),
    ("active", "open", None, False),
    ("active", "invitation", "invited", True),
    ("active", "invitation", "invited", False),
    ("active", "invitation", "declined", True),
    ("active", "open", "enrolled", True),
    ("active", "open", "reaccept", True),
    ("active", "open", "withdrawn", True),
    ("paused", "open", "enrolled", True),
    ("paused", "invitation", "invited", True),
]


@pytest.mark.parametrize("role", [Role.PARTNER_ADMIN, Role.PARTNER_REP])
@pytest.mark.parametrize(("status", "mode", "enrollment", "eligible"), ENROLLMENT_STATES)
def test_portal_page_and_api_offer_what_the_services_allow(
    worlds, role, status, mode, enrollment, eligible
):
    alpha, _ = worlds
    eligibility = {} if eligible else {"regions": ["Atlantis"]}
    program = ProgramFactory(
        tenant=alpha.tenant, status=status, enrollment_mode=mode, eligibility=eligibility
    )
    terms = ProgramTermsFactory(program=program)
    if enrollment is not None:
        accepted = enrollment in ("enrolled", "reaccept")
        EnrollmentFactory(
            program=program,
            partner=alpha.partner,
            status=enrollment,
            terms=terms if accepted else None,
            accepted_by=alpha.user(Role.PARTNER_ADMIN) if accepted else None,
        )
    actor = alpha.member(role)

    allowed = {
        action
        for action, probe in _enrollment_probes(enrollment).items()
        if service_allows(alpha.tenant, lambda probe=probe: probe(actor, _fresh(alpha, program)))
    }
    shown = _portal_page_actions(
        _page(alpha.user(role), _url("portal_program", program.pk)), program
    )
    listed = client_for(alpha.user(role)).get(f"/api/v1/t/alpha/programs/{program.pk}/").json()
    in_list = {
        row["id"]: row["actions"]
        for row in client_for(alpha.user(role)).get("/api/v1/t/alpha/programs/").json()["results"]
    }

    assert shown == allowed
    assert set(listed["actions"]) == allowed
    assert set(in_list[program.pk]) == allowed
    if role == Role.PARTNER_REP:
        assert allowed == set()
    with tenant_scope(alpha.tenant):
        # The probes left nothing behind.
        current = Enrollment.objects.filter(program=program, partner=alpha.partner).first()
    assert (current.status if current else None) == enrollment


def test_the_enrollment_table_covers_every_action(worlds):
    """Across ENROLLMENT_STATES a partner admin is offered each action at least once."""
    alpha, _ = worlds
    offered = set()
    for status, mode, enrollment, eligible in ENROLLMENT_STATES:
        program = ProgramFactory(
            tenant=alpha.tenant,
            status=status,
            enrollment_mode=mode,
            eligibility={} if eligible else {"regions": ["Atlantis"]},
        )
        ProgramTermsFactory(program=program)
        if enrollment is not None:
            EnrollmentFactory(program=program, partner=alpha.partner, status=enrollment)
        html = _page(alpha.user(Role.PARTNER_ADMIN), _url("portal_program", program.pk))
        offered |= _portal_page_actions(html, program)
    assert offered == {"enroll", "reaccept", "decline", "withdraw"}
