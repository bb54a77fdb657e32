"""Background work of the tenancy app."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.db import connection
from django.utils import timezone

from tenancy import events
from tenancy.context import all_tenants, current_tenant_id
from tenancy.models import Invitation, Membership
from tenancy.services import invitation_send
from tenancy.tasking import tenant_task


@tenant_task(queue="notifications", autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def invitation_send_task(*, invitation_id: int) -> bool:
    return invitation_send(invitation_id=invitation_id)


@shared_task(name="tenancy.tasks.invitations_sweep_task", uplift_queue="notifications")
def invitations_sweep_task() -> int:
    """Re-queue invitations whose email has not gone out a few minutes after they were made
    (a lost message loses no work). A fan-out job: it reads every tenant's rows."""
    stale = timezone.now() - timedelta(minutes=3)
    with all_tenants(reason="fan-out: invitations whose email did not go out"):
        pending = list(
            Invitation.objects.filter(
                status=Invitation.Status.PENDING,
                sent_at__isnull=True,
                created_at__lt=stale,
                expires_at__gt=timezone.now(),
            ).values_list("tenant_id", "pk")[:1000]
        )
    for tenant_id, invitation_id in pending:
        invitation_send_task.apply_async(
            kwargs={"tenant_id": tenant_id, "invitation_id": invitation_id}
        )
    return len(pending)


@tenant_task(queue="events")
def event_relay_task() -> int:
    return events.relay_events()


@tenant_task(queue="events")
def event_deliver_task(*, subscriber: str) -> int:
    return events.deliver_events(subscriber=subscriber)


@shared_task(name="tenancy.tasks.events_sweep_task", uplift_queue="events")
def events_sweep_task() -> int:
    """Relay again the events left undelivered for minutes: a lost relay or delivery message,
    a killed worker. A fan-out job: it reads every tenant's outbox."""
    with all_tenants(reason="fan-out: domain events left undelivered"):
        tenant_ids = events.stale_event_tenants()
    for tenant_id in tenant_ids:
        event_relay_task.apply_async(kwargs={"tenant_id": tenant_id})
    return len(tenant_ids)


@tenant_task(queue="notifications", ignore_result=False)
def tenant_healthcheck_task() -> dict:
    """Reports what this worker sees of the bound tenant, through the ORM (wall 1) and through
    raw SQL that only row-level security filters (wall 2). Used by operators and tests."""
    tenant_id = current_tenant_id()
    with connection.cursor() as cursor:
        cursor.execute("SELECT DISTINCT tenant_id FROM tenancy_membership")
        raw_tenants = sorted(row[0] for row in cursor.fetchall())
    return {
        "tenant_id": tenant_id,
        "members": Membership.objects.count(),
        "tenants_visible_to_sql": raw_tenants,
    }


@shared_task(name="tenancy.tasks.events_prune_task", uplift_queue="events")
def events_prune_task() -> int:
    """Delete a batch of events delivered longer ago than `events.RETENTION`. A fan-out job."""
    with all_tenants(reason="fan-out: delivered events past their retention"):
        return events.prune_delivered_events()
