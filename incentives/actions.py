"""Which actions an actor may take on a program and on its company's enrollment in it.

`check_program_action` and `check_enrollment_action` raise the reason an action is refused:
the actor's capability (`tenancy.permissions`), the state the machines of `incentives.states`
allow it from, and the rules the services add on top (terms before a program opens to partners,
no invitations to an automatic program, eligibility and invitation before an enrollment).
`program_actions_for` / `enrollment_actions_for` collect the actions they let through, for the
pages and the API to offer; the services call the same checks on the rows they have locked, so
each rule is written here once.
"""

from __future__ import annotations

from functools import cache
from types import SimpleNamespace

from incentives.eligibility import ineligibility_reasons
from incentives.models import (
    Enrollment,
    EnrollmentMode,
    EnrollmentStatus,
    Program,
    ProgramStatus,
)

# A module reference, not names: the services import this module's neighbours.
from incentives.services import programs as program_rules
from incentives.states import ENROLLMENT_STATES, PROGRAM_STATES
from partners.models import Partner
from tenancy.errors import ApplicationError, Conflict, NotPermitted
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
    "enroll_on_behalf",
)
# The program machine calls editing `update`; staff enroll partners when partners may enroll.
_PROGRAM_MOVES = {"edit": "update", "enroll_on_behalf": "enroll"}
ENROLLMENT_ACTIONS = ("enroll", "reaccept", "decline", "withdraw")
ENROLLED = frozenset({EnrollmentStatus.ENROLLED, EnrollmentStatus.REACCEPT})


def check_program_action(
    *, actor: Membership, program: Program, action: str, has_terms: bool | None = None
) -> None:
    """Raise NotPermitted unless `actor` edits programs, Conflict unless PROGRAM_STATES allows
    `action` from the program's status, and ApplicationError for the services' own rules.
    `has_terms` saves the terms lookup when the caller knows; only activation asks."""
    if action not in PROGRAM_ACTIONS:
        raise ApplicationError(f"Unknown action {action!r}.", field="action")
    require(actor, "programs.edit")
    move = _PROGRAM_MOVES.get(action, action)
    PROGRAM_STATES.check(move, program.status)
    target = PROGRAM_STATES.target(move, program.status)
    # Partners enroll by accepting the terms, so a program they can act on needs them.
    opens = target == ProgramStatus.ACTIVE and action == "activate"
    if opens and program.enrollment_mode != EnrollmentMode.AUTOMATIC:
        if has_terms is None:
            has_terms = program_rules.current_terms(program) is not None
        if not has_terms:
            raise ApplicationError(
                "Publish the program's terms before it opens to partners.", field="terms"
            )
    if action == "invite" and program.enrollment_mode == EnrollmentMode.AUTOMATIC:
        raise ApplicationError("An automatic program enrolls eligible partners by itself.")
    if action == "enroll_on_behalf":
        require(actor, "enrollments.enroll_on_behalf")
        # Staff accept the current terms for the partner, so there must be some; whatever the
        # enrollment mode (no invitation needed: the vendor is the one inviting).
        if has_terms is None:
            has_terms = program_rules.current_terms(program) is not None
        if not has_terms:
            raise ApplicationError(
                "Publish the program's terms first: the partner is enrolled on them.",
                code="no_terms",
            )


def check_enrollment_on_behalf(
    *,
    actor: Membership,
    program: Program,
    partner: Partner,
    enrollment: Enrollment | None,
    has_terms: bool | None = None,
) -> None:
    """Raise unless `actor` (vendor staff) may enroll `partner` in `program` on its behalf now,
    `enrollment` being its enrollment (None: none yet): the program action `enroll_on_behalf`,
    the partner eligible (no override: a program's eligibility holds for every way in), and not
    enrolled already (`duplicate`, a 409)."""
    check_program_action(
        actor=actor, program=program, action="enroll_on_behalf", has_terms=has_terms
    )
    reasons = ineligibility_reasons(program.eligibility, partner, for_staff=True)
    if reasons:
        raise ApplicationError(" ".join(reasons), field="partner_id", code="ineligible")
    status = enrollment.status if enrollment else None
    if status == EnrollmentStatus.ENROLLED:
        raise Conflict(
            f"{partner.name} is already enrolled in this program.",
            field="partner_id",
            code="duplicate",
        )
    if status is not None:
        ENROLLMENT_STATES.check("accept", status)


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


@cache
def _program_actions_of_kind(
    role: str, status: str, enrollment_mode: str, has_terms: bool
) -> frozenset[str]:
    actor = SimpleNamespace(role=role, partner_id=None)
    program = Program(status=status, enrollment_mode=enrollment_mode)
    return program_actions_for(actor, program, has_terms=has_terms)


def program_actions_of_kind(
    actor: Membership, *, status: str, enrollment_mode: str, has_terms: bool
) -> frozenset[str]:
    """`program_actions_for` a program in `status` and `enrollment_mode`, with or without
    terms: nothing else of the program or the actor but the actor's role decides them
    (`check_program_action`), so each combination is checked once a process (a list of
    programs asks for every row)."""
    return _program_actions_of_kind(actor.role, status, enrollment_mode, has_terms)


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
    if action in ("decline", "withdraw"):
        if status is None or not ENROLLMENT_STATES.allows(action, status):
            raise refused
        return
    PROGRAM_STATES.check(
        "enroll", program.status, refusal="This program is not open for enrollment right now."
    )
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
    if status is not None:
        ENROLLMENT_STATES.check("accept", status, refusal=refused.message)
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
