"""What the rules know of a batch of claims besides the claims themselves, gathered in a fixed
number of set-based queries whatever the batch's size (`gather`): whether each partner is
enrolled, the other claims of the same invoice and product, serial numbers claimed elsewhere,
how many claims the rep made that day, what the partner has claimed in the program's period,
the partner's history of amounts, and the budget left."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal

from django.db.models import Avg, Count, Q, StdDev, Sum
from django.db.models.functions import TruncDate

from incentives.claims.models import Claim, ClaimSerial, ClaimStatus
from incentives.models import Enrollment, EnrollmentStatus, Program

# Claims that count as made: everything but drafts and rejections.
COUNTED = [
    ClaimStatus.SUBMITTED,
    ClaimStatus.VALIDATING,
    ClaimStatus.NEEDS_REVIEW,
    ClaimStatus.APPROVED,
]


def _float(value) -> float:
    return float(value) if value is not None else 0.0


def gather(claims: Sequence[Claim], programs: dict[int, Program]) -> dict[int, dict]:
    """{claim id: facts} for `claims` (loaded, with their programs in `programs`)."""
    ids = [c.pk for c in claims]
    pairs = {(c.program_id, c.partner_id) for c in claims}
    program_ids = {c.program_id for c in claims}
    partner_ids = {c.partner_id for c in claims}

    enrolled = set(
        Enrollment.objects.filter(
            program_id__in=program_ids,
            partner_id__in=partner_ids,
            status=EnrollmentStatus.ENROLLED,
        ).values_list("program_id", "partner_id")
    )

    invoices = {(c.invoice_number, c.sku) for c in claims if c.invoice_number}
    same_invoice: dict[tuple[str, str], set[int]] = defaultdict(set)
    if invoices:
        numbers = {number for number, _ in invoices}
        for number, sku, pk in Claim.objects.filter(
            invoice_number__in=numbers, status__in=COUNTED
        ).values_list("invoice_number", "sku", "pk"):
            if (number, sku) in invoices:
                same_invoice[(number, sku)].add(pk)

    serials_of: dict[int, list[str]] = defaultdict(list)
    for claim_id, serial in ClaimSerial.objects.filter(claim_id__in=ids).values_list(
        "claim_id", "serial"
    ):
        serials_of[claim_id].append(serial)
    claimed_by: dict[str, set[int]] = defaultdict(set)
    every_serial = {s for serials in serials_of.values() for s in serials}
    if every_serial:
        for serial, claim_id in ClaimSerial.objects.filter(
            serial__in=every_serial, claim__status__in=COUNTED
        ).values_list("serial", "claim_id"):
            claimed_by[serial].add(claim_id)

    reps = {c.rep_id for c in claims if c.rep_id is not None}
    days = {(c.submitted_at or c.created_at).date() for c in claims}
    per_rep_day = {
        (row["rep_id"], row["day"]): row["n"]
        for row in Claim.objects.filter(rep_id__in=reps, status__in=COUNTED)
        .annotate(day=TruncDate("submitted_at"))
        .filter(day__in=days)  # the batch's days only, not the reps' whole history
        .values("rep_id", "day")
        .annotate(n=Count("pk"))
    }

    period_amount = defaultdict(Decimal)
    history = {}
    if pairs:
        in_pairs = Q()
        for program_id, partner_id in pairs:
            in_pairs |= Q(program_id=program_id, partner_id=partner_id)
        for row in (
            Claim.objects.filter(in_pairs, kind="sale", status__in=COUNTED)
            .exclude(pk__in=ids)
            .values("program_id", "partner_id")
            .annotate(total=Sum("amount"))
        ):
            period_amount[(row["program_id"], row["partner_id"])] = row["total"] or Decimal(0)
        history = {
            row["partner_id"]: row
            for row in Claim.objects.filter(
                partner_id__in=partner_ids, kind="sale", status=ClaimStatus.APPROVED
            )
            .values("partner_id")
            .annotate(n=Count("pk"), mean=Avg("amount"), stddev=StdDev("amount"))
        }

    spent = {
        row["program_id"]: row["total"] or Decimal(0)
        for row in Claim.objects.filter(
            program_id__in=program_ids, kind="sale", status=ClaimStatus.APPROVED
        )
        .values("program_id")
        .annotate(total=Sum("amount"))
    }

    found = {}
    for claim in claims:
        program = programs[claim.program_id]
        submitted_on = (claim.submitted_at or claim.created_at).date()
        mine = set(serials_of.get(claim.pk, []))
        past = history.get(claim.partner_id) or {}
        found[claim.pk] = {
            "enrolled": (claim.program_id, claim.partner_id) in enrolled,
            "days_to_submit": (submitted_on - claim.occurred_on).days,
            "duplicate_invoices": len(
                same_invoice.get((claim.invoice_number, claim.sku), set()) - {claim.pk}
            )
            if claim.invoice_number
            else 0,
            "duplicate_serials": sorted(s for s in mine if claimed_by.get(s, set()) - {claim.pk}),
            "rep_claims_that_day": per_rep_day.get((claim.rep_id, submitted_on), 0),
            "partner_period_amount": _float(period_amount[(claim.program_id, claim.partner_id)]),
            "partner_history_count": past.get("n", 0),
            "partner_history_mean": _float(past.get("mean")),
            "partner_history_stddev": _float(past.get("stddev")),
            "budget_left": _float(program.budget - spent.get(claim.program_id, Decimal(0))),
        }
    return found
