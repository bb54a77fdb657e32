"""Writes of enrollments: vendor invitations, a partner admin's acceptance of the terms,
decline and withdrawal, and automatic enrollment of eligible partners."""

from __future__ import annotations

import json

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from incentives import actions
from incentives.eligibility import eligibility_q
from incentives.models import Enrollment, EnrollmentMode, EnrollmentStatus, Program, ProgramStatus
from incentives.services.programs import current_terms
from partners.models import Partner
from tenancy.audit import record_event
from tenancy.errors import ApplicationError, NotPermitted
from tenancy.models import AuditEvent, Membership
from tenancy.permissions import can


def enrollment_invite(
    *, actor: Membership, program: Program, partner_ids: list[int] | None = None
) -> dict[str, int]:
    """Invite eligible partners (all of them when `partner_ids` is None). Partners already
    enrolled or invited are left as they are; ineligible ones are counted, not invited."""
    actions.check_program_action(actor=actor, program=program, action="invite")
    asked = (
        Partner.objects.all() if partner_ids is None else Partner.objects.filter(pk__in=partner_ids)
    )
    eligible = set(asked.filter(eligibility_q(program.eligibility)).values_list("pk", flat=True))
    ineligible = (len(set(partner_ids)) - len(eligible)) if partner_ids is not None else 0
    now = timezone.now()
    with transaction.atomic():
        existing = dict(
            Enrollment.objects.select_for_update()
            .filter(program=program, partner_id__in=eligible)
            .values_list("partner_id", "status")
        )
        again = [
            pid
            for pid, s in existing.items()
            if s in (EnrollmentStatus.DECLINED, EnrollmentStatus.WITHDRAWN)
        ]
        fresh = sorted(eligible - set(existing))
        created = Enrollment.objects.bulk_create(
            [
                Enrollment(
                    program=program,
                    partner_id=pid,
                    status=EnrollmentStatus.INVITED,
                    invited_by=actor.user,
                    invited_at=now,
                )
                for pid in fresh
            ]
        )
        Enrollment.objects.filter(program=program, partner_id__in=again).update(
            status=EnrollmentStatus.INVITED, invited_by=actor.user, invited_at=now, updated_at=now
        )
        touched = list(Enrollment.objects.filter(program=program, partner_id__in=[*fresh, *again]))
        AuditEvent.objects.bulk_create(
            [
                AuditEvent(
                    entity="incentives.enrollment",
                    entity_id=e.pk,
                    action="invited",
                    actor=actor.user,
                    changes={"status": [None, "invited"]},
                )
                for e in touched
            ]
        )
    return {
        "invited": len(created) + len(again),
        "ineligible": ineligible,
        "unchanged": len(existing) - len(again),
    }


def _partner_actor(actor: Membership) -> Partner:
    if not can(actor, "enrollments.decide_for_partner") or actor.partner_id is None:
        raise NotPermitted("Only a partner admin acts for the company in programs.")
    return actor.partner


def enrollment_accept(
    *, actor: Membership, program: Program, terms_version: int, ip: str | None = None
) -> Enrollment:
    """The partner admin enrolls the company by accepting the current terms (or accepts the new
    version of terms it had accepted before)."""
    partner = _partner_actor(actor)
    terms = current_terms(program)
    if terms is None or terms.version != terms_version:
        raise ApplicationError(
            "The terms have changed since you opened them; read the current version.",
            field="terms_version",
            code="stale_terms",
        )
    current = Enrollment.objects.filter(program=program, partner=partner).first()
    repeated = (
        current and current.status == EnrollmentStatus.ENROLLED and current.terms_id == terms.pk
    )
    if not repeated:  # accepting the same terms again changes nothing (below, under the lock)
        action = "reaccept" if current and current.status == EnrollmentStatus.REACCEPT else "enroll"
        actions.check_enrollment_action(
            actor=actor, program=program, enrollment=current, action=action, has_terms=True
        )
    with transaction.atomic():
        enrollment = (
            Enrollment.objects.select_for_update().filter(program=program, partner=partner).first()
        )
        if program.enrollment_mode == EnrollmentMode.INVITATION and (
            enrollment is None or enrollment.status == EnrollmentStatus.DECLINED
        ):
            raise ApplicationError(
                "This program is by invitation; your company is not invited.", code="not_invited"
            )
        before = enrollment.status if enrollment else None
        if enrollment is None:
            enrollment = Enrollment(program=program, partner=partner)
        elif enrollment.status == EnrollmentStatus.ENROLLED and enrollment.terms_id == terms.pk:
            return enrollment
        enrollment.status = EnrollmentStatus.ENROLLED
        enrollment.terms = terms
        enrollment.accepted_by = actor.user
        enrollment.accepted_at = timezone.now()
        enrollment.accepted_from = ip
        try:
            with transaction.atomic():
                enrollment.save()
        except IntegrityError:  # a concurrent accept by a colleague won the insert
            return Enrollment.objects.get(program=program, partner=partner)
        record_event(
            enrollment,
            action="accepted",
            actor=actor.user,
            changes={"status": [before, "enrolled"], "terms_version": [None, terms.version]},
            note=f"from {ip}" if ip else "",
        )
    return enrollment


def _check_partner_action(actor: Membership, program: Program, action: str) -> None:
    partner = _partner_actor(actor)
    current = Enrollment.objects.filter(program=program, partner=partner).first()
    actions.check_enrollment_action(actor=actor, program=program, enrollment=current, action=action)


def _partner_transition(
    actor: Membership, program: Program, sources: set, target: str
) -> Enrollment:
    partner = _partner_actor(actor)
    with transaction.atomic():
        enrollment = (
            Enrollment.objects.select_for_update().filter(program=program, partner=partner).first()
        )
        if enrollment is None or enrollment.status not in sources:
            current = enrollment.get_status_display().lower() if enrollment else "not enrolled"
            raise ApplicationError(
                f"Your company is {current} in this program.", code="invalid_transition"
            )
        before = enrollment.status
        enrollment.status = target
        enrollment.save(update_fields=["status", "updated_at"])
        record_event(
            enrollment, action=target, actor=actor.user, changes={"status": [before, target]}
        )
    return enrollment


def enrollment_decline(*, actor: Membership, program: Program) -> Enrollment:
    _check_partner_action(actor, program, "decline")
    return _partner_transition(
        actor, program, {EnrollmentStatus.INVITED}, EnrollmentStatus.DECLINED
    )


def enrollment_withdraw(*, actor: Membership, program: Program) -> Enrollment:
    _check_partner_action(actor, program, "withdraw")
    return _partner_transition(
        actor,
        program,
        {EnrollmentStatus.ENROLLED, EnrollmentStatus.REACCEPT},
        EnrollmentStatus.WITHDRAWN,
    )


def auto_enroll(*, program_id: int | None = None) -> int:
    """Enroll every eligible partner not yet in each active automatic program (one program, or
    all of the bound tenant's): one INSERT … SELECT a program, set-based whatever the number of
    partners. Partners who declined or withdrew keep their choice; re-running adds nothing."""
    programs = Program.objects.filter(
        status=ProgramStatus.ACTIVE, enrollment_mode=EnrollmentMode.AUTOMATIC
    )
    if program_id is not None:
        programs = programs.filter(pk=program_id)
    added = 0
    for program in programs:
        eligible = (
            Partner.objects.filter(eligibility_q(program.eligibility))
            .exclude(pk__in=Enrollment.objects.filter(program=program).values("partner_id"))
            .order_by()
            .values("pk")
        )
        select_sql, select_params = eligible.query.sql_with_params()
        now = timezone.now()
        with transaction.atomic(), connection.cursor() as cursor:
            # The SELECT is the ORM's own compiled query with its parameters kept apart; the
            # history rows are written by the same statement, from the rows it inserted.
            sql = (
                "WITH added AS (INSERT INTO incentives_enrollment (tenant_id, program_id,"  # noqa: S608
                " partner_id, status, automatic, accepted_at, created_at, updated_at)"
                " SELECT %s, %s, eligible.pk, %s, true, %s, %s, %s"
                f" FROM ({select_sql}) AS eligible ON CONFLICT DO NOTHING RETURNING id)"
                " INSERT INTO tenancy_auditevent (tenant_id, entity, entity_id, action, at,"
                " changes, note) SELECT %s, 'incentives.enrollment', added.id, 'enrolled', %s,"
                " %s, 'automatic: the partner is eligible' FROM added"
            )
            status = EnrollmentStatus.ENROLLED
            cursor.execute(
                sql,
                [
                    *(program.tenant_id, program.pk, status, now, now, now, *select_params),
                    *(program.tenant_id, now, json.dumps({"status": [None, status]})),
                ],
            )
            added += cursor.rowcount
    return added
