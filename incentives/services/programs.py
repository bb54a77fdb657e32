"""Writes of programs and their terms. Each change is one transaction with its history row;
background work is queued on commit. Every write locks the program row first and checks its
status there (`tenancy.transitions`, lock order in its docstring)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from incentives import actions
from incentives.claims.types import clean_claim_kinds, clean_skus, default_claim_kinds
from incentives.eligibility import clean_eligibility, describe_eligibility
from incentives.models import (
    Enrollment,
    EnrollmentMode,
    Program,
    ProgramKind,
    ProgramStatus,
    ProgramTerms,
    RequiredPartner,
)
from incentives.services.figures import program_figures_changed
from incentives.services.resyncs import auto_enroll_request
from incentives.states import ENROLLMENT_STATES, PROGRAM_STATES, STATUS_ACTIONS
from partners.models import Partner
from tenancy.audit import changes_between, record_event, snapshot
from tenancy.errors import ApplicationError, Conflict
from tenancy.models import Membership
from tenancy.permissions import require
from tenancy.text import clean_text
from tenancy.transitions import lock, lock_for, move

PROGRAM_FIELDS = (
    "name",
    "description",
    "kind",
    "starts_on",
    "ends_on",
    "claim_window_days",
    "currency",
    "budget",
    "eligibility",
    "enrollment_mode",
    "claim_kinds",
    "eligible_skus",
)
# Once partners can act on a program its nature is fixed; its reach, money and end may move.
FIXED_ONCE_LIVE = frozenset({"kind", "starts_on", "currency", "enrollment_mode"})
EDITABLE = {
    ProgramStatus.DRAFT: frozenset(PROGRAM_FIELDS),
    ProgramStatus.ACTIVE: frozenset(PROGRAM_FIELDS) - FIXED_ONCE_LIVE,
    ProgramStatus.PAUSED: frozenset(PROGRAM_FIELDS) - FIXED_ONCE_LIVE,
    ProgramStatus.CLOSED: frozenset(),
}
HISTORY_FIELDS = ["status", *PROGRAM_FIELDS]


def _history_view(program: Program) -> dict[str, object]:
    """What history shows of a program: eligibility in words (tier names, not ids)."""
    view = snapshot(program, HISTORY_FIELDS)
    view["eligibility"] = describe_eligibility(program.eligibility)
    return view


def _clean_program_fields(data: dict, *, tenant_currency: str) -> dict:
    cleaned = dict(data)
    if "name" in cleaned:
        cleaned["name"] = clean_text(cleaned["name"], field="name", label="The program's name")
        if not cleaned["name"]:
            raise ApplicationError("Name the program.", field="name")
    if "kind" in cleaned and cleaned["kind"] not in ProgramKind.values:
        raise ApplicationError(f"Choose a kind: {', '.join(ProgramKind.values)}.", field="kind")
    if "enrollment_mode" in cleaned and cleaned["enrollment_mode"] not in EnrollmentMode.values:
        raise ApplicationError(
            f"Choose a mode: {', '.join(EnrollmentMode.values)}.", field="enrollment_mode"
        )
    if "budget" in cleaned:
        try:
            budget = Decimal(str(cleaned["budget"]))
        except (InvalidOperation, ValueError):
            raise ApplicationError(
                "Enter the budget as an amount, e.g. 25000.00.", field="budget"
            ) from None
        if budget < 0 or budget != budget.quantize(Decimal("0.01")):
            raise ApplicationError("The budget is zero or more, to the cent.", field="budget")
        cleaned["budget"] = budget
    if "claim_window_days" in cleaned:
        days = cleaned["claim_window_days"]
        if not isinstance(days, int) or days < 0 or days > 3650:
            raise ApplicationError("The claim window is 0 to 3650 days.", field="claim_window_days")
    if "currency" in cleaned:
        currency = (cleaned["currency"] or tenant_currency).upper()
        if len(currency) != 3 or not currency.isalpha():
            raise ApplicationError("Use a three-letter currency code, e.g. EUR.", field="currency")
        cleaned["currency"] = currency
    if "eligibility" in cleaned:
        cleaned["eligibility"] = clean_eligibility(cleaned["eligibility"])
    if "claim_kinds" in cleaned:
        cleaned["claim_kinds"] = clean_claim_kinds(cleaned["claim_kinds"])
    if "eligible_skus" in cleaned:
        cleaned["eligible_skus"] = clean_skus(cleaned["eligible_skus"])
    for name in ("starts_on", "ends_on"):
        if name in cleaned and not isinstance(cleaned[name], date):
            raise ApplicationError("Enter a date.", field=name)
    return cleaned


PERIOD_ERROR = "The program ends on or after the day it starts."


def _check_period(program: Program) -> None:
    if program.ends_on < program.starts_on:
        raise ApplicationError(PERIOD_ERROR, field="ends_on")


def program_create(*, actor: Membership, **data) -> Program:
    require(actor, "programs.edit")
    required = {"name", "kind", "starts_on", "ends_on", "budget"}
    missing = sorted(required - {k for k, v in data.items() if v not in (None, "")})
    if missing:
        raise ApplicationError(
            "Required: " + ", ".join(missing) + ".",
            errors={name: ["This field is required."] for name in missing},
        )
    data.setdefault("currency", actor.tenant.default_currency)
    if not data.get("claim_kinds"):
        data["claim_kinds"] = default_claim_kinds(data["kind"])
    cleaned = _clean_program_fields(data, tenant_currency=actor.tenant.default_currency)
    program = Program(created_by=actor.user, status=ProgramStatus.DRAFT, **cleaned)
    _check_period(program)
    with transaction.atomic():
        program.save()
        record_event(
            program,
            action="created",
            actor=actor.user,
            changes=changes_between({}, _history_view(program)),
        )
        program_figures_changed(program)
    return program


def program_update(*, actor: Membership, program: Program, **changes) -> Program:
    """Change the fields the program's state allows; anything else is refused by name. The
    state is the one under the row lock: a program activated meanwhile is a `Conflict`."""
    require(actor, "programs.edit")
    with transaction.atomic():
        seen = program.status
        # The finer rule of `update`: which fields each state opens (none once closed).
        program = lock(Program, pk=program.pk)
        if program is None:
            raise Conflict("This program no longer exists.", code="gone")
        allowed = EDITABLE[ProgramStatus(program.status)]
        locked = sorted(
            k for k, v in changes.items() if k not in allowed and getattr(program, k, v) != v
        )
        if locked:
            state = program.get_status_display().lower()
            refusal = ApplicationError if program.status == seen else Conflict
            raise refusal(
                f"A {state} program's {', '.join(locked)} cannot change.",
                errors={name: [f"Cannot change while the program is {state}."] for name in locked},
            )
        cleaned = _clean_program_fields(
            {k: v for k, v in changes.items() if k in allowed}, tenant_currency=program.currency
        )
        before = _history_view(program)
        for key, value in cleaned.items():
            setattr(program, key, value)
        _check_period(program)
        diff = changes_between(before, _history_view(program))
        if not diff:
            return program
        program.save()
        record_event(program, action="updated", actor=actor.user, changes=diff)
        if "eligibility" in diff:
            program_figures_changed(program)
        if "eligibility" in diff and program.enrollment_mode == EnrollmentMode.AUTOMATIC:
            queue_auto_enroll(program)
    return program


def program_transition(*, actor: Membership, program: Program, action: str) -> Program:
    """activate | pause | close, each allowed only from the states `PROGRAM_STATES` declares,
    checked on the locked row: of two concurrent identical moves one wins, the other gets a
    `Conflict`."""
    require(actor, "programs.edit")
    if action not in STATUS_ACTIONS:
        raise ApplicationError(f"Unknown action {action!r}.", field="action")
    with transaction.atomic():
        program = lock_for(
            Program, machine=PROGRAM_STATES, action=action, seen=program.status, pk=program.pk
        )
        target = PROGRAM_STATES.target(action, program.status)
        # The rules pages offer the action by, checked again on the locked row.
        actions.check_program_action(actor=actor, program=program, action=action)
        move(program, machine=PROGRAM_STATES, action=action, actor=actor.user)
        if target == ProgramStatus.ACTIVE and program.enrollment_mode == EnrollmentMode.AUTOMATIC:
            queue_auto_enroll(program)
    return program


def current_terms(program: Program) -> ProgramTerms | None:
    return ProgramTerms.objects.filter(program=program).order_by("-version").first()


def terms_publish(*, actor: Membership, program: Program, body: str) -> ProgramTerms:
    """A new terms version. Partners who accepted an earlier one must accept it again. The
    program is locked first (then its enrollments), the order every program write keeps."""
    require(actor, "programs.edit")
    body = (body or "").strip()
    if not body:
        raise ApplicationError("Write the terms.", field="body")
    with transaction.atomic():
        program = lock_for(
            Program,
            machine=PROGRAM_STATES,
            action="publish_terms",
            seen=program.status,
            refusal="A {state} program's terms cannot change.",
            pk=program.pk,
        )
        latest = ProgramTerms.objects.filter(program=program).aggregate(v=Max("version"))["v"] or 0
        terms = ProgramTerms.objects.create(
            program=program, version=latest + 1, body=body, created_by=actor.user
        )
        reaccept = ENROLLMENT_STATES.moves["require_reaccept"]
        moved = Enrollment.objects.filter(
            program=program, status__in=reaccept.sources, terms__isnull=False
        ).update(status=reaccept.target, updated_at=timezone.now())
        record_event(
            program,
            action="terms_published",
            actor=actor.user,
            changes={"terms_version": [latest or None, terms.version]},
            note=f"{moved} enrollments must accept the new terms" if moved else "",
        )
        if moved:
            program_figures_changed(program, enrollments=True)
    return terms


def required_partners_set(*, actor: Membership, program: Program, partner_ids: list[int]) -> int:
    require(actor, "programs.edit")
    with transaction.atomic():
        program = lock_for(
            Program,
            machine=PROGRAM_STATES,
            action="set_required_partners",
            seen=program.status,
            pk=program.pk,
        )
        ids = set(Partner.objects.filter(pk__in=partner_ids).values_list("pk", flat=True))
        missing = sorted(set(map(int, partner_ids)) - ids)
        if missing:
            raise ApplicationError(
                f"No such partner: {', '.join(map(str, missing))}.", field="required_partners"
            )
        current = set(
            RequiredPartner.objects.filter(program=program).values_list("partner_id", flat=True)
        )
        RequiredPartner.objects.filter(program=program).exclude(partner_id__in=ids).delete()
        RequiredPartner.objects.bulk_create(
            [RequiredPartner(program=program, partner_id=pid) for pid in sorted(ids - current)]
        )
        if ids != current:
            record_event(
                program,
                action="required_partners",
                actor=actor.user,
                changes={"required_partners": [sorted(current), sorted(ids)]},
            )
            program_figures_changed(program)
    return len(ids)


def queue_auto_enroll(program: Program) -> None:
    auto_enroll_request(program_id=program.pk)
