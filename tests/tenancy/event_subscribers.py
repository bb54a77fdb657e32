"""Subscribers that exist only in tests. Each records every event it is handed as a history row
of the event, so a test counts deliveries in the database. Imported by the test worker
(`--include`, tests/worker.py) and by the tests that publish to them."""

from __future__ import annotations

from tenancy.events import subscriber
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
