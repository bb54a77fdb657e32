"""Invitations to every eligible partner of a program as background work: the request records an
`InviteJob` and queues it on the bulk queue; the task goes through the eligible partners in id
order, a chunk a transaction, inviting each chunk with `enrollment_invite` and committing the
job's counters and the id where the next chunk starts. After `BULK_TASK_SECONDS` it queues its
continuation on commit. A redelivered message starts where the committed cursor says, and a
partner already invited or enrolled is skipped, never an error. Each chunk commits the job's
heartbeat too: the sweeper queues again a job whose heartbeat has stopped (a worker killed, a
message lost with its broker)."""

from __future__ import annotations

import time

from django.db import transaction
from django.utils import timezone

from incentives.eligibility import eligibility_q
from incentives.models import EnrollmentMode, InviteJob, Program
from incentives.services.enrollments import enrollment_invite
from incentives.states import PROGRAM_STATES
from partners.models import Partner
from tenancy.errors import ApplicationError
from tenancy.models import Membership
from tenancy.permissions import require
from tenancy.tasking import enqueue_on_commit, heartbeat
from tenancy.transitions import lock_for

CHUNK_PARTNERS = 500
MAX_STORED_ERRORS = 100
_PROGRESS_FIELDS = [
    "status",
    "started_at",
    "finished_at",
    "failure",
    "done",
    "invited",
    "unchanged",
    "error_count",
    "errors",
    "next_partner_id",
    "heartbeat_at",
]


def invite_job_start(*, actor: Membership, program: Program) -> InviteJob:
    """Record invitations to every eligible partner of `program` and queue them on commit. A
    program whose invitations are still under way gets that job back, not a second one."""
    require(actor, "programs.edit")
    with transaction.atomic():
        # The refusals `enrollment_invite` would give, answered now on the locked row; the lock
        # also makes two requests at once find one job.
        program = lock_for(
            Program, machine=PROGRAM_STATES, action="invite", seen=program.status, pk=program.pk
        )
        if program.enrollment_mode == EnrollmentMode.AUTOMATIC:
            raise ApplicationError("An automatic program enrolls eligible partners by itself.")
        under_way = (
            InviteJob.objects.filter(
                program=program, status__in=(InviteJob.Status.PENDING, InviteJob.Status.RUNNING)
            )
            .order_by("-created_at", "-id")
            .first()
        )
        if under_way is not None:
            return under_way
        job = InviteJob.objects.create(
            program=program,
            requested_by=actor,
            total=Partner.objects.filter(eligibility_q(program.eligibility)).count(),
        )
        _queue_run(job)
    return job


def _queue_run(job: InviteJob) -> None:
    from incentives.tasks import invite_job_run_task

    enqueue_on_commit(invite_job_run_task, tenant_id=job.tenant_id, job_id=job.pk)


def invite_job_run(*, job_id: int, seconds: float = 0) -> InviteJob | None:
    """Invite the next chunks of a job's eligible partners, each chunk in its own transaction,
    until none is left (the job is done) or `seconds` have passed (at least one chunk; the
    continuation is queued on commit). Safe to run again: a finished job is left alone and each
    chunk starts at the committed `next_partner_id`, read under the job's row lock."""
    deadline = time.monotonic() + seconds
    while True:
        with transaction.atomic():
            job = (
                InviteJob.objects.select_for_update(of=("self",))
                .select_related("program", "requested_by")
                .filter(pk=job_id)
                .first()
            )
            if job is None or job.finished:
                return job
            if job.status == InviteJob.Status.PENDING:
                job.status, job.started_at = InviteJob.Status.RUNNING, timezone.now()
            try:
                more = _invite_next_chunk(job)
            except ApplicationError as error:  # closed meanwhile, or the requester lost the role
                job.status, job.failure, more = InviteJob.Status.FAILED, error.message, False
                job.finished_at = timezone.now()
            if more and time.monotonic() >= deadline:
                _queue_run(job)
                more = False
            heartbeat(job)
            job.save(update_fields=_PROGRESS_FIELDS)
        if not more:
            return job


def _invite_next_chunk(job: InviteJob) -> bool:
    """Invite the next chunk of eligible partners; True while partners may remain."""
    program = job.program
    ids = list(
        Partner.objects.filter(eligibility_q(program.eligibility), pk__gt=job.next_partner_id)
        .order_by("pk")
        .values_list("pk", flat=True)[:CHUNK_PARTNERS]
    )
    if ids:
        if job.requested_by is None:
            raise ApplicationError("The person who asked for these invitations has left.")
        counts = enrollment_invite(actor=job.requested_by, program=program, partner_ids=ids)
        job.done += len(ids)
        job.invited += counts["invited"]
        job.unchanged += counts["unchanged"]
        if counts["ineligible"]:
            job.error_count += counts["ineligible"]
            if len(job.errors) < MAX_STORED_ERRORS:
                message = "No longer eligible when their turn came; not invited."
                job.errors = [*job.errors, {"partners": counts["ineligible"], "message": message}]
        job.next_partner_id = ids[-1]
    if len(ids) == CHUNK_PARTNERS:
        return True
    job.status, job.finished_at = InviteJob.Status.DONE, timezone.now()
    return False
