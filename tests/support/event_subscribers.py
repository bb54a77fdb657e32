"""Event subscribers that exist only in tests, registered by this app's `ready()` in the test
process and in the real worker the tests start. Each records every event it is handed as a
history row of the event, so a test counts deliveries in the database."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection, transaction

from tenancy.context import tenant_scope
from tenancy.events import publish, subscriber
from tenancy.models import AuditEvent, DomainEvent

PINGED = "test.pinged"


def _record(events: list[DomainEvent], action: str) -> None:
    AuditEvent.objects.bulk_create(
        AuditEvent(
            entity="tenancy.domainevent",
            entity_id=event.pk,
            action=action,
            note=f"{event.aggregate_type}#{event.aggregate_id} {event.payload.get('seq')}",
        )
        for event in events
    )


@subscriber(PINGED, name="tests.first")
def first(events: list[DomainEvent]) -> None:
    _record(events, "first")


@subscriber(PINGED, name="tests.second")
def second(events: list[DomainEvent]) -> None:
    _record(events, "second")


HOLD = "test.hold"
HOLD_LOCK = 7_340_021  # an advisory lock key no application code takes


@subscriber(HOLD, name="tests.holder")
def hold(events: list[DomainEvent]) -> None:
    """Waits for the advisory lock a test holds: keeps the worker's one process busy while the
    test queues work behind it (see `holding_the_worker`)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [HOLD_LOCK])


@contextmanager
def holding_the_worker(world) -> Iterator[None]:
    """The test worker's process is busy until the block ends: what is sent meanwhile queues
    up behind it, as behind a busy worker in production, whatever the speed of this machine."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [HOLD_LOCK])
    try:
        with tenant_scope(world.tenant), transaction.atomic():
            publish(HOLD, aggregate=world.tenant)
        deadline = time.monotonic() + 60
        while not _worker_waits() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _worker_waits(), "the worker never reached the held lock"
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [HOLD_LOCK])


def _worker_waits() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            " AND objid = %s",
            [HOLD_LOCK],
        )
        return cursor.fetchone()[0] > 0
