"""Incentive programs, their terms, the partners they require and the partners enrolled."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from tenancy.models import BulkJob, TenantOwned


class ProgramKind(models.TextChoices):
    SPIFF = "spiff", "SPIFF"
    REBATE = "rebate", "Rebate"
    POINTS = "points", "Points"
    BEHAVIOUR = "behaviour", "Behaviour reward"
    MDF = "mdf", "MDF"


class ProgramStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    ACTIVE = "active", "Active"
    PAUSED = "paused", "Paused"
    CLOSED = "closed", "Closed"


class EnrollmentMode(models.TextChoices):
    OPEN = "open", "Open: eligible partners enroll themselves"
    INVITATION = "invitation", "Invitation: only invited partners enroll"
    AUTOMATIC = "automatic", "Automatic: every eligible partner is enrolled"


class Program(TenantOwned):
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    kind = models.CharField(max_length=20, choices=ProgramKind.choices)
    status = models.CharField(
        max_length=10, choices=ProgramStatus.choices, default=ProgramStatus.DRAFT
    )
    starts_on = models.DateField()
    ends_on = models.DateField()
    claim_window_days = models.PositiveIntegerField(
        default=30, help_text="Days after the sale (or activity) that a claim is accepted."
    )
    currency = models.CharField(
        max_length=3,
        validators=[RegexValidator(r"^[A-Z]{3}$", "Use a three-letter ISO 4217 code.")],
    )
    budget = models.DecimalField(max_digits=14, decimal_places=2, validators=[MinValueValidator(0)])
    # {"types": [...], "tiers": [tier ids], "regions": [...], "territories": [...],
    #  "countries": [...], "stages": [...], "segments": [...]}; an empty or missing list is "any".
    eligibility = models.JSONField(default=dict, blank=True)
    enrollment_mode = models.CharField(
        max_length=12, choices=EnrollmentMode.choices, default=EnrollmentMode.OPEN
    )
    # The highest version of the program's terms (None: none published), which lists read with
    # the row instead of a subquery a program. PostgreSQL alone writes it (migration 0009): a
    # trigger on the terms table sets it after any change there, and one on this table sets it
    # again before every write of a program, so a save from a stale instance cannot undo it.
    current_terms_version = models.PositiveIntegerField(null=True, editable=False)
    # The claim kinds the program accepts (`incentives.claims.types.ClaimKind`) and the
    # products a sale claim may name (SKUs; empty: any product).
    claim_kinds = ArrayField(models.CharField(max_length=20), default=list, blank=True)
    eligible_skus = ArrayField(models.CharField(max_length=64), default=list, blank=True)
    required_partners = models.ManyToManyField(
        "partners.Partner", through="RequiredPartner", related_name="+", blank=True
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-starts_on", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__gte=F("starts_on")), name="program_period_ordered"
            ),
            models.CheckConstraint(condition=Q(budget__gte=0), name="program_budget_not_negative"),
        ]
        indexes = [
            models.Index(fields=["tenant", "status"]),
            models.Index(fields=["tenant", "starts_on"]),
        ]

    def __str__(self) -> str:
        return self.name


class RequiredPartner(TenantOwned):
    """A partner that must enroll for the program to succeed."""

    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="+")
    partner = models.ForeignKey("partners.Partner", on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "program", "partner"], name="required_partner_once"
            )
        ]


class ProgramTerms(TenantOwned):
    """One version of a program's terms, in Markdown. Versions are never edited: a change is a
    new version, which partners accept again."""

    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="terms_versions")
    version = models.PositiveIntegerField()
    body = models.TextField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "program", "version"], name="terms_version_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.program} terms v{self.version}"


class EnrollmentStatus(models.TextChoices):
    INVITED = "invited", "Invited"
    ENROLLED = "enrolled", "Enrolled"
    REACCEPT = "reaccept", "Terms to re-accept"
    DECLINED = "declined", "Declined"
    WITHDRAWN = "withdrawn", "Withdrawn"


class Enrollment(TenantOwned):
    """A partner in a program. Counts as enrolled only in status `enrolled`."""

    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="+")
    partner = models.ForeignKey("partners.Partner", on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=10, choices=EnrollmentStatus.choices)
    terms = models.ForeignKey(
        ProgramTerms,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The terms version accepted.",
    )
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_from = models.GenericIPAddressField(null=True, blank=True)
    automatic = models.BooleanField(default=False)
    # Vendor staff accepted the terms for the partner (`accepted_by` is the staff member), for
    # a program that runs on paper; the reason they gave. The partner accepting itself later
    # clears both. Database defaults: the automatic enrollment inserts rows in raw SQL.
    on_behalf = models.BooleanField(default=False, db_default=False)
    on_behalf_reason = models.CharField(max_length=500, blank=True, default="", db_default="")
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    invited_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "program", "partner"], name="enrollment_once_per_program"
            )
        ]
        indexes = [
            models.Index(fields=["tenant", "program", "status"]),
            models.Index(fields=["tenant", "partner", "status"]),
        ]

    def __str__(self) -> str:
        return f"{self.partner_id} in {self.program_id}: {self.status}"


class AutoEnrollRequest(TenantOwned):
    """A pending request to bring an automatic program's enrollments up to date. At most one a
    program: a request made while one is pending adds nothing, so a burst of partner changes
    queues one re-sync. The re-sync task deletes the request as it starts, so a change during
    the run makes a new request and one more run (`incentives.services.resyncs`)."""

    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="+")
    requested_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "program"], name="auto_enroll_request_once")
        ]

    def __str__(self) -> str:
        return f"re-sync of {self.program_id} requested {self.requested_at:%Y-%m-%d %H:%M}"


class FiguresRequest(TenantOwned):
    """A pending request to recompute every figures row of a tenant: a partner changed, so any
    program may count it differently. At most one a tenant: a request made while one is pending
    adds nothing, so the thousands of partner events of an import come to one pass over the
    programs, seconds after the last of them. The task deletes the request as it starts, so a
    change during the pass makes a new request and one more pass
    (`incentives.services.figures`)."""

    requested_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant"], name="figures_request_once")]

    def __str__(self) -> str:
        return f"figures of tenant {self.tenant_id} requested {self.requested_at:%Y-%m-%d %H:%M}"


class InviteJob(BulkJob):
    """Invitations to every eligible partner of a program, sent by a bulk task in chunks of
    partners (in id order, `next_partner_id` being where the next chunk starts), each chunk
    committed with the counters so the program page can show the progress."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for a worker"
        RUNNING = "running", "Inviting"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="+")
    requested_by = models.ForeignKey(
        "tenancy.Membership",
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Whose right to invite each chunk is checked against.",
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    total = models.PositiveIntegerField(default=0, help_text="Eligible partners at the request.")
    done = models.PositiveIntegerField(default=0, help_text="Partners gone through so far.")
    invited = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(
        default=0, help_text="Already invited or enrolled: skipped."
    )
    error_count = models.PositiveIntegerField(default=0)
    # [{"partners": 3, "message": "No longer eligible when their turn came."}, ...]
    errors = models.JSONField(default=list, blank=True)
    failure = models.TextField(blank=True, help_text="Why the invitations stopped.")
    next_partner_id = models.BigIntegerField(
        default=0, help_text="Partners with a greater id are still to go through."
    )
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["tenant", "program", "created_at"]),
            models.Index(fields=["tenant", "status", "created_at"]),
            # The sweeper's question, over every tenant: which unfinished jobs went quiet.
            models.Index(
                fields=["heartbeat_at"],
                condition=models.Q(status__in=["pending", "running"]),
                name="incentives_invitejob_alive_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"invitations to program {self.program_id} ({self.status})"

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)

    @property
    def progress_percent(self) -> int:
        if self.finished:
            return 100
        return min(int(100 * self.done / self.total), 100) if self.total else 0


# `PartnerImport.kind` of an enrollment import (`incentives.services.enrollment_imports`).
ENROLLMENTS_IMPORT_KIND = "enrollments"


class EnrollmentImport(TenantOwned):
    """A CSV file of partners to enroll in one program on their behalf, a row each with its
    reason. Its rows are a partner import of kind "enrollments" (`job`: file, status, progress,
    row errors), run by the partner import's task; this row says which program, the terms
    version current at the upload (the one staff accept for the partners: a version published
    meanwhile refuses the rows still to import) and whose right each chunk is checked against."""

    job = models.ForeignKey("partners.PartnerImport", on_delete=models.CASCADE, related_name="+")
    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="+")
    terms = models.ForeignKey(ProgramTerms, on_delete=models.PROTECT, related_name="+")
    requested_by = models.ForeignKey(
        "tenancy.Membership", null=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "job"], name="enrollment_import_per_job")
        ]
        indexes = [models.Index(fields=["tenant", "program"])]

    def __str__(self) -> str:
        return f"enrollment import {self.job_id} into program {self.program_id}"


class ProgramFigures(TenantOwned):
    """A program's figures as of `computed_at`, kept fresh by domain events (the subscriber
    `incentives.program_figures`), so a list of programs reads one row a program instead of
    aggregating partners and enrollments on every request. The program's own page computes
    them live."""

    # No accessor on the program, but a name to join by: lists read a program's row in their
    # own statement (`selectors.program_rows`).
    program = models.ForeignKey(
        Program, on_delete=models.CASCADE, related_name="+", related_query_name="stored_figures"
    )
    eligible = models.PositiveIntegerField(default=0)
    enrolled = models.PositiveIntegerField(default=0)
    required = models.PositiveIntegerField(default=0)
    required_enrolled = models.PositiveIntegerField(default=0)
    computed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "program"], name="program_figures_once")
        ]

    @property
    def enrollment_rate(self) -> float | None:
        """|eligible ∩ enrolled| / |eligible|; None ("no data") when nothing is eligible."""
        return self.enrolled / self.eligible if self.eligible else None

    @property
    def required_rate(self) -> float | None:
        return self.required_enrolled / self.required if self.required else None


# Claims live in their own package of this app; Django finds their models here.
from incentives.claims.models import (  # noqa: E402, F401
    CheckResult,
    Claim,
    ClaimCheck,
    ClaimSerial,
    ClaimStatus,
    Rule,
    RuleOutcome,
)
