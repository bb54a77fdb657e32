"""The per-program figures rows (`ProgramFigures`) that lists of programs read.

Kept fresh by domain events: a service that changes what a program's figures count (an
enrollment entering or leaving `enrolled`, the eligibility, the required partners) publishes
`program.changed` or `program.enrollments_changed` in its transaction, and partner changes
arrive as `partner.created` / `partner.changed`. The subscriber `incentives.program_figures`
(`incentives.subscribers`) takes a batch of them at a time and recomputes the programs they
concern in one set-based pass (`program_figures_refresh`); partner changes concern every
program (any one may count the partner as eligible), so one batch of them is one pass over all
the tenant's programs, however many partners changed.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.utils import timezone

from incentives.models import Program, ProgramFigures
from incentives.selectors import program_figures
from tenancy.context import current_tenant_id
from tenancy.events import publish

# Programs a statement: `program_figures` counts each distinct eligibility rule in a FILTER
# clause, and a few hundred clauses still make one cheap scan.
CHUNK = 250
FIELDS = ["eligible", "enrolled", "required", "required_enrolled", "computed_at"]


def program_figures_changed(program: Program, *, enrollments: bool = False) -> None:
    """Report, in the current transaction, a change to what the program's figures count."""
    kind = "program.enrollments_changed" if enrollments else "program.changed"
    publish(kind, aggregate=program)


def program_figures_refresh(*, program_ids: Iterable[int] | None = None) -> int:
    """Recompute and store the figures of these programs (all of the bound tenant's when
    None); returns how many rows were written. Idempotent: a repeat writes the same values."""
    programs = Program.objects.order_by("pk").only("pk", "eligibility")
    if program_ids is not None:
        programs = programs.filter(pk__in=sorted(set(program_ids)))
    tenant_id, now, written = current_tenant_id(), timezone.now(), 0
    programs = list(programs)
    for start in range(0, len(programs), CHUNK):
        live = program_figures(programs[start : start + CHUNK])
        rows = [
            ProgramFigures(
                tenant_id=tenant_id,
                program_id=program_id,
                eligible=figures.eligible,
                enrolled=figures.enrolled,
                required=figures.required,
                required_enrolled=figures.required_enrolled,
                computed_at=now,
            )
            for program_id, figures in live.items()
        ]
        ProgramFigures.objects.bulk_create(
            rows, update_conflicts=True, unique_fields=["tenant", "program"], update_fields=FIELDS
        )
        written += len(rows)
    return written
