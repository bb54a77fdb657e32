"""Partner imports from a CRM export, upserted on the CRM id (`external_id`) by a worker. The
file format, and exports in the same columns, are `partners.csv_format`.

An empty optional cell leaves the value unchanged on update and takes the default on create, so
an export re-imports as a no-op and a CRM export with fewer columns touches only those it has.
Export prefixes a cell that a spreadsheet would run as a formula with an apostrophe (OWASP, CSV
injection); import takes exactly that one apostrophe off again, so the round trip is exact.

An import reads its file once a run, chunk by chunk: each chunk commits its partners in its own
short transaction together with the import's counters and the position of the next record, so
the progress page sees it move. A run stops taking chunks after `BULK_TASK_SECONDS` and queues
its continuation on commit, which seeks straight to the committed position; a re-delivered
message is harmless for the same reason: it finds the rows it would redo already counted.

The machinery serves every kind of import (`PartnerImport.kind`): how a kind reads its header
and imports a chunk of rows is an `ImportKind`, this app's own being the partner upsert. A
higher app registers its kind at start-up (`register_import_kind`; incentives imports
enrollments) and starts its imports with `decoded_upload` and `queue_import_run`, so they run
through the same task, chunks, continuation and sweeper without this app importing it.

Each chunk also commits the import's heartbeat. When the worker dies mid-chunk (its transaction
rolls back whole) or the message carrying the run is lost (a Redis restarted empty), the
heartbeat stops; the sweeper (`partners.tasks.partner_imports_sweep_task`) queues the import
again and the run goes on from the last committed chunk: every row is imported exactly once.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from partners.csv_format import (
    CHOICE_COLUMNS,
    FIELD_OF_COLUMN,
    REQUIRED_COLUMNS,
    ImportFileError,
    RecordReader,
    Row,
    read_columns,
    read_records,
    repeated_ids,
    row_values,
)
from partners.models import PARTNERS_KIND, Partner, PartnerImport, Tier
from partners.selectors import forget_filter_values
from partners.services import (
    PARTNER_CHANGED,
    PARTNER_CREATED,
    PARTNER_FIELDS,
    clean_partner_fields,
)
from partners.states import IMPORT_STATES
from tenancy.audit import changes_between, snapshot
from tenancy.errors import ApplicationError
from tenancy.events import publish_many
from tenancy.models import AuditEvent, Membership
from tenancy.permissions import STAFF_ROLES, require
from tenancy.tasking import enqueue_on_commit, heartbeat
from tenancy.transitions import lock

MAX_LENGTHS = {"external_id": 100, "name": 200, "region": 60, "territory": 100}
MAX_FILE_BYTES = 10 * 1024 * 1024
CHUNK_ROWS = settings.PARTNER_IMPORT_CHUNK_ROWS
MAX_STORED_ERRORS = 1000
# The states no action leaves: done and failed.
FINISHED = tuple(s for s in PartnerImport.Status.values if not IMPORT_STATES.actions_from(s))
_PROGRESS_FIELDS = [
    "status",
    "started_at",
    "finished_at",
    "failure",
    "processed_rows",
    "created_count",
    "updated_count",
    "unchanged_count",
    "error_count",
    "errors",
    "next_offset",
    "next_row",
    "repeated_ids",
    "heartbeat_at",
]
# Upload


def partner_import_start(*, actor: Membership, file_name: str, data: bytes) -> PartnerImport:
    """Store an uploaded CSV as a pending import and queue its processing on commit. Raises
    ApplicationError on `file` for a file that is empty, too large, not UTF-8 text or not CSV."""
    require(actor, "partners.import")
    text = decoded_upload(data)
    try:
        header, records = read_records(text)
    except ImportFileError as error:
        raise ApplicationError(str(error), field="file") from None
    try:
        repeated = repeated_ids(records, read_columns(header))
    except ImportFileError:
        repeated = None  # the run fails the file with the header's problems
    with transaction.atomic():
        job = PartnerImport.objects.create(
            file_name=(file_name or "partners.csv")[-255:],
            content=text,
            content_sha256=hashlib.sha256(data).hexdigest(),
            total_rows=len(records),
            repeated_ids=repeated,
            created_by=actor.user,
        )
        queue_import_run(job)
    return job


def decoded_upload(data: bytes) -> str:
    """An uploaded file's text. Raises ApplicationError on `file` for a file that is empty,
    larger than MAX_FILE_BYTES or not UTF-8 text."""
    if not data:
        raise ApplicationError("The file is empty.", field="file")
    if len(data) > MAX_FILE_BYTES:
        raise ApplicationError("The file is larger than 10 MB; split it in parts.", field="file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = ""
    # PostgreSQL text cannot hold NUL, and a NUL is the surest sign of a binary file.
    if not text or "\x00" in text:
        raise ApplicationError("The file is not UTF-8 text; save it as CSV UTF-8.", field="file")
    return text


def queue_import_run(job: PartnerImport) -> None:
    """Queue the import's run (any kind) on commit, on the bulk queue."""
    from partners.tasks import partner_import_run_task

    enqueue_on_commit(partner_import_run_task, tenant_id=job.tenant_id, import_id=job.pk)


# Kinds of import


@dataclass
class ChunkOutcome:
    """What a chunk of rows did, as the import counts it."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    bad_rows: int = 0
    # [{"row": 7, "column": "tier", "message": "..."}, ...]
    errors: list[dict] = field(default_factory=list)


# import_rows(job, rows, columns, repeated ids, unreadable rows) -> ChunkOutcome: check and
# write one chunk, inside the chunk's transaction, in a fixed number of queries.
ImportRows = Callable[
    [PartnerImport, list[Row], list[str], dict[str, int], dict[int, tuple[str, str]]],
    ChunkOutcome,
]


@dataclass(frozen=True)
class ImportKind:
    """How one kind of import reads its header (`read_columns`: the column names, or
    ImportFileError for a header it cannot use), finds the ids its file repeats (`repeated`,
    run once on the whole file) and imports a chunk of rows (`import_rows`)."""

    read_columns: Callable[[list[str] | None], list[str]]
    repeated: Callable[[list[Row], list[str]], dict[str, int]]
    import_rows: ImportRows


IMPORT_KINDS: dict[str, ImportKind] = {}


def register_import_kind(name: str, kind: ImportKind) -> None:
    """Make imports whose `kind` is `name` run as `kind` says (from an `AppConfig.ready()`)."""
    IMPORT_KINDS[name] = kind


def import_kind(job: PartnerImport) -> ImportKind:
    try:
        return IMPORT_KINDS[job.kind]
    except KeyError:
        raise ImportFileError(f"No import of kind {job.kind!r} is known.") from None


# Checking rows


@dataclass(frozen=True)
class _Lookups:
    """What a cell may name, loaded once a chunk: tiers by name, vendor staff by email, choice
    codes by code or label (all lower-cased)."""

    tiers: dict[str, Tier]
    staff: dict[str, Membership]
    choices: dict[str, dict[str, str]]

    @classmethod
    def load(cls) -> _Lookups:
        tiers = {tier.name.lower(): tier for tier in Tier.objects.order_by("rank", "name")}
        # Deactivated staff too: a partner whose manager has left still re-imports unchanged.
        people = Membership.objects.filter(role__in=STAFF_ROLES).select_related("user")
        choices = {
            column: {
                **{label.lower(): code for code, label in kind.choices},
                **{code.lower(): code for code in kind.values},
            }
            for column, kind in CHOICE_COLUMNS.items()
        }
        return cls(tiers, {m.user.email.lower(): m for m in people}, choices)


def _converted(column: str, text: str, lookups: _Lookups) -> object:
    """The model value a cell names, before `clean_partner_fields` checks it."""
    if column == "external_id" and not text:
        raise ApplicationError("Enter the partner's CRM id; rows are matched on it.")
    if column in MAX_LENGTHS and len(text) > MAX_LENGTHS[column]:
        raise ApplicationError(f"Use at most {MAX_LENGTHS[column]} characters.")
    if column in CHOICE_COLUMNS:
        return lookups.choices[column].get(text.lower(), text)
    if column == "tier":
        if text.lower() not in lookups.tiers:
            names = ", ".join(t.name for t in lookups.tiers.values()) or "none yet"
            raise ApplicationError(f"No tier called {text!r}; the tiers are: {names}.")
        return lookups.tiers[text.lower()]
    if column == "channel_manager_email":
        if text.lower() not in lookups.staff:
            raise ApplicationError(f"No vendor staff member has the email {text!r}.")
        return lookups.staff[text.lower()]
    return text


def _row_fields(
    values: dict[str, str], lookups: _Lookups
) -> tuple[dict[str, object], list[tuple[str, str]]]:
    """A row's partner fields, checked by the same rules as every other partner write, and its
    problems as (column, reason) pairs. An empty optional cell contributes nothing."""
    fields: dict[str, object] = {}
    problems: list[tuple[str, str]] = []
    for column, text in values.items():
        if not text and column not in REQUIRED_COLUMNS:
            continue
        try:
            value = _converted(column, text, lookups)
            fields.update(clean_partner_fields({FIELD_OF_COLUMN[column]: value}))
        except ApplicationError as error:
            problems.append((column, error.message))
    return fields, problems


@dataclass
class _Chunk:
    """What one chunk of rows does: partners to create and to update, and rows refused."""

    creates: list[tuple[int, Partner]] = field(default_factory=list)
    updates: list[tuple[int, Partner, dict]] = field(default_factory=list)
    unchanged: int = 0
    bad_rows: int = 0
    errors: list[dict] = field(default_factory=list)

    def refuse(self, number: int, problems: list[tuple[str, str]]) -> None:
        self.bad_rows += 1
        self.errors += [{"row": number, "column": c, "message": m} for c, m in problems]

    def upsert(self, number: int, fields: dict[str, object], partner: Partner | None) -> None:
        if partner is None:
            self.creates.append((number, Partner(**fields)))
            return
        before = snapshot(partner, PARTNER_FIELDS)
        for name, value in fields.items():
            setattr(partner, name, value)
        diff = changes_between(before, snapshot(partner, PARTNER_FIELDS))
        if diff:
            self.updates.append((number, partner, diff))
        else:
            self.unchanged += 1


def _plan(
    rows: list[Row],
    columns: list[str],
    repeated: dict[str, int],
    unreadable: dict[int, tuple[str, str]],
) -> _Chunk:
    """Check every row of a chunk and sort the good ones into creates, updates and unchanged,
    against the partners its CRM ids name (one query, rows locked against concurrent edits).
    A row in `unreadable` (the reader's problems by row number) is refused with its reason."""
    lookups = _Lookups.load()
    values = [(number, cells, row_values(columns, cells)) for number, cells in rows]
    ids = {v["external_id"] for _, _, v in values} - {""}
    existing = {
        p.external_id: p
        for p in Partner.objects.select_for_update(of=("self",))
        .select_related("tier", "channel_manager")
        .filter(external_id__in=ids)
        .order_by("pk")  # one lock order for every import, so two of them cannot deadlock
    }
    chunk = _Chunk()
    for number, cells, row in values:
        if number in unreadable:
            chunk.refuse(number, [unreadable[number]])
            continue
        fields, problems = _row_fields(row, lookups)
        if "".join(cells[len(columns) :]).strip():
            problems.append(("", f"The row has {len(cells)} cells; the header {len(columns)}."))
        first = repeated.get(row["external_id"], number)
        if row["external_id"] and first < number:
            reason = f"{row['external_id']!r} appears again at row {number}; first at row {first}."
            problems.append(("external_id", reason))
        if problems:
            chunk.refuse(number, problems)
        else:
            chunk.upsert(number, fields, existing.get(row["external_id"]))
    return chunk


# Writing a chunk


def _write(job: PartnerImport, chunk: _Chunk) -> None:
    """Create and update the chunk's partners in bulk, with one history row and one event
    (`partner.created` / `partner.changed`) each."""
    Partner.objects.bulk_create([partner for _, partner in chunk.creates])
    if chunk.updates:
        now = timezone.now()
        changed = sorted({name for _, _, diff in chunk.updates for name in diff})
        for _, partner, _ in chunk.updates:
            partner.updated_at = now  # bulk_update skips auto_now
        Partner.objects.bulk_update([p for _, p, _ in chunk.updates], [*changed, "updated_at"])
    history = [(number, p, "imported_created", None) for number, p in chunk.creates]
    history += [(number, p, "imported_updated", diff) for number, p, diff in chunk.updates]
    AuditEvent.objects.bulk_create([_event(job, *entry) for entry in history])
    created = [partner for _, partner in chunk.creates]
    publish_many(
        PARTNER_CREATED, aggregates=created, payloads=[{"import_id": job.pk}] * len(created)
    )
    publish_many(
        PARTNER_CHANGED,
        aggregates=[partner for _, partner, _ in chunk.updates],
        payloads=[{"fields": sorted(diff), "import_id": job.pk} for _, _, diff in chunk.updates],
    )
    if chunk.creates or chunk.updates:
        forget_filter_values()


def _event(
    job: PartnerImport, number: int, partner: Partner, action: str, diff: dict | None
) -> AuditEvent:
    """A history row; a new partner (`diff` None) lists every field it was created with."""
    changes = diff if diff is not None else changes_between({}, snapshot(partner, PARTNER_FIELDS))
    return AuditEvent(
        entity=Partner._meta.label_lower,
        entity_id=partner.pk,
        action=action,
        actor_id=job.created_by_id,
        changes=changes,
        note=f"CSV import #{job.pk}, row {number}",
    )


def _import_partner_rows(
    job: PartnerImport,
    rows: list[Row],
    columns: list[str],
    repeated: dict[str, int],
    unreadable: dict[int, tuple[str, str]],
) -> ChunkOutcome:
    """The partner import's chunk: check the rows, then create and update their partners."""
    chunk = _plan(rows, columns, repeated, unreadable)
    _write(job, chunk)
    return ChunkOutcome(
        created=len(chunk.creates),
        updated=len(chunk.updates),
        unchanged=chunk.unchanged,
        bad_rows=chunk.bad_rows,
        errors=chunk.errors,
    )


register_import_kind(
    PARTNERS_KIND,
    ImportKind(read_columns=read_columns, repeated=repeated_ids, import_rows=_import_partner_rows),
)


def _count(job: PartnerImport, outcome: ChunkOutcome, rows: int) -> None:
    job.processed_rows += rows
    job.created_count += outcome.created
    job.updated_count += outcome.updated
    job.unchanged_count += outcome.unchanged
    job.error_count += outcome.bad_rows
    room = max(MAX_STORED_ERRORS - len(job.errors), 0)
    job.errors = [*job.errors, *outcome.errors[:room]]


# Running


def partner_import_run(*, import_id: int, seconds: float = 0) -> PartnerImport | None:
    """Import an import's rows chunk by chunk, reading its file once, each chunk in its own
    transaction; after `seconds` (at least one chunk) queue the continuation on commit, or
    finish the import. Safe to run again: a finished import is left alone, and every chunk
    starts at the committed `next_offset`, read under the row lock that also serialises
    concurrent deliveries (one that finds another ahead of it seeks there). Its status moves
    follow `IMPORT_STATES`."""
    deadline = time.monotonic() + seconds
    reader: _Reader | None = None
    while True:
        with transaction.atomic():
            job = _locked(import_id, with_content=reader is None)
            if job is None or job.status in FINISHED:
                return job
            if IMPORT_STATES.allows("start", job.status):
                job.status = IMPORT_STATES.target("start", job.status)
                job.started_at = timezone.now()
            IMPORT_STATES.check("run_chunk", job.status)
            try:
                reader = reader or _Reader.of(job)
                more = _run_next_chunk(job, reader)
            except ImportFileError as error:
                job.status, job.failure = IMPORT_STATES.target("fail", job.status), str(error)
                job.finished_at, more = timezone.now(), False
            if more and time.monotonic() >= deadline:
                queue_import_run(job)
                more = False
            heartbeat(job)
            job.save(update_fields=_PROGRESS_FIELDS)  # not `content`: megabytes rewritten
        if not more:
            return job


def _locked(import_id: int, *, with_content: bool) -> PartnerImport | None:
    if with_content:
        return lock(PartnerImport, pk=import_id)
    # The file is read once a run; later chunks lock the row (as `lock` does) without it.
    jobs = PartnerImport.objects.select_for_update(no_key=True).defer("content")
    return jobs.filter(pk=import_id).first()


@dataclass
class _Reader:
    """An import's file, open at the record where the import goes on."""

    records: RecordReader
    columns: list[str]
    repeated: dict[str, int]
    kind: ImportKind

    @classmethod
    def of(cls, job: PartnerImport) -> _Reader:
        kind = import_kind(job)
        records = RecordReader(job.content, offset=job.next_offset, row=job.next_row)
        columns = kind.read_columns(records.header)
        if job.repeated_ids is None:
            # An import stored before positions were kept: find its place the long way, once.
            everything = RecordReader(job.content)
            job.repeated_ids = kind.repeated(everything.read(), columns)
            records = RecordReader(job.content)
            records.read(job.processed_rows)
        return cls(records, columns, job.repeated_ids, kind)

    def read(self, job: PartnerImport) -> list[Row]:
        if job.next_offset and self.records.offset != job.next_offset:
            self.records.seek(job.next_offset, row=job.next_row)  # another delivery went on
        return self.records.read(CHUNK_ROWS)


def _run_next_chunk(job: PartnerImport, reader: _Reader) -> bool:
    """Import the next chunk of rows; True while rows remain, else the import is finished."""
    rows = reader.read(job)
    if rows:
        outcome = reader.kind.import_rows(
            job, rows, reader.columns, reader.repeated, reader.records.problems
        )
        _count(job, outcome, len(rows))
        job.next_offset, job.next_row = reader.records.offset, reader.records.row
    if rows and job.processed_rows < job.total_rows:
        return True
    _finish(job)
    return False


def _finish(job: PartnerImport) -> None:
    job.status, job.finished_at = IMPORT_STATES.target("finish", job.status), timezone.now()
