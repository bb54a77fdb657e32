"""Validation: every submitted claim checked against its program's rules, in batches.

`validate_claims(ids)` takes the claims of `ids` still submitted (a claim already decided, or
taken by another run, is left alone: running it twice changes nothing more), locks them in key
order, gathers the batch's facts in a fixed number of queries (`facts.gather`), runs every
enabled rule of each claim's program (`rules.check`, compiled once a process) and writes in
bulk: each rule's verdict (`ClaimCheck`, the trace the rep reads), the move to validating and
then to the decision (through `tenancy.transitions.move_many`, recorded), and the decision's
event. A rule that rejects rejects the claim; otherwise one that flags (or cannot be checked)
sends it to review; a claim every rule passes is approved.

Everything happens in one transaction: a run that dies leaves the claims submitted, and the
sweeper (`stale_submitted_claims`) queues them again.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone

from incentives.claims import facts, rules
from incentives.claims.models import (
    CheckResult,
    Claim,
    ClaimCheck,
    ClaimSerial,
    ClaimStatus,
    Rule,
)
from incentives.claims.states import CLAIM_STATES
from incentives.models import Program
from tenancy.context import current_tenant_id
from tenancy.events import publish_many
from tenancy.tasking import enqueue_on_commit
from tenancy.transitions import lock_many, move_many

BATCH = 500
# A claim submitted this long ago and still submitted has lost its task.
STALE_AFTER = timedelta(minutes=2)
DECISIONS = {"pass": "claim.approved", "fail": "claim.rejected", "flag": "claim.needs_review"}


def claim_context(claim: Claim, program: Program, partner, serials: list[str], found: dict):
    """The names a rule reads (see `rules`)."""
    submitted = claim.submitted_at or claim.created_at
    return {
        "claim": {
            "kind": claim.kind,
            "amount": float(claim.amount) if claim.amount is not None else 0.0,
            "quantity": claim.quantity or 0,
            "unit_price": float(claim.unit_price) if claim.unit_price is not None else 0.0,
            "currency": claim.currency,
            "sku": claim.sku,
            "invoice_number": claim.invoice_number,
            "end_customer": claim.end_customer,
            "measure": float(claim.measure) if claim.measure is not None else 0.0,
            "occurred_on": claim.occurred_on.isoformat(),
            "submitted_on": submitted.date().isoformat(),
            "serials": serials,
        },
        "partner": {
            "type": partner.type,
            "tier": partner.tier.name if partner.tier_id else "",
            "region": partner.region,
            "territory": partner.territory,
            "country": partner.country,
            "stage": partner.stage,
            "segment": partner.segment,
            "status": partner.status,
        },
        "program": {
            "kind": program.kind,
            "starts_on": program.starts_on.isoformat(),
            "ends_on": program.ends_on.isoformat(),
            "claim_window_days": program.claim_window_days,
            "currency": program.currency,
            "eligible_skus": list(program.eligible_skus),
        },
        "facts": found,
    }


def _decision(verdicts: list[rules.Verdict]) -> str:
    results = {v.result for v in verdicts}
    if CheckResult.REJECTED in results:
        return "fail"
    if results & {CheckResult.FLAGGED, CheckResult.ERROR}:
        return "flag"
    return "pass"


def validate_claims(claim_ids: list[int]) -> dict[str, int]:
    """Validate the claims of `claim_ids` that are still submitted; counts by decision."""
    counts = {"pass": 0, "fail": 0, "flag": 0}
    with transaction.atomic():
        claims = lock_many(Claim, pk__in=list(claim_ids), status=ClaimStatus.SUBMITTED)
        if not claims:
            return counts
        program_ids = {c.program_id for c in claims}
        programs = Program.objects.in_bulk(program_ids)
        partner_model = Claim._meta.get_field("partner").related_model
        partners = partner_model.objects.select_related("tier").in_bulk(
            {c.partner_id for c in claims}
        )
        by_program = defaultdict(list)
        for rule in Rule.objects.filter(program_id__in=program_ids, enabled=True).order_by(
            "position", "pk"
        ):
            by_program[rule.program_id].append(rule)
        serials = defaultdict(list)
        for claim_id, serial in ClaimSerial.objects.filter(
            claim_id__in=[c.pk for c in claims]
        ).values_list("claim_id", "serial"):
            serials[claim_id].append(serial)
        found = facts.gather(claims, programs)

        now = timezone.now()
        checks = []
        decided: dict[str, list[Claim]] = defaultdict(list)
        notes: dict[int, str] = {}
        for claim in claims:
            program = programs[claim.program_id]
            context = rules.evaluation_context(
                claim_context(
                    claim, program, partners[claim.partner_id], serials[claim.pk], found[claim.pk]
                )
            )
            verdicts = []
            for position, rule in enumerate(by_program[claim.program_id]):
                verdict = rules.check(
                    rule.expression, rule.outcome, rule.message, context, rule.params
                )
                verdicts.append(verdict)
                checks.append((claim.pk, rule.pk, position, rule.name, verdict))
            decision = _decision(verdicts)
            decided[decision].append(claim)
            failed = [v.message for v in verdicts if v.result != CheckResult.PASSED]
            notes[claim.pk] = "; ".join(failed)
        _insert_checks(checks, now)
        move_many(claims, machine=CLAIM_STATES, action="validate", actor=None)
        for decision, moved in decided.items():
            values = {"decided_at": now} if decision != "flag" else {}
            move_many(
                moved, machine=CLAIM_STATES, action=decision, actor=None, values=values, notes=notes
            )
            publish_many(
                DECISIONS[decision],
                aggregates=moved,
                payloads=[{"program_id": c.program_id, "partner_id": c.partner_id} for c in moved],
            )
            counts[decision] = len(moved)
    return counts


def _insert_checks(checks: list[tuple], at) -> None:
    """The batch's verdicts (`ClaimCheck` rows) in one INSERT from arrays, without a model
    object a row (thousands a batch)."""
    if not checks:
        return
    claim_ids, rule_ids, positions, names, verdicts = zip(*checks, strict=True)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {ClaimCheck._meta.db_table}"  # noqa: S608  (a table name of ours)
            " (tenant_id, claim_id, rule_id, position, rule_name, result, message, checked_at)"
            " SELECT %s, c, r, p, n, v, m, %s FROM unnest("
            "%s::bigint[], %s::bigint[], %s::int[], %s::text[], %s::text[], %s::text[]"
            ") AS t(c, r, p, n, v, m)",
            [
                current_tenant_id(),
                at,
                list(claim_ids),
                list(rule_ids),
                list(positions),
                list(names),
                [v.result for v in verdicts],
                [v.message for v in verdicts],
            ],
        )


def stale_submitted_claims_everywhere(now=None) -> dict[int, list[int]]:
    """{tenant id: ids of its claims submitted over `STALE_AFTER` ago and not yet taken}, for
    the sweeper, which runs across tenants (`all_tenants`)."""
    cutoff = (now or timezone.now()) - STALE_AFTER
    found: dict[int, list[int]] = defaultdict(list)
    for tenant_id, pk in (
        Claim.objects.filter(status=ClaimStatus.SUBMITTED, submitted_at__lt=cutoff)
        .order_by("tenant_id", "pk")
        .values_list("tenant_id", "pk")[: BATCH * 20]
    ):
        found[tenant_id].append(pk)
    return dict(found)


def queue_validation(claims: list[Claim]) -> None:
    """Send the claims to validation once the transaction commits, a task a batch."""
    from incentives.tasks import validate_claims_task

    ids = [c.pk for c in claims]
    for start in range(0, len(ids), BATCH):
        enqueue_on_commit(
            validate_claims_task,
            tenant_id=claims[0].tenant_id,
            claim_ids=ids[start : start + BATCH],
        )
