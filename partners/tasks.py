"""Background work of the partners app."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db import IntegrityError, OperationalError
from django.db.models import Q
from django.utils import timezone

from partners.csv_io import partner_import_run
from partners.models import PartnerImport
from tenancy.context import all_tenants
from tenancy.tasking import tenant_task


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
    """Re-queue imports whose message was lost: pending for minutes, or running for an hour
    without finishing. A fan-out job: it reads every tenant's imports. A run that is in fact
    still going is not disturbed, as each chunk starts where the row lock says the last ended."""
    now = timezone.now()
    stuck = Q(status=PartnerImport.Status.PENDING, created_at__lt=now - timedelta(minutes=5)) | Q(
        status=PartnerImport.Status.RUNNING, started_at__lt=now - timedelta(hours=1)
    )
    with all_tenants(reason="fan-out: partner imports whose message was lost"):
        found = list(PartnerImport.objects.filter(stuck).values_list("tenant_id", "pk")[:1000])
    for tenant_id, import_id in found:
        partner_import_run_task.apply_async(kwargs={"tenant_id": tenant_id, "import_id": import_id})
    return len(found)
