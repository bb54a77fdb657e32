"""The partner CSV format, shared by imports and exports: the columns, reading a file into rows,
and writing partners out in the same columns.

Export prefixes a cell that a spreadsheet would run as a formula with an apostrophe (OWASP, CSV
injection); import takes exactly that one apostrophe off again, so the round trip is exact.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterator

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from partners.models import Partner, PartnerStatus, PartnerType, Segment, Stage
from tenancy.context import tenant_scope

COLUMNS = (
    "external_id",
    "name",
    "type",
    "tier",
    "region",
    "territory",
    "country",
    "stage",
    "segment",
    "status",
    "channel_manager_email",
)
REQUIRED_COLUMNS = ("external_id", "name")
FIELD_OF_COLUMN = {**{c: c for c in COLUMNS}, "channel_manager_email": "channel_manager"}
CHOICE_COLUMNS = {"type": PartnerType, "stage": Stage, "segment": Segment, "status": PartnerStatus}
# A leading =, +, -, @, tab or carriage return makes a spreadsheet evaluate the cell; leading
# apostrophes are included so that un-neutralising on import inverts exactly what export did.
_FORMULA = re.compile(r"^'*[=+\-@\t\r]")

Row = tuple[int, list[str]]


class ImportFileError(Exception):
    """The file cannot be read as a partner CSV at all."""


# Reading


class RecordReader:
    """Reads a partner CSV record by record from any position of its text, knowing where each
    record ends: an import reads a file once, stops after a chunk, and a later run seeks straight
    to `offset` (a position in the text) instead of parsing from the top again. Row numbers are
    as a spreadsheet shows them: the header is row 1, blank and multi-line records count one.

    A quote that is never closed would make its cell run to the end of the file: that record
    reads instead as one row per line, each with no cells and its reason in `problems`."""

    def __init__(self, text: str, *, offset: int = 0, row: int = 2) -> None:
        first_line = text[: text.find("\n") + 1] if "\n" in text else text
        self._delimiter = max((",", ";", "\t"), key=first_line.count)  # or ; or tab
        self._text = text
        self._stream = io.StringIO(text, newline="")
        self._reader = csv.reader(self._stream, delimiter=self._delimiter)
        self.problems: dict[int, tuple[str, str]] = {}
        self.header = self._next()
        self.offset, self.row = self._stream.tell(), 2
        if offset:
            self.seek(offset, row=row)

    def seek(self, offset: int, *, row: int) -> None:
        """Continue from `offset`, where the record numbered `row` starts."""
        self._stream.seek(offset)
        self.offset, self.row = offset, row

    def _next(self) -> list[str] | None:
        try:
            return next(self._reader, None)
        except csv.Error as error:
            message = f"The file is not valid CSV near row {self.row}: {error}."
            raise ImportFileError(message) from None

    def read(self, count: int | None = None) -> list[Row]:
        """Up to `count` (all when None) non-blank records from `offset`, each with its row
        number; `offset` and `row` move past them."""
        records: list[Row] = []
        while count is None or len(records) < count:
            cells = self._next()
            if cells is None:
                break
            if self._unclosed(cells):
                records += self._unclosed_lines(cells)
                break
            number, self.row, self.offset = self.row, self.row + 1, self._stream.tell()
            if "".join(cells).strip():
                records.append((number, cells))
        return records

    def _unclosed(self, cells: list[str]) -> bool:
        """Whether the record just read ends inside a quoted cell. The csv module closes such a
        cell silently at the end of the file; read again with one more line end, the cell takes
        that line end in, where a closed record stays as it was."""
        end = self._stream.tell()
        if end < len(self._text):
            return False
        again = io.StringIO(self._text[self.offset : end] + "\n", newline="")
        return next(csv.reader(again, delimiter=self._delimiter)) != cells

    def _unclosed_lines(self, cells: list[str]) -> list[Row]:
        """The lines of a record whose last cell opens a quote that is never closed, as rows of
        their own with no cells, each with its reason in `problems`."""
        lines = re.split(r"\r\n|\r|\n", self._text[self.offset :])
        numbers = [self.row + i for i, line in enumerate(lines) if line.strip()]
        index = len(cells) - 1
        header = self.header or []
        column = column_name(header[index]) if index < len(header) else ""
        first, rest = numbers[0], numbers[1:]
        reason = "The quote that opens this cell is never closed"
        if rest:
            after = f"rows {rest[0]} to {rest[-1]}" if len(rest) > 1 else f"row {rest[0]}"
            reason += f", so {after} after it could not be read"
        self.problems[first] = (column, f"{reason}; close the quote or remove it.")
        for number in rest:
            self.problems[number] = (
                "",
                f"Not read: the quote opened in row {first} ({column}) is never closed.",
            )
        self.offset, self.row = len(self._text), self.row + len(lines)
        return [(number, []) for number in numbers]


def read_records(text: str, *, stop: int | None = None) -> tuple[list[str] | None, list[Row]]:
    """The header cells and up to `stop` non-blank records, each with its row number as a
    spreadsheet shows it (the header is row 1)."""
    reader = RecordReader(text)
    return reader.header, reader.read(stop)


def column_name(cell: str) -> str:
    """The column a header cell names, as errors name it."""
    return re.sub(r"[\s-]+", "_", cell.strip().lower())


def read_columns(header: list[str] | None) -> list[str]:
    """Column names of the header row; '' for an unnamed column, whose cells are ignored."""
    if not header:
        raise ImportFileError("The file has no header row.")
    names = [column_name(cell) for cell in header]
    problems = []
    unknown = [
        cell.strip()
        for cell, name in zip(header, names, strict=True)
        if name and name not in COLUMNS
    ]
    if unknown:
        problems.append(f"Unknown columns: {', '.join(unknown)}.")
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    if missing:
        problems.append(f"Missing required columns: {', '.join(missing)}.")
    repeated = sorted({n for n in names if n and names.count(n) > 1})
    if repeated:
        problems.append(f"Columns named twice: {', '.join(repeated)}.")
    if problems:
        raise ImportFileError(" ".join([*problems, f"The columns are {', '.join(COLUMNS)}."]))
    return names


def _unneutralised(text: str) -> str:
    return text[1:] if text.startswith("'") and _FORMULA.match(text) else text


def _nfc(cell: str) -> str:
    """A cell in NFC, as `tenancy.text.clean_text` stores it, so that a CRM id matches the
    partner it names however the file composed its accents."""
    return unicodedata.normalize("NFC", cell)


def row_values(columns: list[str], cells: list[str]) -> dict[str, str]:
    """The row's cells by column name; a short row's missing cells are empty."""
    padded = cells + [""] * (len(columns) - len(cells))
    return {
        name: _unneutralised(_nfc(cell).strip())
        for name, cell in zip(columns, padded, strict=False)
        if name
    }


def repeated_ids(records: list[Row], columns: list[str]) -> dict[str, int]:
    """The row where each CRM id that appears more than once first appears."""
    index = columns.index("external_id")
    first: dict[str, int] = {}
    repeated: dict[str, int] = {}
    for number, cells in records:
        if index < len(cells):
            crm_id = _unneutralised(_nfc(cells[index]).strip())
            if crm_id in first:
                repeated.setdefault(crm_id, first[crm_id])
            else:
                first[crm_id] = number
    return repeated


# Writing


def _line(cells: list[str] | tuple[str, ...]) -> str:
    out = io.StringIO()
    csv.writer(out).writerow(cells)
    return out.getvalue()


def _neutralised(value: str) -> str:
    return f"'{value}" if _FORMULA.match(value) else value


def _export_cells(partner: Partner) -> list[str]:
    manager = partner.channel_manager
    return [
        partner.external_id,
        partner.name,
        partner.type,
        partner.tier.name if partner.tier else "",
        partner.region,
        partner.territory,
        partner.country,
        partner.stage,
        partner.segment,
        partner.status,
        manager.user.email if manager else "",
    ]


def partner_export_rows(partners: QuerySet[Partner]) -> Iterator[str]:
    """CSV lines, header first, of `partners` in the import's columns; read in batches from a
    server-side cursor so that a large list never sits in memory."""
    yield _line(COLUMNS)
    rows = partners.select_related("tier", "channel_manager__user").iterator(chunk_size=2000)
    for partner in rows:
        yield _line([_neutralised(cell) for cell in _export_cells(partner)])


def export_line(cells: list[str] | tuple[str, ...]) -> str:
    """One CSV line of a file offered for download, formula-looking cells neutralised."""
    return _line([_neutralised(cell) for cell in cells])


def partner_export_stream(tenant_id: int, partners: QuerySet[Partner]) -> Iterator[str]:
    """The export file of the dashboard and the API: a byte order mark (spreadsheet programs
    then read it as UTF-8) and `partner_export_rows`. It is read after the view has returned,
    outside the view's tenant scope, so the stream binds the same, already checked tenant again
    for its own reads."""
    yield "\ufeff"
    with tenant_scope(tenant_id), transaction.atomic():
        yield from partner_export_rows(partners)


def export_file_name(tenant_slug: str) -> str:
    return f"partners-{tenant_slug}-{timezone.localdate().isoformat()}.csv"


def template_csv(*, tier: str = "", channel_manager_email: str = "") -> str:
    """The header and one example row; the example names the given tier and staff email."""
    example = ["CRM-0001", "Example Networks Ltd", "VAR", tier, "EMEA", "DACH", "DE", "new"]
    example += ["unassessed", "active", channel_manager_email]
    return _line(COLUMNS) + _line(example)
