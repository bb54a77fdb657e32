"""The per-program figures rows (`ProgramFigures`) that lists of programs read.

Kept fresh by domain events: a service that changes what a program's figures count (an
enrollment entering or leaving `enrolled`, the eligibility, the required partners) publishes
`program.changed` or `program.enrollments_changed` in its transaction, and partner changes
arrive as `partner.created` / `partner.changed`. The subscriber `incentives.program_figures`
(`incentives.subscribers`) takes a batch of them at a time and recomputes the programs they
concern in one set-based pass (`program_figures_refresh`). Partner changes concern every
program (any one may count the partner as eligible): they ask for one pass over all the
tenant's programs (`figures_refresh_request`), coalesced per tenant as automatic-enrollment
re-syncs are per program (`incentives.services.resyncs`): the request is a row, unique per
tenant, only the request that inserts it queues the task, and the task starts
`FIGURES_COALESCE_SECONDS` later, so an import's thousands of partner events, delivered in
batches, come to one pass rather than one a batch.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from incentives.models import FiguresRequest, Program, ProgramFigures
from incentives.selectors import program_figures
from tenancy.context import current_tenant_id
from tenancy.events import publish

# Programs a statement: `program_figures` counts each distinct eligibility rule in a FILTER
# clause, and a few hundred clauses still make one cheap scan.
CHUNK = 250
FIELDS = ["eligible", "enrolled", "required", "required_enrolled", "computed_at"]
# A request older than this has lost its task (a lost message, a killed worker).
STALE_AFTER = timedelta(minutes=2)


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


def figures_refresh_request() -> bool:
    """Ask, in the current transaction, for every figures row of the bound tenant to be
    recomputed. Returns True when this request queued the task, False when one was pending."""
    from incentives.tasks import program_figures_task

    tenant_id = current_tenant_id()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO incentives_figuresrequest (tenant_id, requested_at) VALUES (%s, %s)"
            " ON CONFLICT (tenant_id) DO NOTHING RETURNING id",
            [tenant_id, timezone.now()],
        )
        created = cursor.fetchone() is not None
    if created:
        transaction.on_commit(
            lambda: program_figures_task.apply_async(
                kwargs={"tenant_id": tenant_id}, countdown=settings.FIGURES_COALESCE_SECONDS
            )
        )
    return created


def figures_refresh_taken() -> None:
    """Called as a pass starts: the request it answers is done, in a transaction of its own,
    so a change from here on asks for another pass."""
    with transaction.atomic():
        FiguresRequest.objects.all().delete()


def stale_figures_requests() -> list[int]:
    """Tenant ids whose request has waited longer than `STALE_AFTER`. Runs under
    `all_tenants()` (the sweeper)."""
    stale = timezone.now() - STALE_AFTER
    return list(
        FiguresRequest.objects.filter(requested_at__lt=stale).values_list("tenant_id", flat=True)[
            :1000
        ]
    )
