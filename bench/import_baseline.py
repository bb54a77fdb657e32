"""The partner import as it ran before it read its file once a run, kept as the baseline of
`bench.partner_import`: every chunk of 500 rows is one task that locks the import with its whole
file, parses the file from row 1 up to the end of the chunk, maps every CRM id to its first row,
then plans and writes the chunk with the application's own `_plan`, `_write` and `_count`.

Not used by the application.
"""

from __future__ import annotations

import csv
import io

from django.db import transaction
from django.utils import timezone

from partners import csv_io
from partners.csv_format import ImportFileError, Row, _unneutralised, read_columns
from partners.models import PartnerImport


def read_records(text: str, *, stop: int | None = None) -> tuple[list[str] | None, list[Row]]:
    """The header and up to `stop` non-blank records, parsed from the top of the file."""
    first_line = io.StringIO(text).readline()
    delimiter = max((",", ";", "\t"), key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    records: list[Row] = []
    try:
        header = next(reader, None)
        for number, cells in enumerate(reader, start=2):
            if stop is not None and len(records) >= stop:
                break
            if "".join(cells).strip():
                records.append((number, cells))
    except csv.Error as error:
        message = f"The file is not valid CSV near line {reader.line_num}: {error}."
        raise ImportFileError(message) from None
    return header, records


def first_rows(records: list[Row], columns: list[str]) -> dict[str, int]:
    """The row where each CRM id first appears."""
    index = columns.index("external_id")
    first: dict[str, int] = {}
    for number, cells in records:
        if index < len(cells):
            first.setdefault(_unneutralised(cells[index].strip()), number)
    return first


def partner_import_run(*, import_id: int) -> PartnerImport | None:
    """One task of the old chain: the next chunk, in one transaction with the import's row lock."""
    with transaction.atomic():
        job = PartnerImport.objects.select_for_update().filter(pk=import_id).first()
        if job is None or job.status in csv_io.FINISHED:
            return job
        if job.status == PartnerImport.Status.PENDING:
            job.status, job.started_at = PartnerImport.Status.RUNNING, timezone.now()
        try:
            _run_next_chunk(job)
        except ImportFileError as error:
            job.status, job.failure = PartnerImport.Status.FAILED, str(error)
            job.finished_at = timezone.now()
        job.save(update_fields=csv_io._PROGRESS_FIELDS)
    return job


def _run_next_chunk(job: PartnerImport) -> None:
    header, records = read_records(job.content, stop=job.processed_rows + csv_io.CHUNK_ROWS)
    columns = read_columns(header)
    rows = records[job.processed_rows :]
    if rows:
        # Every CRM id mapped to its first row: the same answers as the stored repeated ids.
        # The file is well formed (no row the reader could not read).
        repeated = first_rows(records, columns)
        outcome = csv_io._import_partner_rows(job, rows, columns, repeated, {})
        csv_io._count(job, outcome, len(rows))
    if not rows or job.processed_rows >= job.total_rows:
        job.status, job.finished_at = PartnerImport.Status.DONE, timezone.now()
