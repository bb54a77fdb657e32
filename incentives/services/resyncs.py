"""Requests to bring automatic programs' enrollments up to date, coalesced per program.

Only the latest state of the partners matters to an automatic enrollment, so any number of
requests for one program while one is pending come to one re-sync task: the request is a row,
unique per program, and only the request that inserts the row queues the task. A request made
for partner changes starts its task `AUTO_ENROLL_COALESCE_SECONDS` later, so a burst of edits
finds it pending. The task deletes the row before it reads the partners, so a change made during
a run asks for one more run, not none.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from incentives.eligibility import eligibility_q
from incentives.models import (
    AutoEnrollRequest,
    Enrollment,
    EnrollmentMode,
    Program,
    ProgramStatus,
)
from partners.models import Partner
from tenancy.context import current_tenant_id

# A request older than this has lost its task (a lost message, a killed worker): well past the
# coalescing window.
STALE_AFTER = timedelta(minutes=5)


def auto_enroll_request(*, program_id: int, coalesce: bool = False) -> bool:
    """Ask for a re-sync of one automatic program, in the current transaction. Returns True
    when this request queued the task, False when one was already pending. With `coalesce` the
    task starts `AUTO_ENROLL_COALESCE_SECONDS` later, so the requests of a burst of changes in
    that window find this one pending and add nothing."""
    from incentives.tasks import programs_auto_enroll_task

    tenant_id = current_tenant_id()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO incentives_autoenrollrequest (tenant_id, program_id, requested_at)"
            " VALUES (%s, %s, %s) ON CONFLICT (tenant_id, program_id) DO NOTHING RETURNING id",
            [tenant_id, program_id, timezone.now()],
        )
        created = cursor.fetchone() is not None
    if created:
        delay = settings.AUTO_ENROLL_COALESCE_SECONDS if coalesce else 0
        transaction.on_commit(
            lambda: programs_auto_enroll_task.apply_async(
                kwargs={"tenant_id": tenant_id, "program_id": program_id}, countdown=delay
            )
        )
    return created


def auto_enroll_request_taken(*, program_id: int) -> None:
    """Called as a re-sync starts: the request it answers is done, in a transaction of its own,
    so a request made from here on queues another run."""
    with transaction.atomic():
        AutoEnrollRequest.objects.filter(program_id=program_id).delete()


def auto_enroll_requests_for_partners(*, partner_ids: list[int]) -> list[int]:
    """Ask for a re-sync of each active automatic program that one of `partner_ids` is now
    eligible for and not yet in (one query a program without a pending request). Automatic
    enrollment only adds partners, so no other program can be affected. Returns the programs
    a request was made for."""
    pending = AutoEnrollRequest.objects.values("program_id")
    programs = Program.objects.filter(
        status=ProgramStatus.ACTIVE, enrollment_mode=EnrollmentMode.AUTOMATIC
    ).exclude(pk__in=pending)
    affected = []
    for program in programs.only("pk", "eligibility"):
        joining = (
            Partner.objects.filter(pk__in=partner_ids)
            .filter(eligibility_q(program.eligibility))
            .exclude(pk__in=Enrollment.objects.filter(program=program).values("partner_id"))
        )
        if joining.exists():
            auto_enroll_request(program_id=program.pk, coalesce=True)
            affected.append(program.pk)
    return affected


def stale_auto_enroll_requests() -> list[tuple[int, int]]:
    """(tenant id, program id) of requests pending for longer than `STALE_AFTER`. Runs under
    `all_tenants()` (the sweeper)."""
    stale = timezone.now() - STALE_AFTER
    return list(
        AutoEnrollRequest.objects.filter(requested_at__lt=stale).values_list(
            "tenant_id", "program_id"
        )[:1000]
    )
