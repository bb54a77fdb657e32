"""Enrollment: acceptance of the current terms, invitations, decline, withdrawal, automatic."""

from __future__ import annotations

import pytest

from incentives.models import Enrollment, Program
from incentives.services.enrollments import (
    auto_enroll,
    enrollment_accept,
    enrollment_decline,
    enrollment_invite,
    enrollment_withdraw,
)
from incentives.services.programs import terms_publish
from partners.models import Partner
from tenancy.context import tenant_scope
from tenancy.errors import ApplicationError, NotPermitted
from tenancy.models import AuditEvent
from tenancy.roles import Role
from tests.factories.incentives import ProgramFactory, ProgramTermsFactory
from tests.factories.partners import PartnerFactory
from tests.factories.tenancy import MembershipFactory


@pytest.fixture
def open_program(alpha):
    program = ProgramFactory(tenant=alpha.tenant, name="Open SPIFF")
    ProgramTermsFactory(program=program, version=1)
    return program


def _accept(world, program, version=1, role=Role.PARTNER_ADMIN, ip="203.0.113.9"):
    with tenant_scope(world.tenant):
        return enrollment_accept(
            actor=world.member(role), program=program, terms_version=version, ip=ip
        )


def test_partner_admin_enrolls_by_accepting_the_current_terms(alpha, open_program):
    enrollment = _accept(alpha, open_program)
    assert enrollment.status == "enrolled"
    assert enrollment.partner == alpha.partner
    assert enrollment.terms.version == 1
    assert enrollment.accepted_by == alpha.user(Role.PARTNER_ADMIN)
    assert enrollment.accepted_at is not None
    assert enrollment.accepted_from == "203.0.113.9"
    with tenant_scope(alpha.tenant):
        event = AuditEvent.objects.get(entity="incentives.enrollment", entity_id=enrollment.pk)
    assert (event.action, event.note) == ("accepted", "from 203.0.113.9")


def test_accepting_twice_changes_nothing(alpha, open_program):
    first = _accept(alpha, open_program)
    second = _accept(alpha, open_program)
    assert first.pk == second.pk
    with tenant_scope(alpha.tenant):
        assert AuditEvent.objects.filter(entity_id=first.pk, action="accepted").count() == 1


def test_stale_terms_version_is_refused_by_field(alpha, open_program):
    with tenant_scope(alpha.tenant):
        terms_publish(actor=alpha.member(Role.CHANNEL_MANAGER), program=open_program, body="v2")
    with pytest.raises(ApplicationError) as error:
        _accept(alpha, open_program, version=1)
    assert error.value.code == "stale_terms"
    assert "terms_version" in error.value.errors
    assert _accept(alpha, open_program, version=2).terms.version == 2


@pytest.mark.parametrize("role", [Role.PARTNER_REP, Role.CHANNEL_MANAGER, Role.VENDOR_ADMIN])
def test_only_a_partner_admin_enrolls_the_company(alpha, open_program, role):
    with pytest.raises(NotPermitted):
        _accept(alpha, open_program, role=role)


def test_ineligible_partner_gets_the_reason(alpha, open_program):
    with tenant_scope(alpha.tenant):
        Program.objects.filter(pk=open_program.pk).update(eligibility={"types": ["msp"]})
        open_program.refresh_from_db()
    with pytest.raises(ApplicationError) as error:
        _accept(alpha, open_program)
    assert error.value.code == "ineligible"
    assert error.value.message == (
        "The program is open to type MSP; your company's type is Reseller."
    )


def test_paused_program_takes_no_enrollment(alpha, open_program):
    with tenant_scope(alpha.tenant):
        Program.objects.filter(pk=open_program.pk).update(status="paused")
        open_program.refresh_from_db()
    with pytest.raises(ApplicationError, match="not open for enrollment"):
        _accept(alpha, open_program)


def test_invitation_program_needs_an_invitation_then_decline_sticks(alpha):
    program = ProgramFactory(tenant=alpha.tenant, enrollment_mode="invitation")
    ProgramTermsFactory(program=program)
    with pytest.raises(ApplicationError) as error:
        _accept(alpha, program)
    assert error.value.code == "not_invited"
    with tenant_scope(alpha.tenant):
        result = enrollment_invite(
            actor=alpha.member(Role.CHANNEL_MANAGER),
            program=program,
            partner_ids=[alpha.partner.pk],
        )
        assert result == {"invited": 1, "ineligible": 0, "unchanged": 0}
        enrollment_decline(actor=alpha.member(Role.PARTNER_ADMIN), program=program)
    with pytest.raises(ApplicationError, match="not invited"):
        _accept(alpha, program)


def test_bulk_invite_takes_only_eligible_partners_and_is_repeatable(alpha):
    program = ProgramFactory(
        tenant=alpha.tenant, enrollment_mode="invitation", eligibility={"regions": ["EMEA"]}
    )
    with tenant_scope(alpha.tenant):
        emea = PartnerFactory.create_batch(3, tenant=alpha.tenant, region="EMEA")
        apac = PartnerFactory(tenant=alpha.tenant, region="APAC")
        ids = [p.pk for p in emea] + [apac.pk]
        manager = alpha.member(Role.CHANNEL_MANAGER)
        assert enrollment_invite(actor=manager, program=program, partner_ids=ids) == {
            "invited": 3,
            "ineligible": 1,
            "unchanged": 0,
        }
        assert enrollment_invite(actor=manager, program=program, partner_ids=ids) == {
            "invited": 0,
            "ineligible": 1,
            "unchanged": 3,
        }
        statuses = set(Enrollment.objects.filter(program=program).values_list("status", flat=True))
    assert statuses == {"invited"}


def test_invite_all_eligible(alpha):
    program = ProgramFactory(tenant=alpha.tenant, enrollment_mode="invitation")
    with tenant_scope(alpha.tenant):
        result = enrollment_invite(actor=alpha.member(Role.VENDOR_ADMIN), program=program)
    assert result["invited"] == 2  # both of alpha's partners


def test_withdraw_then_enroll_again(alpha, open_program):
    _accept(alpha, open_program)
    with tenant_scope(alpha.tenant):
        withdrawn = enrollment_withdraw(
            actor=alpha.member(Role.PARTNER_ADMIN), program=open_program
        )
    assert withdrawn.status == "withdrawn"
    with tenant_scope(alpha.tenant), pytest.raises(ApplicationError, match="withdrawn"):
        enrollment_withdraw(actor=alpha.member(Role.PARTNER_ADMIN), program=open_program)
    assert _accept(alpha, open_program).status == "enrolled"


def test_partner_admin_acts_only_for_its_own_partner(alpha, open_program):
    other_admin = MembershipFactory(
        tenant=alpha.tenant, role="partner_admin", partner=alpha.other_partner
    )
    with tenant_scope(alpha.tenant):
        enrollment = enrollment_accept(actor=other_admin, program=open_program, terms_version=1)
    assert enrollment.partner == alpha.other_partner
    with tenant_scope(alpha.tenant):
        assert not Enrollment.objects.filter(program=open_program, partner=alpha.partner).exists()


def test_automatic_program_enrolls_eligible_partners_now_and_later(alpha):
    program = ProgramFactory(
        tenant=alpha.tenant, enrollment_mode="automatic", eligibility={"stages": ["new"]}
    )
    with tenant_scope(alpha.tenant):
        established = PartnerFactory(tenant=alpha.tenant, stage="established")
        assert auto_enroll(program_id=program.pk) == 2  # alpha's two partners are new
        assert auto_enroll(program_id=program.pk) == 0
        established.stage = "new"
        established.save()
        assert auto_enroll() == 1
        enrollment = Enrollment.objects.get(program=program, partner=established)
        assert (enrollment.status, enrollment.automatic) == ("enrolled", True)
        event = AuditEvent.objects.get(entity="incentives.enrollment", entity_id=enrollment.pk)
        assert (event.action, event.actor, event.changes) == (
            "enrolled",
            None,
            {"status": [None, "enrolled"]},
        )
        # A partner that withdrew keeps its choice.
        enrollment.status = "withdrawn"
        enrollment.save()
        assert auto_enroll() == 0


def test_auto_enroll_is_one_statement_a_program(alpha, django_assert_max_num_queries):
    ProgramFactory(tenant=alpha.tenant, enrollment_mode="automatic")
    with tenant_scope(alpha.tenant):
        Partner.objects.bulk_create(
            [Partner(tenant=alpha.tenant, name=f"Bulk {i}") for i in range(500)]
        )
        with django_assert_max_num_queries(6):
            assert auto_enroll() == 502
