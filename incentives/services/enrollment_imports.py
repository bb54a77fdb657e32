"""Enrollment import by CSV: vendor staff enroll many partners of one program on their behalf,
a row a partner with its reason (a program run on paper).

The file runs through the partner import's machinery as an import of kind "enrollments"
(`partners.csv_io.ImportKind`, registered when this module is imported at start-up): the same
task on the bulk queue, chunks of rows each committed with the progress, the continuation, the
sweeper of lost work, and the same row errors that keep every good row. A chunk locks the
program (after the import row the run loop holds; nothing locks them the other way round),
then the enrollments of its partners, and checks every row as the single enrollment on behalf
does (`incentives.actions.check_enrollment_on_behalf`), set-based: a fixed number of queries
whatever the size of the chunk.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass

from django.db import transaction
from django.db.models import BooleanField, ExpressionWrapper, Q
from django.utils import timezone

from incentives import actions
from incentives.eligibility import describe_eligibility, eligibility_q
from incentives.models import (
    ENROLLMENTS_IMPORT_KIND,
    Enrollment,
    EnrollmentImport,
    EnrollmentStatus,
    Program,
)
from incentives.services.enrollments import (
    clean_on_behalf_reason,
    lock_program_for_enrollment,
)
from incentives.services.programs import current_terms
from partners.csv_format import (
    ImportFileError,
    RecordReader,
    Row,
    column_name,
    export_line,
    read_records,
    row_values,
)
from partners.csv_io import (
    FINISHED,
    ChunkOutcome,
    ImportKind,
    decoded_upload,
    queue_import_run,
    register_import_kind,
)
from partners.models import Partner, PartnerImport
from tenancy.errors import ApplicationError
from tenancy.models import AuditEvent, Membership
from tenancy.permissions import require

ENROLLMENTS_KIND = ENROLLMENTS_IMPORT_KIND
COLUMNS = ("crm_id", "partner_id", "reason")


def read_enrollment_columns(header: list[str] | None) -> list[str]:
    """The columns of an enrollment file: `reason`, and `crm_id` or `partner_id` (both may be
    given: a row uses the id when it has one). Other columns are ignored (''), so a file may
    carry the partners' names for the people who read it."""
    if not header:
        raise ImportFileError("The file has no header row.")
    names = [name if name in COLUMNS else "" for name in map(column_name, header)]
    problems = []
    if "reason" not in names:
        problems.append("Missing required columns: reason.")
    if "crm_id" not in names and "partner_id" not in names:
        problems.append("Name the partners in a column crm_id or partner_id.")
    repeated = sorted({n for n in names if n and names.count(n) > 1})
    if repeated:
        problems.append(f"Columns named twice: {', '.join(repeated)}.")
    if problems:
        columns = "The columns are crm_id (or partner_id) and reason."
        raise ImportFileError(" ".join([*problems, columns]))
    return names


# Upload


def enrollment_import_start(
    *, actor: Membership, program: Program, file_name: str, data: bytes
) -> PartnerImport:
    """Store an uploaded CSV of partners to enroll in `program` on their behalf and queue its
    run on commit. Raises ApplicationError on `file` for a file that cannot be read or lacks
    the columns, and the refusals of the program action `enroll_on_behalf` (permission, a
    program not taking enrollments: 409, no terms)."""
    require(actor, "enrollments.enroll_on_behalf")
    text = decoded_upload(data)
    try:
        header, records = read_records(text)
        read_enrollment_columns(header)
    except ImportFileError as error:
        raise ApplicationError(str(error), field="file") from None
    with transaction.atomic():
        program = lock_program_for_enrollment(program.pk, seen=program.status)
        terms = current_terms(program)
        actions.check_program_action(
            actor=actor, program=program, action="enroll_on_behalf", has_terms=terms is not None
        )
        job = PartnerImport.objects.create(
            kind=ENROLLMENTS_KIND,
            file_name=(file_name or "enrollments.csv")[-255:],
            content=text,
            content_sha256=hashlib.sha256(data).hexdigest(),
            total_rows=len(records),
            repeated_ids={},  # a partner named twice is "already enrolled" on its second row
            created_by=actor.user,
        )
        EnrollmentImport.objects.create(job=job, program=program, terms=terms, requested_by=actor)
        queue_import_run(job)
    return job


# A chunk


@dataclass
class _Good:
    number: int
    partner: Partner
    enrollment: Enrollment | None
    reason: str


def _chunk_refusal(link: EnrollmentImport) -> tuple[Program | None, str]:
    """Lock the program and check, for the whole chunk, what every row needs: the program
    takes enrollments, the uploader may still enroll on behalf, and the terms are still the
    ones current at the upload. Returns the locked program, or the reason every row is
    refused."""
    try:
        program = lock_program_for_enrollment(link.program_id)
        if link.requested_by is None:
            raise ApplicationError("The person who uploaded the file is no longer a member.")
        terms = current_terms(program)
        actions.check_program_action(
            actor=link.requested_by,
            program=program,
            action="enroll_on_behalf",
            has_terms=terms is not None,
        )
        if terms is not None and terms.pk != link.terms_id:
            raise ApplicationError(
                f"Terms version {terms.version} was published after the upload; upload the "
                "file again to enroll the partners on it."
            )
    except ApplicationError as error:
        return None, error.message
    return program, ""


def _partners_named(program: Program, values: list[tuple[int, dict[str, str]]]):
    """The partners the rows name, by CRM id and by id, each marked eligible or not: one
    query."""
    crm_ids = {v.get("crm_id", "") for _, v in values} - {""}
    ids = {int(v["partner_id"]) for _, v in values if _is_id(v.get("partner_id", ""))}
    eligible = ExpressionWrapper(eligibility_q(program.eligibility), BooleanField())
    found = list(
        Partner.objects.filter(Q(external_id__in=crm_ids) | Q(pk__in=ids)).annotate(
            is_eligible=eligible
        )
    )
    return {p.external_id: p for p in found if p.external_id}, {p.pk: p for p in found}


def _is_id(text: str) -> bool:
    return text.isascii() and text.isdigit() and len(text) < 19


def _named_partner(values: dict[str, str], columns: list[str], by_crm: dict, by_id: dict):
    """(column, partner or None, problem) for the partner a row names."""
    if values.get("partner_id"):
        text = values["partner_id"]
        if not _is_id(text):
            return "partner_id", None, f"“{text[:40]}” is not a whole number."
        partner = by_id.get(int(text))
        return "partner_id", partner, "" if partner else f"No partner has the id {text}."
    if values.get("crm_id"):
        partner = by_crm.get(values["crm_id"])
        problem = "" if partner else f"No partner has the CRM id {values['crm_id']!r}."
        return "crm_id", partner, problem
    column = "crm_id" if "crm_id" in columns else "partner_id"
    return column, None, "Name the partner: its CRM id or its id."


def _import_enrollment_rows(
    job: PartnerImport,
    rows: list[Row],
    columns: list[str],
    repeated: dict[str, int],
    unreadable: dict[int, tuple[str, str]],
) -> ChunkOutcome:
    link = EnrollmentImport.objects.select_related("requested_by", "terms").get(job=job)
    outcome = ChunkOutcome()

    def refuse(number: int, problems: list[tuple[str, str]]) -> None:
        outcome.bad_rows += 1
        outcome.errors += [{"row": n, "column": c, "message": m} for n, c, m in problems]

    program, refusal = _chunk_refusal(link)
    if program is None:
        for number, _ in rows:
            refuse(number, [(number, "", refusal)])
        return outcome
    values = [(number, row_values(columns, cells)) for number, cells in rows]
    by_crm, by_id = _partners_named(program, values)
    existing = {
        e.partner_id: e
        for e in Enrollment.objects.select_for_update(no_key=True)
        .filter(program=program, partner_id__in=list(by_id))
        .order_by("partner_id")
    }
    rule = "; ".join(describe_eligibility(program.eligibility))
    taken: set[int] = set()
    good: list[_Good] = []
    for number, row in values:
        if number in unreadable:
            refuse(number, [(number, *unreadable[number])])
            continue
        problems = []
        column, partner, problem = _named_partner(row, columns, by_crm, by_id)
        if problem:
            problems.append((number, column, problem))
        elif not partner.is_eligible:
            message = f"{partner.name} is not eligible for this program (open to: {rule})."
            problems.append((number, column, message))
        elif partner.pk in taken or getattr(existing.get(partner.pk), "status", None) == (
            EnrollmentStatus.ENROLLED
        ):
            message = f"{partner.name} is already enrolled in this program."
            problems.append((number, column, message))
        try:
            reason = clean_on_behalf_reason(row.get("reason", ""))
        except ApplicationError as error:
            problems.append((number, "reason", error.message))
        if problems:
            refuse(number, problems)
            continue
        taken.add(partner.pk)
        good.append(_Good(number, partner, existing.get(partner.pk), reason))
    created, updated = _write(job, link, program, good)
    outcome.created, outcome.updated = created, updated
    return outcome


def _write(
    job: PartnerImport, link: EnrollmentImport, program: Program, good: list[_Good]
) -> tuple[int, int]:
    """Enroll the good rows' partners in bulk, each with a history row naming the import's row:
    the same record as `enrollment_enroll_on_behalf` leaves."""
    now = timezone.now()
    user_id = link.requested_by.user_id
    fields = {
        "status": EnrollmentStatus.ENROLLED,
        "terms_id": link.terms_id,
        "accepted_by_id": user_id,
        "accepted_at": now,
        "accepted_from": None,
        "automatic": False,
        "on_behalf": True,
    }
    before = {g.number: g.enrollment.status if g.enrollment else None for g in good}
    fresh = [
        Enrollment(program=program, partner=g.partner, on_behalf_reason=g.reason, **fields)
        for g in good
        if g.enrollment is None
    ]
    Enrollment.objects.bulk_create(fresh)
    again = [g for g in good if g.enrollment is not None]
    for g in again:
        for name, value in fields.items():
            setattr(g.enrollment, name, value)
        g.enrollment.on_behalf_reason, g.enrollment.updated_at = g.reason, now
    if again:
        Enrollment.objects.bulk_update(
            [g.enrollment for g in again], [*fields, "on_behalf_reason", "updated_at"]
        )
    made = iter(fresh)
    AuditEvent.objects.bulk_create(
        [
            AuditEvent(
                entity=Enrollment._meta.label_lower,
                entity_id=(g.enrollment or next(made)).pk,
                action="enrolled_on_behalf",
                actor_id=user_id,
                changes={
                    "status": [before[g.number], "enrolled"],
                    "terms_version": [None, link.terms.version],
                },
                note=f"on behalf: {g.reason} (CSV import #{job.pk}, row {g.number})",
            )
            for g in good
        ]
    )
    return len(fresh), len(again)


register_import_kind(
    ENROLLMENTS_KIND,
    ImportKind(
        read_columns=read_enrollment_columns,
        repeated=lambda records, columns: {},
        import_rows=_import_enrollment_rows,
    ),
)


# The result


RESULT_COLUMNS = ("row", "crm_id", "partner_id", "outcome", "column", "message")
_IMPORTED_ROW = re.compile(r"\(CSV import #\d+, row (\d+)\)$")


def enrollment_import_result_lines(job: PartnerImport) -> Iterator[str]:
    """The import's result as CSV lines: every row of the file with its outcome (enrolled,
    not enrolled with each reason, or pending while the import runs). Two queries: the
    rows enrolled (read back from their history) and nothing else; the file is the job's."""
    marker = f"(CSV import #{job.pk}, row "
    notes = AuditEvent.objects.filter(
        entity=Enrollment._meta.label_lower,
        action="enrolled_on_behalf",
        at__gte=job.created_at,
        note__contains=marker,
    ).values_list("note", flat=True)
    imported = {int(m.group(1)) for note in notes if (m := _IMPORTED_ROW.search(note))}
    errors: dict[int, list[dict]] = {}
    for error in job.errors:
        errors.setdefault(error["row"], []).append(error)
    finished = job.status in FINISHED
    yield "\ufeff" + export_line(RESULT_COLUMNS)
    reader = RecordReader(job.content)
    try:
        columns = read_enrollment_columns(reader.header)
    except ImportFileError:
        return
    for number, cells in reader.read():
        row = row_values(columns, cells)
        ids = [str(number), row.get("crm_id", ""), row.get("partner_id", "")]
        if number in imported:
            yield export_line([*ids, "enrolled", "", ""])
        elif number in errors:
            for error in errors[number]:
                yield export_line([*ids, "not enrolled", error["column"], error["message"]])
        elif finished or number < job.next_row:
            reason = "Not enrolled; its reason is past the problems the import keeps."
            yield export_line([*ids, "not enrolled", "", reason])
        else:
            yield export_line([*ids, "pending", "", ""])
