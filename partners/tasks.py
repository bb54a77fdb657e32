"""Background work of the partners app."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.db import IntegrityError, OperationalError

from partners.csv_io import FINISHED, partner_import_run
from partners.models import PartnerImport
from tenancy.tasking import requeue_stale_jobs, tenant_task

UNFINISHED = [status for status in PartnerImport.Status.values if status not in FINISHED]


# A partner created by hand between an import's read and its insert breaks the unique CRM id;
# two imports locking the same partners may deadlock. Either way the chunk rolls back whole and
# the retry reads the rows as they now are.
@tenant_task(
    queue="bulk",
    autoretry_for=(IntegrityError, OperationalError),
    retry_backoff=True,
    max_retries=5,
)
def partner_import_run_task(*, import_id: int) -> None:
    partner_import_run(import_id=import_id, seconds=settings.BULK_TASK_SECONDS)


@shared_task(name="partners.tasks.partner_imports_sweep_task", uplift_queue="bulk")
def partner_imports_sweep_task() -> int:
    """Re-queue imports not finished whose heartbeat has stopped for `BULK_STALE_SECONDS`: the
    worker running one died, or its message was lost. Each goes on from its last committed
    chunk. Beat runs it every `BULK_SWEEP_SECONDS`."""
    return requeue_stale_jobs(
        PartnerImport,
        task=partner_import_run_task,
        id_kwarg="import_id",
        statuses=UNFINISHED,
        reason="fan-out: partner imports whose worker or message was lost",
    )
