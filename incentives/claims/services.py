"""Writes of claims: a rep's drafts and submissions, a reviewer's decisions, an appeal.

Every status move goes through `tenancy.transitions` on the locked claim and is recorded in the
history with who and why. An approval publishes `claim.approved` in the same transaction (the
rewards app earns from it); nothing here pays.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.db import transaction
from django.utils import timezone

from incentives.claims import rules
from incentives.claims.models import Claim, ClaimSerial, ClaimStatus, Rule, RuleOutcome
from incentives.claims.states import CLAIM_STATES
from incentives.claims.types import claim_type
from incentives.claims.validation import queue_validation
from incentives.models import Program, ProgramStatus
from tenancy.errors import ApplicationError, Conflict, NotPermitted
from tenancy.events import publish
from tenancy.models import Membership
from tenancy.permissions import can, require
from tenancy.text import clean_text
from tenancy.transitions import create_unique, lock_for, move

CLAIM_APPROVED = "claim.approved"
CLAIM_REJECTED = "claim.rejected"
CLAIM_NEEDS_REVIEW = "claim.needs_review"
NOTE_LENGTH = 500
APPEAL_LENGTH = 2000


def _check_program_takes(program: Program, kind: str) -> None:
    if program.status != ProgramStatus.ACTIVE:
        raise ApplicationError("This program takes no claims right now.", field="program")
    if kind not in program.claim_kinds:
        accepted = ", ".join(program.claim_kinds) or "none"
        raise ApplicationError(
            f"This program does not take {kind.replace('_', ' ')} claims (it takes: {accepted}).",
            field="type",
        )


def _claim_values(program: Program, kind: str, data: Mapping[str, object]):
    """The claim's column values and serials from a body of the kind's fields."""
    spec = claim_type(kind)
    cleaned = spec.clean(data, currency=program.currency)
    columns, measure, details, serials = spec.split(cleaned)
    values = {
        "invoice_number": "",
        "sku": "",
        "quantity": None,
        "unit_price": None,
        "amount": None,
        "currency": program.currency if kind != "sale" else "",
        "end_customer": "",
        **{name: value for name, value in columns.items() if value is not None},
        "measure": measure,
        "details": details,
    }
    return values, serials


def _write_serials(claim: Claim, serials: list[str]) -> None:
    ClaimSerial.objects.filter(claim=claim).delete()
    ClaimSerial.objects.bulk_create([ClaimSerial(claim=claim, serial=s) for s in serials])


def claim_create(
    *, actor: Membership, program: Program, kind: str, data: Mapping[str, object]
) -> Claim:
    """A draft claim of `kind` for the actor's company under `program`, from the kind's fields
    (`incentives.claims.types`). Field problems are one ApplicationError naming each field."""
    require(actor, "claims.submit")
    spec = claim_type(kind)
    _check_program_takes(program, spec.kind)
    values, serials = _claim_values(program, spec.kind, data)
    with transaction.atomic():
        claim = Claim.objects.create(
            program=program,
            partner_id=actor.partner_id,
            rep=actor,
            kind=spec.kind,
            created_by=actor.user,
            **values,
        )
        _write_serials(claim, serials)
    return claim


def _own(actor: Membership, claim: Claim) -> None:
    """Partner people act on their company's claims; a rep on their own only."""
    if actor.partner_id is None or claim.partner_id != actor.partner_id:
        raise NotPermitted("Only the company that made a claim can change it.")
    if not can(actor, "claims.for_partner") and claim.rep_id != actor.pk:
        raise NotPermitted("You can change only the claims you made.")


def claim_update(*, actor: Membership, claim: Claim, data: Mapping[str, object]) -> Claim:
    """Replace a draft's fields (its kind and program stay)."""
    require(actor, "claims.submit")
    _own(actor, claim)
    with transaction.atomic():
        claim = lock_for(Claim, machine=CLAIM_STATES, action="edit", seen=claim.status, pk=claim.pk)
        program = Program.objects.get(pk=claim.program_id)
        values, serials = _claim_values(program, claim.kind, data)
        claim = move(claim, machine=CLAIM_STATES, action="edit", actor=actor.user, values=values)
        _write_serials(claim, serials)
    return claim


def claim_discard(*, actor: Membership, claim: Claim) -> None:
    """Delete a draft."""
    require(actor, "claims.submit")
    _own(actor, claim)
    with transaction.atomic():
        claim = lock_for(
            Claim, machine=CLAIM_STATES, action="discard", seen=claim.status, pk=claim.pk
        )
        claim.delete()


def claim_submit(*, actor: Membership, claim: Claim) -> Claim:
    """Send a draft for validation: submitted now, checked by the rules on the `validation`
    queue once the transaction commits."""
    require(actor, "claims.submit")
    _own(actor, claim)
    with transaction.atomic():
        claim = lock_for(
            Claim, machine=CLAIM_STATES, action="submit", seen=claim.status, pk=claim.pk
        )
        program = Program.objects.get(pk=claim.program_id)
        _check_program_takes(program, claim.kind)
        claim = move(
            claim,
            machine=CLAIM_STATES,
            action="submit",
            actor=actor.user,
            values={"submitted_at": timezone.now()},
        )
        queue_validation([claim])
    return claim


def claim_decide(*, actor: Membership, claim: Claim, approve: bool, note: str = "") -> Claim:
    """A reviewer approves or rejects a claim that needs review, with a note (required to
    reject: the rep is told why). Nobody decides a claim they made."""
    require(actor, "claims.review")
    note = clean_text(note, field="note", label="The note")[:NOTE_LENGTH]
    if not approve and not note:
        raise ApplicationError("Say why the claim is rejected: the rep reads it.", field="note")
    action = "approve" if approve else "reject"
    with transaction.atomic():
        claim = lock_for(Claim, machine=CLAIM_STATES, action=action, seen=claim.status, pk=claim.pk)
        if claim.created_by_id == actor.user_id:
            raise NotPermitted("Nobody approves or rejects a claim they made.")
        claim = move(
            claim,
            machine=CLAIM_STATES,
            action=action,
            actor=actor.user,
            values={
                "decided_at": timezone.now(),
                "decided_by": actor.user,
                "decision_note": note,
            },
            note=note[:300],
        )
        publish_decision(claim)
    return claim


def publish_decision(claim: Claim) -> None:
    """The domain event of a claim's new status, in the caller's transaction."""
    kind = {
        ClaimStatus.APPROVED: CLAIM_APPROVED,
        ClaimStatus.REJECTED: CLAIM_REJECTED,
        ClaimStatus.NEEDS_REVIEW: CLAIM_NEEDS_REVIEW,
    }.get(claim.status)
    if kind is not None:
        publish(
            kind,
            aggregate=claim,
            payload={"program_id": claim.program_id, "partner_id": claim.partner_id},
        )


def claim_appeal(*, actor: Membership, claim: Claim, message: str) -> Claim:
    """Ask for a rejected claim to be looked at again, once, saying why."""
    require(actor, "claims.submit")
    _own(actor, claim)
    message = clean_text(message, field="message", label="The message")
    if not message:
        raise ApplicationError("Say why the claim should be looked at again.", field="message")
    if len(message) > APPEAL_LENGTH:
        raise ApplicationError(
            f"The message is longer than {APPEAL_LENGTH} characters.", field="message"
        )
    with transaction.atomic():
        claim = lock_for(
            Claim,
            machine=CLAIM_STATES,
            action="appeal",
            seen=claim.status,
            refusal="Only a rejected claim can be appealed; this one is {state}.",
            pk=claim.pk,
        )
        if claim.appealed_at is not None:
            raise Conflict(
                "This claim was appealed once already; a claim is appealed only once.",
                code="already_appealed",
            )
        claim = move(
            claim,
            machine=CLAIM_STATES,
            action="appeal",
            actor=actor.user,
            values={"appealed_at": timezone.now(), "appeal_message": message},
            note=message[:300],
        )
        publish_decision(claim)
    return claim


# Rules


def clean_rule_params(params: object) -> dict:
    if params is None:
        return {}
    if not isinstance(params, dict) or len(params) > 20:
        raise ApplicationError("Parameters are an object of at most 20 names.", field="params")
    cleaned = {}
    for name, value in params.items():
        if not isinstance(name, str) or not name.isidentifier() or len(name) > 40:
            raise ApplicationError(f"{str(name)[:40]!r} is not a parameter name.", field="params")
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise ApplicationError(f"Parameter {name!r} must be a number or text.", field="params")
        if isinstance(value, float) and value != value:  # NaN
            raise ApplicationError(f"Parameter {name!r} must be a number.", field="params")
        if isinstance(value, int) and abs(value) > 2**53:
            raise ApplicationError(f"Parameter {name!r} is too large.", field="params")
        cleaned[name] = value
    return cleaned


def rule_create(
    *,
    actor: Membership,
    program: Program,
    name: str,
    expression: str,
    outcome: str,
    message: str,
    params: dict | None = None,
    builtin: str = "",
) -> Rule:
    """A rule at the end of the program's rule set, its expression compiled and its names
    checked first (`incentives.claims.rules.compiled`)."""
    require(actor, "programs.edit")
    name = clean_text(name, field="name", label="The rule's name")
    message = clean_text(message, field="message", label="The message")
    if not name or len(name) > 100:
        raise ApplicationError("Name the rule in at most 100 characters.", field="name")
    if not message or len(message) > 300:
        raise ApplicationError(
            "Write the message the rep reads, in at most 300 characters.", field="message"
        )
    if outcome not in RuleOutcome.values:
        raise ApplicationError(
            f"The outcome is one of: {', '.join(RuleOutcome.values)}.", field="outcome"
        )
    rules.compiled(expression)
    params = clean_rule_params(params)
    with transaction.atomic():
        last = Rule.objects.filter(program=program).order_by("-position").first()
        rule = Rule(
            program=program,
            position=(last.position + 1) if last else 0,
            name=name,
            expression=expression,
            outcome=outcome,
            message=message,
            params=params,
            builtin=builtin,
        )
        return create_unique(
            rule, field="name", message="The program has a rule of that name already."
        )


def rules_add_builtins(
    *, actor: Membership, program: Program, keys: list[str] | None = None
) -> list[Rule]:
    """The built-in checks `keys` (all of them when None) the program has not got yet."""
    require(actor, "programs.edit")
    keys = list(rules.BUILTINS) if keys is None else keys
    unknown = sorted(set(keys) - set(rules.BUILTINS))
    if unknown:
        raise ApplicationError(f"No built-in check {unknown[0][:40]!r}.", field="keys")
    have = set(Rule.objects.filter(program=program).values_list("builtin", flat=True))
    made = []
    for key in keys:
        if key in have:
            continue
        builtin = rules.BUILTINS[key]
        made.append(
            rule_create(
                actor=actor,
                program=program,
                name=builtin.name,
                expression=builtin.expression,
                outcome=builtin.outcome,
                message=builtin.message,
                params=dict(builtin.params),
                builtin=key,
            )
        )
    return made
