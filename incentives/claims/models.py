"""Claims: what a partner rep asks to be rewarded for, under one program.

A claim is of one kind (`incentives.claims.types`), belongs to a partner company and, when a
person made it, to that person's membership (the rep). Its lifecycle is `CLAIM_STATES`
(`incentives.claims.states`); every move is recorded in the history (`tenancy.audit`) with who,
when and why.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from incentives.claims.types import ClaimKind
from incentives.models import Program
from tenancy.models import TenantOwned


class ClaimStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SUBMITTED = "submitted", "Submitted"
    VALIDATING = "validating", "Validating"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    NEEDS_REVIEW = "needs_review", "Needs review"


class Claim(TenantOwned):
    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="+")
    partner = models.ForeignKey("partners.Partner", on_delete=models.PROTECT, related_name="+")
    # The partner person who made the claim; None for a claim from a file over many partners
    # (a distributor's sell-through report) or when the person's membership is gone.
    rep = models.ForeignKey(
        "tenancy.Membership", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(max_length=20, choices=ClaimKind.choices)
    status = models.CharField(max_length=12, choices=ClaimStatus.choices, default=ClaimStatus.DRAFT)
    # The day of the sale (the invoice date) or of the activity: the program period and the
    # claim window are checked on it.
    occurred_on = models.DateField()
    invoice_number = models.CharField(max_length=64, blank=True, default="")
    sku = models.CharField(max_length=64, blank=True, default="")
    quantity = models.PositiveIntegerField(null=True, blank=True)
    unit_price = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    amount = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True, default="")
    end_customer = models.CharField(max_length=200, blank=True, default="")
    # A behaviour's number: training days, survey score, on-time rate, days to close, a deal's
    # expected value.
    measure = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    # A behaviour's words (the deal, the course, the certification, the person...).
    details = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decision_note = models.CharField(max_length=500, blank=True, default="")
    # A rejected claim may be appealed once, with a message (→ needs review).
    appealed_at = models.DateTimeField(null=True, blank=True)
    appeal_message = models.CharField(max_length=2000, blank=True, default="")

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__isnull=True) | Q(amount__gte=0),
                name="claim_amount_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(unit_price__isnull=True) | Q(unit_price__gte=0),
                name="claim_unit_price_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(status=ClaimStatus.DRAFT) | Q(submitted_at__isnull=False),
                name="claim_submitted_has_time",
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "status", "submitted_at"]),
            models.Index(fields=["tenant", "program", "status"]),
            models.Index(fields=["tenant", "partner", "occurred_on"]),
            models.Index(fields=["tenant", "rep", "created_at"]),
            # Duplicate invoice + SKU anywhere in the tenant.
            models.Index(
                fields=["tenant", "invoice_number", "sku"],
                condition=~Q(invoice_number=""),
                name="claim_invoice_sku",
            ),
        ]

    def __str__(self) -> str:
        return f"claim #{self.pk} ({self.kind}, {self.status})"


class ClaimSerial(TenantOwned):
    """A serial number a sale claim names; a serial claimed twice in the tenant is a duplicate
    the rules find by the index on it."""

    claim = models.ForeignKey(Claim, on_delete=models.CASCADE, related_name="+")
    serial = models.CharField(max_length=100)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "claim", "serial"], name="claim_serial_once")
        ]
        indexes = [models.Index(fields=["tenant", "serial"], name="claim_serial_lookup")]

    def __str__(self) -> str:
        return self.serial


class RuleOutcome(models.TextChoices):
    REJECT = "reject", "Reject the claim"
    FLAG = "flag", "Flag it for review"


class Rule(TenantOwned):
    """One check of a program's claims: a CEL expression that a valid claim makes true
    (`incentives.claims.rules`), what happens when it is false, and the message the rep reads
    then. A built-in check is a rule with a `builtin` key; its `params` tune it."""

    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="+")
    position = models.PositiveIntegerField(default=0)
    name = models.CharField(max_length=100)
    expression = models.TextField()
    outcome = models.CharField(max_length=10, choices=RuleOutcome.choices)
    message = models.CharField(max_length=300)
    builtin = models.CharField(max_length=40, blank=True, default="")
    params = models.JSONField(default=dict, blank=True)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "program", "name"], name="rule_name_once"),
        ]
        indexes = [models.Index(fields=["tenant", "program", "position"])]

    def __str__(self) -> str:
        return self.name


class CheckResult(models.TextChoices):
    PASSED = "passed", "Passed"
    REJECTED = "rejected", "Failed: rejects the claim"
    FLAGGED = "flagged", "Failed: flags the claim for review"
    ERROR = "error", "Could not be checked"


class ClaimCheck(TenantOwned):
    """What one rule said of one claim when the claim was validated: the trace the rep and
    the reviewer read, rule by rule."""

    claim = models.ForeignKey(Claim, on_delete=models.CASCADE, related_name="+")
    rule = models.ForeignKey(Rule, null=True, on_delete=models.SET_NULL, related_name="+")
    position = models.PositiveIntegerField()
    rule_name = models.CharField(max_length=100)
    result = models.CharField(max_length=10, choices=CheckResult.choices)
    message = models.CharField(max_length=300, blank=True, default="")
    checked_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["claim", "position"]
        indexes = [models.Index(fields=["tenant", "claim", "position"])]

    def __str__(self) -> str:
        return f"{self.rule_name}: {self.result}"
