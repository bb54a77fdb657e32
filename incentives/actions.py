"""Which actions an actor may take on a program and on its company's enrollment in it.

Each rule is written once, in a `check_*_action` function that raises the reason an action is
refused; the services call it before acting, and `program_actions_for` /
`enrollment_actions_for` collect the actions it lets through for pages and the API to offer.
The state tables themselves (which fields a state allows, which transitions) stay with the
services in `incentives.services.programs`.
"""

from __future__ import annotations

from incentives.eligibility import ineligibility_reasons
from incentives.models import (
    Enrollment,
    EnrollmentMode,
    EnrollmentStatus,
    Program,
    ProgramStatus,
)

# A module reference, not names: the services import this module too.
from incentives.services import programs as program_rules
from tenancy.errors import ApplicationError, NotPermitted
from tenancy.models import Membership
from tenancy.permissions import allowed_actions, can, require

PROGRAM_ACTIONS = (
    "edit",
    "activate",
    "pause",
    "close",
    "publish_terms",
    "set_required_partners",
    "invite",
)
ENROLLMENT_ACTIONS = ("enroll", "reaccept", "decline", "withdraw")
ENROLLED = frozenset({EnrollmentStatus.ENROLLED, EnrollmentStatus.REACCEPT})


def check_program_action(
    *, actor: Membership, program: Program, action: str, has_terms: bool | None = None
) -> None:
    """Raise NotPermitted unless `actor` edits programs, and ApplicationError (with the
    service's message and code) unless `program`'s state allows `action`. `has_terms` saves
    the terms lookup when the caller knows; only activation asks."""
    if action not in PROGRAM_ACTIONS:
        raise ApplicationError(f"Unknown action {action!r}.", field="action")
    require(actor, "programs.edit")
    closed = program.status == ProgramStatus.CLOSED
    if action == "edit" and not program_rules.EDITABLE[ProgramStatus(program.status)]:
        raise ApplicationError(f"A {program.get_status_display().lower()} program cannot change.")
    if action in program_rules.TRANSITIONS:
        _check_transition(program, action, has_terms)
    if action == "publish_terms" and closed:
        raise ApplicationError("A closed program's terms cannot change.")
    if action == "set_required_partners" and closed:
        raise ApplicationError("A closed program cannot change.")
    if action == "invite":
        if closed:
            raise ApplicationError("A closed program takes no invitations.")
        if program.enrollment_mode == EnrollmentMode.AUTOMATIC:
            raise ApplicationError("An automatic program enrolls eligible partners by itself.")


def _check_transition(program: Program, action: str, has_terms: bool | None) -> None:
    sources, target = program_rules.TRANSITIONS[action]
    if program.status not in sources:
        allowed = " or ".join(str(ProgramStatus(s).label).lower() for s in sorted(sources))
        raise ApplicationError(
            f"Only a {allowed} program can {action}; this one is "
            f"{program.get_status_display().lower()}.",
            code="invalid_transition",
        )
    # Partners enroll by accepting the terms, so a program they can act on needs them.
    if target == ProgramStatus.ACTIVE and program.enrollment_mode != EnrollmentMode.AUTOMATIC:
        if has_terms is None:
            has_terms = program_rules.current_terms(program) is not None
        if not has_terms:
            raise ApplicationError(
                "Publish the program's terms before it opens to partners.", field="terms"
            )


def program_actions_for(
    actor: Membership, program: Program, *, has_terms: bool | None = None
) -> frozenset[str]:
    """The subset of PROGRAM_ACTIONS `actor` may take on `program` now."""
    if not can(actor, "programs.edit"):
        return frozenset()
    return allowed_actions(
        PROGRAM_ACTIONS,
        lambda action: check_program_action(
            actor=actor, program=program, action=action, has_terms=has_terms
        ),
    )


def check_enrollment_action(
    *,
    actor: Membership,
    program: Program,
    enrollment: Enrollment | None,
    action: str,
    has_terms: bool | None = None,
    reasons: list[str] | None = None,
) -> None:
    """Raise unless `actor` may take `action` for their company on `program`, whose enrollment
    of the company is `enrollment` (None: none yet). `enroll` and `reaccept` accept the current
    terms: the program is active with terms, the company is eligible and, for a program by
    invitation, invited. `has_terms` and `reasons` (the company's ineligibility reasons) save
    their lookups when the caller knows them."""
    if action not in ENROLLMENT_ACTIONS:
        raise ApplicationError(f"Unknown action {action!r}.", field="action")
    if not can(actor, "enrollments.decide_for_partner") or actor.partner_id is None:
        raise NotPermitted("Only a partner admin acts for the company in programs.")
    status = enrollment.status if enrollment else None
    current = enrollment.get_status_display().lower() if enrollment else "not enrolled"
    refused = ApplicationError(
        f"Your company is {current} in this program.", code="invalid_transition"
    )
    if action == "decline":
        if status != EnrollmentStatus.INVITED:
            raise refused
        return
    if action == "withdraw":
        if status not in ENROLLED:
            raise refused
        return
    if program.status != ProgramStatus.ACTIVE:
        raise ApplicationError("This program is not open for enrollment right now.")
    if has_terms is None:
        has_terms = program_rules.current_terms(program) is not None
    if not has_terms:
        raise ApplicationError("The program's terms are not published yet.", code="no_terms")
    if reasons is None:
        reasons = ineligibility_reasons(program.eligibility, actor.partner)
    if reasons:
        raise ApplicationError(" ".join(reasons), code="ineligible")
    if not_invited(program, enrollment):
        raise ApplicationError(
            "This program is by invitation; your company is not invited.", code="not_invited"
        )
    if action == "enroll" and status in ENROLLED:
        raise refused
    if action == "reaccept" and status != EnrollmentStatus.REACCEPT:
        raise ApplicationError(
            "Your company has no new terms to accept.", code="invalid_transition"
        )


def not_invited(program: Program, enrollment: Enrollment | None) -> bool:
    """A program by invitation that the company has no open invitation to (or declined)."""
    status = enrollment.status if enrollment else None
    return program.enrollment_mode == EnrollmentMode.INVITATION and status in (
        None,
        EnrollmentStatus.DECLINED,
    )


def enrollment_actions_for(
    actor: Membership,
    program: Program,
    enrollment: Enrollment | None,
    *,
    has_terms: bool | None = None,
    reasons: list[str] | None = None,
) -> frozenset[str]:
    """The subset of ENROLLMENT_ACTIONS `actor` may take for their company on `program` now."""
    if not can(actor, "enrollments.decide_for_partner"):
        return frozenset()
    if has_terms is None and program.status == ProgramStatus.ACTIVE:
        has_terms = program_rules.current_terms(program) is not None  # once for both accepts
    if reasons is None and actor.partner_id is not None:
        reasons = ineligibility_reasons(program.eligibility, actor.partner)
    return allowed_actions(
        ENROLLMENT_ACTIONS,
        lambda action: check_enrollment_action(
            actor=actor,
            program=program,
            enrollment=enrollment,
            action=action,
            has_terms=has_terms,
            reasons=reasons,
        ),
    )
