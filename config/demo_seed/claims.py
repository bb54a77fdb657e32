"""Claims on Northwind's SPIFF, made and decided through the services as its partner admins,
the rules and its claims reviewer would: clean sales the rules approve, drafts not sent yet, a
duplicate invoice across two partners that the rules flag, a sale under the minimum that they
reject and its partner appeals, and flagged claims the reviewer approves and rejects."""

from __future__ import annotations

import random
from collections import Counter
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from incentives.claims import services
from incentives.claims.models import Claim, ClaimStatus
from incentives.claims.validation import validate_claims
from incentives.models import Enrollment, EnrollmentStatus, Program
from incentives.services.programs import program_update
from tenancy.models import Membership

PRODUCTS = {"NW-FW-200": Decimal("1450.00"), "NW-FW-400": Decimal("2890.00")}
CUSTOMERS = ["Harbor Logistics", "Brightwater Clinic", "Orchard Foods", "Kestrel Legal"]


class ChannelClaims:
    def __init__(
        self,
        rng: random.Random,
        staff: dict[str, Membership],
        admins: dict[int, Membership],
        spiff: Program,
    ) -> None:
        self.rng = rng
        self.staff = staff
        self.admins = admins
        self.spiff = spiff
        self.today = timezone.localdate()
        self.invoice = 41000

    def sale(self, admin: Membership, *, invoice: str | None = None, quantity=None, sku=None):
        sku = sku or self.rng.choice(sorted(PRODUCTS))
        quantity = quantity or self.rng.randint(1, 6)
        price = PRODUCTS[sku]
        self.invoice += 1
        day = max(self.spiff.starts_on, self.today - timedelta(days=self.rng.randint(1, 20)))
        body = {
            "invoice_number": invoice or f"INV-{self.invoice}",
            "occurred_on": day.isoformat(),
            "sku": sku,
            "quantity": quantity,
            "unit_price": str(price),
            "amount": str(price * quantity),
            "currency": self.spiff.currency,
            "end_customer": self.rng.choice(CUSTOMERS),
        }
        return services.claim_create(actor=admin, program=self.spiff, kind="sale", data=body)

    def run(self) -> Counter:
        cam = self.staff["cam@northwind.example"]
        reviewer = self.staff["finance@northwind.example"]
        self.spiff = program_update(actor=cam, program=self.spiff, eligible_skus=sorted(PRODUCTS))
        services.rules_add_builtins(actor=cam, program=self.spiff)
        enrolled = list(
            Enrollment.objects.filter(program=self.spiff, status=EnrollmentStatus.ENROLLED)
            .order_by("partner_id")
            .values_list("partner_id", flat=True)
        )
        admins = [self.admins[pid] for pid in enrolled if pid in self.admins][:14]
        sent = []
        for admin in admins[:10]:
            for _ in range(self.rng.randint(1, 3)):
                sent.append(self.sale(admin))
        for admin in admins[10:13]:
            self.sale(admin)  # drafts, not sent yet
        twice = "INV-40001"
        sent.append(self.sale(admins[0], invoice=twice, sku="NW-FW-400"))
        sent.append(self.sale(admins[1], invoice=twice, sku="NW-FW-400"))
        small = self.sale(admins[2], sku="NW-FW-200", quantity=1)
        small = services.claim_update(
            actor=admins[2],
            claim=small,
            data={
                "invoice_number": small.invoice_number,
                "occurred_on": small.occurred_on.isoformat(),
                "sku": "NW-FW-200",
                "quantity": 1,
                "unit_price": "45.00",
                "amount": "45.00",
                "currency": small.currency,
                "end_customer": small.end_customer,
            },
        )
        sent.append(small)
        for claim, admin in self._owners(sent):
            services.claim_submit(actor=admin, claim=claim)
        validate_claims(sorted(c.pk for c in sent))
        # The rules flag both claims of the one invoice; the reviewer keeps the first partner's.
        first, second = (Claim.objects.get(pk=c.pk) for c in sent[-3:-1])
        if first.status == second.status == ClaimStatus.NEEDS_REVIEW:
            services.claim_decide(
                actor=reviewer, claim=first, approve=True, note="Checked with distribution."
            )
            services.claim_decide(
                actor=reviewer,
                claim=second,
                approve=False,
                note="Another partner claimed this invoice first; the distributor confirms theirs.",
            )
        small = Claim.objects.get(pk=small.pk)
        if small.status == ClaimStatus.REJECTED:
            services.claim_appeal(
                actor=admins[2],
                claim=small,
                message="The distributor invoiced an accessory kit at list price; invoice "
                "attached.",
            )
        return Counter(Claim.objects.values_list("status", flat=True))

    def _owners(self, claims):
        by_partner = {m.partner_id: m for m in self.admins.values()}
        return [(claim, by_partner[claim.partner_id]) for claim in claims]


def describe_claims(counts: Counter) -> str:
    parts = [f"{counts[s]} {ClaimStatus(s).label.lower()}" for s in ClaimStatus.values if counts[s]]
    return "Claims on the SPIFF: " + ", ".join(parts)
