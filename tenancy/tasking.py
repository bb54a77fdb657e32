"""Tenant tasks: a Celery task bound to one tenant for both walls, refusing to run without one."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from celery import shared_task
from django.db import transaction

from tenancy.context import TenantContextMissing, tenant_scope

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
