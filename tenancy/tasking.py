"""Tenant tasks: a Celery task bound to one tenant for both walls, refusing to run without one;
and the heartbeat and sweeper that bring a bulk job back after its worker or its broker died."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from tenancy.context import UNSCOPED_ALIAS, TenantContextMissing, all_tenants, tenant_scope

# One queue a kind of work, so a flood of one never delays another (DESIGN.md §5): `events` is the
# outbox's relays and deliveries, `bulk` imports, re-syncs and other work over many rows.
QUEUES = ("validation", "fulfillment", "metrics", "notifications", "events", "bulk")


def tenant_task(*, queue: str, **options: Any) -> Callable[[Callable[..., Any]], Any]:
    """Declare a task that runs bound to one tenant, `tenant_scope(tenant_id)`.

    The binding opens no transaction: the body opens its own, as many as its work needs (the
    payout shape: commit, call the provider with none open, commit). Call it with keyword
    arguments only, `tenant_id` among them, and from a transaction through
    `enqueue_on_commit(invitation_send_task, tenant_id=7, invitation_id=42)`. A message without
    a tenant id fails with `TenantContextMissing` before the body runs.
    """
    if queue not in QUEUES:
        raise ValueError(f"unknown queue {queue!r}; use one of {QUEUES}")

    def decorate(body: Callable[..., Any]) -> Any:
        @functools.wraps(body)
        def run(*args: Any, tenant_id: int | None = None, **kwargs: Any) -> Any:
            if args:
                raise TypeError(f"{body.__name__} takes keyword arguments only")
            if tenant_id is None:
                raise TenantContextMissing(f"{body.__name__} needs a tenant_id")
            with tenant_scope(int(tenant_id)):
                return body(**kwargs)

        name = f"{body.__module__}.{body.__name__}"
        return shared_task(name=name, uplift_queue=queue, **options)(run)

    return decorate


def route_by_queue_attribute(name, args, kwargs, options, task=None, **kw) -> dict | None:
    """Celery router: a task's queue is the `uplift_queue` it was declared with."""
    queue = getattr(task, "uplift_queue", None)
    return {"queue": queue} if queue else None


def enqueue_on_commit(task: Any, **kwargs: Any) -> None:
    """Send `task` once the current transaction commits; a rolled-back one sends nothing."""
    transaction.on_commit(lambda: task.apply_async(kwargs=kwargs))


# Bulk jobs: a heartbeat a chunk, and a sweeper for the jobs whose heartbeat stopped


def heartbeat(job: Any) -> None:
    """Mark a bulk job alive: set its `heartbeat_at` to now, to be saved with the chunk's
    progress (one column of an update the chunk writes anyway). Call it with every committed
    chunk and when a continuation is queued."""
    job.heartbeat_at = timezone.now()


def requeue_stale_jobs(
    model: Any,
    *,
    task: Any,
    id_kwarg: str,
    statuses: Iterable[str],
    reason: str,
    limit: int = 1000,
) -> int:
    """Queue `task` again for every job of `model`, in any tenant, whose status is one of
    `statuses` (not finished) and whose `heartbeat_at` is older than `BULK_STALE_SECONDS`: its
    worker died mid-run, or its message was lost (a Redis restarted without its data). Returns
    how many.

    A job whose chunk is being committed holds its row lock: it is alive and skipped, never
    waited for. Each job taken gets a fresh heartbeat in the same transaction, so a job whose
    message waits behind other work gets one more message a threshold, not one a sweep. The
    task must be idempotent and resume from the job's committed progress (a redelivery and the
    sweeper's message may both arrive; the job's row lock serialises them). A fan-out job:
    it reads every tenant's jobs."""
    stale = timezone.now() - timedelta(seconds=settings.BULK_STALE_SECONDS)
    with all_tenants(reason=reason), transaction.atomic(using=UNSCOPED_ALIAS):
        found = list(
            model.objects.select_for_update(skip_locked=True, no_key=True)
            .filter(status__in=list(statuses), heartbeat_at__lt=stale)
            .order_by("heartbeat_at")
            .values_list("tenant_id", "pk")[:limit]
        )
        model.objects.filter(pk__in=[pk for _, pk in found]).update(heartbeat_at=timezone.now())
    for tenant_id, pk in found:
        task.apply_async(kwargs={"tenant_id": tenant_id, id_kwarg: pk})
    return len(found)
