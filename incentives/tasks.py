"""Background work of incentive programs."""

from __future__ import annotations

from celery import shared_task

from incentives.services.enrollments import auto_enroll
from incentives.services.resyncs import auto_enroll_request_taken, stale_auto_enroll_requests
from tenancy.context import all_tenants
from tenancy.models import Tenant
from tenancy.tasking import tenant_task


@tenant_task(queue="validation")
def programs_auto_enroll_task(*, program_id: int | None = None) -> int:
    """Bring automatic programs up to date with who is eligible (idempotent). A run for one
    program first takes its pending request, so changes made while it runs ask for another."""
    if program_id is not None:
        auto_enroll_request_taken(program_id=program_id)
    return auto_enroll(program_id=program_id)


@shared_task(name="incentives.tasks.programs_auto_enroll_sweep_task", uplift_queue="validation")
def programs_auto_enroll_sweep_task() -> int:
    """Nightly safety net: one auto-enroll task a tenant, so a lost message loses no enrollment.
    Reads only the platform-level tenant table."""
    tenant_ids = list(Tenant.objects.filter(is_active=True).values_list("pk", flat=True))
    for tenant_id in tenant_ids:
        programs_auto_enroll_task.apply_async(kwargs={"tenant_id": tenant_id})
    return len(tenant_ids)


@shared_task(name="incentives.tasks.auto_enroll_requests_sweep_task", uplift_queue="validation")
def auto_enroll_requests_sweep_task() -> int:
    """Re-queue re-syncs requested minutes ago whose task never started (a lost message). A
    fan-out job: it reads every tenant's pending requests."""
    with all_tenants(reason="fan-out: automatic enrollment requests whose task was lost"):
        stale = stale_auto_enroll_requests()
    for tenant_id, program_id in stale:
        programs_auto_enroll_task.apply_async(
            kwargs={"tenant_id": tenant_id, "program_id": program_id}
        )
    return len(stale)
