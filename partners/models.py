"""Channel partner companies and the tier ladder each tenant defines."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from tenancy.models import BulkJob, TenantOwned


class PartnerType(models.TextChoices):
    DISTRIBUTOR = "distributor", "Distributor"
    RESELLER = "reseller", "Reseller"
    VAR = "var", "VAR"
    MSP = "msp", "MSP"
    REFERRAL = "referral", "Referral partner"
    DEALER = "dealer", "Dealer"
    CONTRACTOR = "contractor", "Contractor"


class Stage(models.TextChoices):
    """Stage of development: new partners get enablement goals, established ones revenue goals."""

    NEW = "new", "New"
    DEVELOPING = "developing", "Developing"
    ESTABLISHED = "established", "Established"


class Segment(models.TextChoices):
    """Engagement segment: achievers perform, believers are willing but not yet performing,
    deceivers promise without delivering."""

    ACHIEVER = "achiever", "Achiever"
    BELIEVER = "believer", "Believer"
    DECEIVER = "deceiver", "Deceiver"
    UNASSESSED = "unassessed", "Unassessed"


class PartnerStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    INACTIVE = "inactive", "Inactive"


class Tier(TenantOwned):
    """A rung of the tenant's partner ladder, e.g. Registered → Silver → Gold → Platinum."""

    name = models.CharField(max_length=60)
    rank = models.PositiveSmallIntegerField(help_text="Position on the ladder; 1 is the lowest.")

    class Meta:
        ordering = ["rank", "name"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="tier_name_per_tenant"),
            # Checked at commit: a reorder moves ranks through each other within its transaction.
            models.UniqueConstraint(
                fields=["tenant", "rank"],
                name="tier_rank_per_tenant",
                deferrable=models.Deferrable.DEFERRED,
            ),
        ]

    def __str__(self) -> str:
        return self.name


# The partner attributes lists filter on, each with an index in name order (`Partner.Meta`).
FILTER_COLUMNS = (
    "type",
    "tier",
    "region",
    "territory",
    "country",
    "stage",
    "segment",
    "status",
    "channel_manager",
)


class Partner(TenantOwned):
    """A channel partner company of one vendor tenant."""

    name = models.CharField(max_length=200)
    type = models.CharField(
        max_length=20, choices=PartnerType.choices, default=PartnerType.RESELLER
    )
    tier = models.ForeignKey(
        Tier,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="partners",
        db_index=False,  # the tier filter's index (Meta) leads with (tenant, tier)
    )
    region = models.CharField(max_length=60, blank=True)
    territory = models.CharField(max_length=100, blank=True)
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166-1 alpha-2, e.g. DE.")
    stage = models.CharField(max_length=20, choices=Stage.choices, default=Stage.NEW)
    segment = models.CharField(max_length=20, choices=Segment.choices, default=Segment.UNASSESSED)
    channel_manager = models.ForeignKey(
        "tenancy.Membership",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,  # the channel manager filter's index (Meta) leads with it
        help_text="The channel account manager (a vendor staff member).",
    )
    status = models.CharField(
        max_length=10, choices=PartnerStatus.choices, default=PartnerStatus.ACTIVE
    )
    external_id = models.CharField(
        max_length=100,
        blank=True,
        help_text="The partner's id in the CRM; CSV imports match on it.",
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "external_id"],
                condition=~Q(external_id=""),
                name="partner_external_id_per_tenant",
            ),
        ]
        # Each filter's index goes on in the list's default order (name, id): a filtered page
        # is then read in order from the index and stops after its rows, rather than walking
        # the name index past every partner the filter drops (a VAR + Gold page read ~1,000).
        # They also serve the foreign keys' lookups, so those keys have no index of their own.
        indexes = [
            models.Index(fields=["tenant", "name", "id"]),
            *(
                models.Index(
                    fields=["tenant", column, "name", "id"], name=f"partner_{column[:12]}_by_name"
                )
                for column in FILTER_COLUMNS
            ),
            models.Index(fields=["tenant", "created_at"]),
        ]

    def __str__(self) -> str:
        return self.name


class SearchTermKind(models.TextChoices):
    WORD = "word", "A word of the name"
    CRM_ID = "crm_id", "The CRM id"


class PartnerSearchTerm(TenantOwned):
    """One term partner search looks up: a word of the partner's name or its whole CRM id,
    lower-cased (`partners.search` says how a name splits into words).

    Written by PostgreSQL alone: statement triggers on the partner table replace a partner's
    terms whenever its name or CRM id changes and remove them when it is deleted, however the
    change is made (a form, the API, a CSV import's bulk writes, raw SQL); see migration 0009.
    Nothing in the application writes them. `term` sorts by byte (the C collation), so "starts
    with" is a range on the index, a comparison PostgreSQL may use under row-level security
    (`ILIKE` it may not)."""

    # No cascade in Django: the delete trigger removes the terms of deleted partners in the
    # same statement. No foreign key in the database either: the triggers keep every term's
    # partner there, and the key's check, three a partner written, read the partner table
    # through whichever index the planner picked for a table without statistics (a new
    # tenant's first import, autovacuum not yet round), a scan of the tenant's partners a
    # term. No index of its own: the unique key (tenant, partner, ...) serves the triggers'
    # lookups by partner.
    partner = models.ForeignKey(
        Partner,
        on_delete=models.DO_NOTHING,
        related_name="+",
        editable=False,
        db_index=False,
        db_constraint=False,
    )
    kind = models.CharField(max_length=10, choices=SearchTermKind.choices, editable=False)
    term = models.CharField(max_length=200, db_collation="C", editable=False)
    # The partner's name as the partner list sorts it (the same collation): a search's page is
    # chosen from the terms alone, then only its partners are read
    # (`partners.selectors.partner_rows_for`).
    name = models.CharField(max_length=200, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "partner", "kind", "term"], name="partner_search_term_once"
            ),
        ]
        indexes = [
            models.Index(
                fields=["tenant", "kind", "term"],
                include=["partner", "name"],
                name="partner_search_term_lookup",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.term}"


PARTNERS_KIND = "partners"


class PartnerImport(BulkJob):
    """One upload of a CRM export: processed by a worker, row by row, upserting on the CRM id.
    Good rows are kept whatever happens to bad ones; `errors` lists each bad row's number,
    column and reason."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for a worker"
        RUNNING = "running", "Importing"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    # What the rows are: "partners" (this app's upsert) or a kind a higher app registers with
    # `partners.csv_io.register_import_kind` (incentives: "enrollments"). Every kind runs through
    # the same task, chunks, progress and sweeper.
    kind = models.CharField(max_length=20, default=PARTNERS_KIND, db_default=PARTNERS_KIND)
    file_name = models.CharField(max_length=255)
    content = models.TextField(help_text="The uploaded CSV, as text.")
    content_sha256 = models.CharField(max_length=64)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    unchanged_count = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    # [{"row": 7, "column": "tier", "message": "No tier called 'Goldd'."}, ...]
    errors = models.JSONField(default=list, blank=True)
    # Where the next chunk starts, committed with `processed_rows`: a continuation seeks there.
    next_offset = models.PositiveIntegerField(
        default=0, help_text="Position in `content` of the next record to import; 0: the start."
    )
    next_row = models.PositiveIntegerField(
        default=2, help_text="Row number of the record at `next_offset` (the header is row 1)."
    )
    repeated_ids = models.JSONField(
        null=True,
        blank=True,
        help_text="The first row of each CRM id the file names more than once, found on upload.",
    )
    failure = models.TextField(blank=True, help_text="Why the whole file could not be read.")
    created_by = models.ForeignKey(
        "tenancy.User", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["tenant", "status", "created_at"]),
            models.Index(fields=["tenant", "kind", "created_at"]),
            # The sweeper's question, over every tenant: which unfinished imports went quiet.
            models.Index(
                fields=["heartbeat_at"],
                condition=models.Q(status__in=["pending", "running"]),
                name="partners_import_alive_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.status})"

    @property
    def progress_percent(self) -> int:
        return int(100 * self.processed_rows / self.total_rows) if self.total_rows else 0
