"""Background work of incentive programs."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.db import IntegrityError, OperationalError

from incentives.claims.validation import BATCH as VALIDATION_BATCH
from incentives.claims.validation import stale_submitted_claims_everywhere, validate_claims
from incentives.models import InviteJob
from incentives.services.enrollments import auto_enroll
from incentives.services.figures import (
    figures_refresh_taken,
    program_figures_refresh,
    stale_figures_requests,
)
from incentives.services.invite_jobs import invite_job_run
from incentives.services.resyncs import auto_enroll_request_taken, stale_auto_enroll_requests
from tenancy.context import all_tenants
from tenancy.models import Tenant
from tenancy.tasking import requeue_stale_jobs, tenant_task


@tenant_task(queue="bulk")
def programs_auto_enroll_task(*, program_id: int | None = None) -> int:
    """Bring automatic programs up to date with who is eligible (idempotent). A run for one
    program first takes its pending request, so changes made while it runs ask for another."""
    if program_id is not None:
        auto_enroll_request_taken(program_id=program_id)
    return auto_enroll(program_id=program_id)


@shared_task(name="incentives.tasks.programs_auto_enroll_sweep_task", uplift_queue="bulk")
def programs_auto_enroll_sweep_task() -> int:
    """Nightly safety net: one auto-enroll task a tenant, so a lost message loses no enrollment.
    Reads only the platform-level tenant table."""
    tenant_ids = list(Tenant.objects.filter(is_active=True).values_list("pk", flat=True))
    for tenant_id in tenant_ids:
        programs_auto_enroll_task.apply_async(kwargs={"tenant_id": tenant_id})
    return len(tenant_ids)


@shared_task(name="incentives.tasks.auto_enroll_requests_sweep_task", uplift_queue="bulk")
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


@tenant_task(queue="bulk")
def program_figures_task() -> int:
    """Recompute every figures row of the tenant (idempotent), first taking the pending
    request, so changes made during the pass ask for another."""
    figures_refresh_taken()
    return program_figures_refresh()


@shared_task(name="incentives.tasks.figures_requests_sweep_task", uplift_queue="bulk")
def figures_requests_sweep_task() -> int:
    """Re-queue figures passes requested minutes ago whose task never started (a lost message).
    A fan-out job: it reads every tenant's pending request."""
    with all_tenants(reason="fan-out: program figures requests whose task was lost"):
        stale = stale_figures_requests()
    for tenant_id in stale:
        program_figures_task.apply_async(kwargs={"tenant_id": tenant_id})
    return len(stale)


# A colleague inviting the same partner between the chunk's read and its insert breaks the
# unique enrollment; a deadlock with another writer is possible too. Either way the chunk rolls
# back whole and the retry starts again at the committed cursor.
@tenant_task(
    queue="bulk",
    autoretry_for=(IntegrityError, OperationalError),
    retry_backoff=True,
    max_retries=5,
)
def invite_job_run_task(*, job_id: int) -> None:
    invite_job_run(job_id=job_id, seconds=settings.BULK_TASK_SECONDS)


@shared_task(name="incentives.tasks.invite_jobs_sweep_task", uplift_queue="bulk")
def invite_jobs_sweep_task() -> int:
    """Re-queue invitation jobs not finished whose heartbeat has stopped for
    `BULK_STALE_SECONDS`: the worker running one died, or its message was lost. Each goes on
    from its committed cursor. Beat runs it every `BULK_SWEEP_SECONDS`."""
    return requeue_stale_jobs(
        InviteJob,
        task=invite_job_run_task,
        id_kwarg="job_id",
        statuses=[InviteJob.Status.PENDING, InviteJob.Status.RUNNING],
        reason="fan-out: invitation jobs whose worker or message was lost",
    )


@tenant_task(queue="validation", acks_late=True, reject_on_worker_lost=True)
def validate_claims_task(*, claim_ids: list[int]) -> dict[str, int]:
    """Check claims against their programs' rules (idempotent: claims no longer submitted are
    left alone; `incentives.claims.validation`)."""
    return validate_claims(claim_ids)


@shared_task(name="incentives.tasks.claims_validation_sweep_task", uplift_queue="validation")
def claims_validation_sweep_task() -> int:
    """Queue again the claims submitted minutes ago and still waiting (a lost message). A
    fan-out job: it reads every tenant's waiting claims."""
    with all_tenants(reason="fan-out: submitted claims whose validation was lost"):
        stale = stale_submitted_claims_everywhere()
    for tenant_id, ids in stale.items():
        for start in range(0, len(ids), VALIDATION_BATCH):
            validate_claims_task.apply_async(
                kwargs={"tenant_id": tenant_id, "claim_ids": ids[start : start + VALIDATION_BATCH]}
            )
    return sum(len(ids) for ids in stale.values())
