"""Background work of incentive programs."""

from __future__ import annotations

from celery import shared_task

from incentives.services.enrollments import auto_enroll
from tenancy.models import Tenant
from tenancy.tasking import tenant_task


@tenant_task(queue="bulk")
def programs_auto_enroll_task(*, program_id: int | None = None) -> int:
    """Bring automatic programs up to date with who is eligible (idempotent)."""
    return auto_enroll(program_id=program_id)


@shared_task(name="incentives.tasks.programs_auto_enroll_sweep_task", uplift_queue="bulk")
def programs_auto_enroll_sweep_task() -> int:
    """Nightly safety net: one auto-enroll task a tenant, so a lost message loses no enrollment.
    Reads only the platform-level tenant table."""
    tenant_ids = list(Tenant.objects.filter(is_active=True).values_list("pk", flat=True))
    for tenant_id in tenant_ids:
        programs_auto_enroll_task.apply_async(kwargs={"tenant_id": tenant_id})
    return len(tenant_ids)
