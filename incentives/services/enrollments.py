"""Writes of enrollments: vendor invitations, a partner admin's acceptance of the terms,
decline and withdrawal, and automatic enrollment of eligible partners."""

from __future__ import annotations

import json

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from incentives import actions
from incentives.eligibility import eligibility_q
from incentives.models import Enrollment, EnrollmentMode, EnrollmentStatus, Program, ProgramStatus
from incentives.services.figures import program_figures_changed
from incentives.services.programs import current_terms
from incentives.states import ENROLLMENT_STATES, PROGRAM_STATES
from partners.models import Partner
from tenancy.audit import record_event
from tenancy.errors import ApplicationError, Conflict, NotPermitted
from tenancy.models import AuditEvent, Membership
from tenancy.permissions import can, require
from tenancy.text import clean_text
from tenancy.transitions import is_unique_violation, lock, lock_for, move


def enrollment_invite(
    *, actor: Membership, program: Program, partner_ids: list[int] | None = None
) -> dict[str, int]:
    """Invite eligible partners (all of them when `partner_ids` is None). Partners already
    enrolled or invited are left as they are; ineligible ones are counted, not invited. Locks
    the program, then its enrollments: two invites of one partner are one invitation."""
    require(actor, "programs.edit")
    now = timezone.now()
    with transaction.atomic():
        program = lock_for(
            Program, machine=PROGRAM_STATES, action="invite", seen=program.status, pk=program.pk
        )
        actions.check_program_action(actor=actor, program=program, action="invite")
        asked = (
            Partner.objects.all()
            if partner_ids is None
            else Partner.objects.filter(pk__in=partner_ids)
        )
        eligible = set(
            asked.filter(eligibility_q(program.eligibility)).values_list("pk", flat=True)
        )
        ineligible = (len(set(partner_ids)) - len(eligible)) if partner_ids is not None else 0
        existing = dict(
            Enrollment.objects.select_for_update(no_key=True)
            .filter(program=program, partner_id__in=eligible)
            .order_by("partner_id")
            .values_list("partner_id", "status")
        )
        again = [pid for pid, s in existing.items() if ENROLLMENT_STATES.allows("invite", s)]
        fresh = sorted(eligible - set(existing))
        try:
            with transaction.atomic():
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
        except IntegrityError as error:
            # Unreachable while every enrollment insert locks the program first; kept so that a
            # path which forgets it answers 409, not 500.
            if not is_unique_violation(error):
                raise
            raise Conflict(
                "Another change enrolled some of these partners first; try again.",
                field="partner_ids",
                code="duplicate",
            ) from None
        Enrollment.objects.filter(program=program, partner_id__in=again).update(
            status=ENROLLMENT_STATES.target("invite", EnrollmentStatus.DECLINED),
            invited_by=actor.user,
            invited_at=now,
            updated_at=now,
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


NOT_OPEN = "This program is not open for enrollment right now."


def lock_program_for_enrollment(program_id: int, *, seen: str | None = None) -> Program:
    """The program locked for an enrollment insert, refused (409) unless its state takes
    enrollments; `seen` is the status the caller read, for a `concurrent_change`."""
    return lock_for(
        Program, machine=PROGRAM_STATES, action="enroll", seen=seen, refusal=NOT_OPEN, pk=program_id
    )


def enrollment_accept(
    *, actor: Membership, program: Program, terms_version: int, ip: str | None = None
) -> Enrollment:
    """The partner admin enrolls the company by accepting the current terms (or accepts the new
    version of terms it had accepted before). Program status, terms version and invitation are
    read under the program's lock, so a version published meanwhile is `stale_terms` (409), not
    an enrollment on superseded terms."""
    partner = _partner_actor(actor)
    with transaction.atomic():
        program = lock_program_for_enrollment(program.pk, seen=program.status)
        terms = current_terms(program)
        if terms is None or terms.version != terms_version:
            raise Conflict(
                "The terms have changed since you opened them; read the current version.",
                field="terms_version",
                code="stale_terms",
            )
        enrollment = lock(Enrollment, program=program, partner=partner)
        if (
            enrollment is not None
            and enrollment.status == EnrollmentStatus.ENROLLED
            and enrollment.terms_id == terms.pk
        ):
            return enrollment  # a repeated request
        # The rules the portal offers enrolling by (eligibility, invitation, state), on the
        # locked rows.
        reaccept = enrollment is not None and enrollment.status == EnrollmentStatus.REACCEPT
        actions.check_enrollment_action(
            actor=actor,
            program=program,
            enrollment=enrollment,
            action="reaccept" if reaccept else "enroll",
            has_terms=True,
        )
        if enrollment is None:
            enrollment = Enrollment(program=program, partner=partner)
        before = enrollment.status
        enrollment.status = EnrollmentStatus.ENROLLED
        enrollment.terms = terms
        enrollment.accepted_by = actor.user
        enrollment.accepted_at = timezone.now()
        enrollment.accepted_from = ip
        enrollment.on_behalf, enrollment.on_behalf_reason = False, ""
        enrollment.save()
        record_event(
            enrollment,
            action="accepted",
            actor=actor.user,
            changes={"status": [before, "enrolled"], "terms_version": [None, terms.version]},
            note=f"from {ip}" if ip else "",
        )
        program_figures_changed(program, enrollments=True)
    return enrollment


REASON_MAX_LENGTH = 500


def clean_on_behalf_reason(reason: object) -> str:
    """The reason staff give for enrolling a partner on its behalf: required, one line of
    visible text (`tenancy.text.clean_text`), at most REASON_MAX_LENGTH characters."""
    reason = clean_text(reason, field="reason", label="The reason")  # type: ignore[arg-type]
    if not reason:
        raise ApplicationError(
            "Give the reason the partner is enrolled on its behalf.", field="reason"
        )
    if len(reason) > REASON_MAX_LENGTH:
        raise ApplicationError(f"Use at most {REASON_MAX_LENGTH} characters.", field="reason")
    return reason


def enrollment_enroll_on_behalf(
    *,
    actor: Membership,
    program: Program,
    partner_id: int,
    reason: str,
    terms_version: int | None = None,
    note: str = "",
) -> Enrollment:
    """Vendor staff enroll a partner in `program` on its behalf, accepting the current terms
    for it (a program run on paper: the partner signed a form). The reason is recorded on the
    enrollment and in its history. Eligibility and the program's state apply as for the
    partner itself; an invitation is not needed. Under the program's lock, like every
    enrollment insert: a partner already enrolled is a `duplicate` Conflict (409), and with
    `terms_version` given a version published meanwhile is `stale_terms`. `note` adds to the
    history row (the CSV import names its row)."""
    require(actor, "enrollments.enroll_on_behalf")
    reason = clean_on_behalf_reason(reason)
    with transaction.atomic():
        program = lock_program_for_enrollment(program.pk, seen=program.status)
        terms = current_terms(program)
        if terms is not None and terms_version is not None and terms.version != terms_version:
            raise Conflict(
                f"Terms version {terms.version} was published since; read it first.",
                field="terms_version",
                code="stale_terms",
            )
        partner = Partner.objects.filter(pk=partner_id).select_related("tier").first()
        if partner is None:
            raise ApplicationError("No such partner.", field="partner_id")
        enrollment = lock(Enrollment, program=program, partner=partner)
        actions.check_enrollment_on_behalf(
            actor=actor,
            program=program,
            partner=partner,
            enrollment=enrollment,
            has_terms=terms is not None,
        )
        return _write_on_behalf(actor, program, partner, enrollment, terms, reason, note)


def _write_on_behalf(actor, program, partner, enrollment, terms, reason, note) -> Enrollment:
    if enrollment is None:
        enrollment = Enrollment(program=program, partner=partner)
    before = enrollment.status or None
    enrollment.status = EnrollmentStatus.ENROLLED
    enrollment.terms = terms
    enrollment.accepted_by = actor.user
    enrollment.accepted_at = timezone.now()
    enrollment.accepted_from = None
    enrollment.automatic = False
    enrollment.on_behalf = True
    enrollment.on_behalf_reason = reason
    enrollment.save()
    record_event(
        enrollment,
        action="enrolled_on_behalf",
        actor=actor.user,
        changes={"status": [before, "enrolled"], "terms_version": [None, terms.version]},
        note=" ".join(filter(None, [f"on behalf: {reason}", note])),
    )
    return enrollment


def _partner_transition(actor: Membership, program: Program, action: str) -> Enrollment:
    partner = _partner_actor(actor)
    with transaction.atomic():
        enrollment = lock(Enrollment, program=program, partner=partner)
        current = enrollment.get_status_display().lower() if enrollment else "not enrolled"
        refusal = f"Your company is {current} in this program."
        if enrollment is None:
            raise Conflict(refusal, code="invalid_transition")
        ENROLLMENT_STATES.check(action, enrollment.status, refusal=refusal)
        target = ENROLLMENT_STATES.target(action, enrollment.status)
        move(enrollment, machine=ENROLLMENT_STATES, action=action, actor=actor.user, event=target)
        program_figures_changed(program, enrollments=True)
    return enrollment


def enrollment_decline(*, actor: Membership, program: Program) -> Enrollment:
    return _partner_transition(actor, program, "decline")


def enrollment_withdraw(*, actor: Membership, program: Program) -> Enrollment:
    return _partner_transition(actor, program, "withdraw")


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
    for program_id in programs.values_list("pk", flat=True):
        with transaction.atomic():
            # Under the program's lock: a program closed or re-scoped meanwhile is read as it
            # is now, and no invite or acceptance inserts beside this statement.
            program = lock(Program, pk=program_id)
            if program is None or not (
                PROGRAM_STATES.allows("auto_enroll", program.status)
                and program.enrollment_mode == EnrollmentMode.AUTOMATIC
            ):
                continue
            enrolled = _auto_enroll_one(program)
            if enrolled:
                program_figures_changed(program, enrollments=True)
            added += enrolled
    return added


def _auto_enroll_one(program: Program) -> int:
    eligible = (
        Partner.objects.filter(eligibility_q(program.eligibility))
        .exclude(pk__in=Enrollment.objects.filter(program=program).values("partner_id"))
        .order_by()
        .values("pk")
    )
    select_sql, select_params = eligible.query.sql_with_params()
    now = timezone.now()
    with connection.cursor() as cursor:
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
        return cursor.rowcount
