"""The transactional outbox on a real Celery worker, Redis broker and the test database."""

from __future__ import annotations

import re
import threading
import time
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from tenancy import events
from tenancy.context import tenant_scope
from tenancy.events import deliver_events, publish, relay_events
from tenancy.models import AuditEvent, DomainEvent
from tenancy.tasks import event_deliver_task, events_sweep_task
from tests.conftest import build_world
from tests.support.event_subscribers import PINGED

pytestmark = pytest.mark.worker

SUBSCRIBERS = ("first", "second")


def ping(world, *, seq: int, aggregate=None) -> DomainEvent:
    """Publish one event in a transaction of its own."""
    with tenant_scope(world.tenant), transaction.atomic():
        return publish(PINGED, aggregate=aggregate or world.partner, payload={"seq": seq})


def deliveries(world, action: str) -> list[str]:
    """The notes of `action`'s delivery records, in the order they were written."""
    with tenant_scope(world.tenant):
        return list(
            AuditEvent.objects.filter(entity="tenancy.domainevent", action=action)
            .order_by("pk")
            .values_list("note", flat=True)
        )


def undelivered(world) -> int:
    with tenant_scope(world.tenant):
        return DomainEvent.objects.filter(delivered_at__isnull=True).count()


def wait_until(condition, worker, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    pytest.fail(f"condition not met in {timeout}s; worker log:\n{worker.log_text()[-4000:]}")


def drain(world, worker) -> None:
    """Wait until the worker has handled every events message sent before now: one
    process, prefetch one, and the queue is first in, first out. The marker is a task of that
    queue that changes nothing here (a re-sync of a program that does not exist)."""
    from incentives.tasks import programs_auto_enroll_task

    marker = programs_auto_enroll_task.apply_async(
        kwargs={"tenant_id": world.tenant.pk, "program_id": 0}, queue="events"
    )
    wait_until(lambda: re.search(rf"\[{marker.id}\] succeeded", worker.log_text()), worker)


def age(world, *fields: str) -> None:
    """Move the outbox's timestamps back, as if minutes had passed."""
    past = timezone.now() - events.REDELIVER_AFTER - timedelta(minutes=1)
    with tenant_scope(world.tenant):
        DomainEvent.objects.update(**{name: past for name in fields})


def test_a_rolled_back_event_is_never_delivered(transactional_db, celery_worker):
    alpha, bravo = build_world("alpha"), build_world("bravo")

    def failing_change() -> None:
        with tenant_scope(alpha.tenant), transaction.atomic():
            publish(PINGED, aggregate=alpha.partner, payload={"seq": 1})
            raise RuntimeError("the change failed after the event was written")

    with pytest.raises(RuntimeError, match="failed after"):
        failing_change()
    ping(alpha, seq=2)
    wait_until(lambda: undelivered(alpha) == 0, celery_worker)
    drain(alpha, celery_worker)
    expected = [f"partners.partner#{alpha.partner.pk} 2"]
    assert (deliveries(alpha, "first"), deliveries(alpha, "second")) == (expected, expected)
    with tenant_scope(alpha.tenant):
        assert list(DomainEvent.objects.values_list("payload", flat=True)) == [{"seq": 2}]
    assert deliveries(bravo, "first") == []


def test_publish_refuses_to_run_outside_a_transaction(db):
    alpha = build_world("alpha")
    with tenant_scope(alpha.tenant):
        if not connection.in_atomic_block:  # a binding that opens no transaction of its own
            with pytest.raises(RuntimeError, match="inside the transaction"):
                publish(PINGED, aggregate=alpha.partner)
        with transaction.atomic():
            assert publish(PINGED, aggregate=alpha.partner).tenant_id == alpha.tenant.pk


def test_an_event_relayed_twice_is_delivered_once_to_each_subscriber(
    transactional_db, celery_worker, monkeypatch
):
    alpha = build_world("alpha")
    sent: list[list[str]] = []
    monkeypatch.setattr(events, "request_relay", lambda tenant_id: None)
    monkeypatch.setattr(events, "_send_deliveries", lambda tenant_id, names: sent.append(names))
    event = ping(alpha, seq=1)
    with tenant_scope(alpha.tenant):
        assert relay_events() == 1
        assert relay_events() == 0  # relayed already, and not yet long ago
    assert sent == [["tests.first", "tests.second"]]

    def deliver_twice(subscriber: str) -> None:
        for _ in range(2):
            event_deliver_task.apply_async(
                kwargs={"tenant_id": alpha.tenant.pk, "subscriber": subscriber}
            )
        drain(alpha, celery_worker)

    note = f"partners.partner#{alpha.partner.pk} 1"
    deliver_twice("tests.first")
    assert (deliveries(alpha, "first"), deliveries(alpha, "second")) == ([note], [])
    # Minutes later the second subscriber's delivery looks lost: the relay hands the event out
    # again, to that subscriber only.
    age(alpha, "relayed_at")
    with tenant_scope(alpha.tenant):
        assert relay_events() == 1
    assert sent[-1] == ["tests.second"]
    deliver_twice("tests.second")
    assert (deliveries(alpha, "first"), deliveries(alpha, "second")) == ([note], [note])
    with tenant_scope(alpha.tenant):
        event = DomainEvent.objects.get(pk=event.pk)
        assert (event.delivered_to, event.attempts) == (["tests.first", "tests.second"], 2)
        assert event.delivered_at is not None
        assert relay_events() == 0


def test_two_relays_never_take_the_same_batch(transactional_db, celery_worker, monkeypatch):
    alpha = build_world("alpha")
    monkeypatch.setattr(events, "request_relay", lambda tenant_id: None)
    with tenant_scope(alpha.tenant), transaction.atomic():
        for seq in range(20):
            publish(PINGED, aggregate=alpha.partner, payload={"seq": seq})
    took, relayed, release = {}, threading.Event(), threading.Event()

    def relay(name: str, hold: bool) -> None:
        try:
            with tenant_scope(alpha.tenant), transaction.atomic():
                took[name] = relay_events()
                if hold:  # keep the batch's row locks until the other relay has run
                    relayed.set()
                    release.wait(timeout=60)
        finally:
            connection.close()

    first = threading.Thread(target=relay, args=("first", True))
    first.start()
    assert relayed.wait(timeout=30)
    second = threading.Thread(target=relay, args=("second", False))
    second.start()
    second.join(timeout=30)
    blocked = second.is_alive()
    release.set()
    first.join(timeout=30)
    second.join(timeout=30)
    assert not blocked, "the second relay waited for the first one's locks"
    assert took == {"first": 20, "second": 0}
    wait_until(lambda: undelivered(alpha) == 0, celery_worker)
    for action in SUBSCRIBERS:
        assert len(deliveries(alpha, action)) == 20


def test_events_of_an_aggregate_are_delivered_in_the_order_published(
    transactional_db, celery_worker
):
    alpha = build_world("alpha")
    for seq in range(30):
        ping(alpha, seq=seq, aggregate=alpha.partner if seq % 2 else alpha.other_partner)
    wait_until(lambda: undelivered(alpha) == 0, celery_worker)
    for action in SUBSCRIBERS:
        seen: dict[str, list[int]] = {}
        for note in deliveries(alpha, action):
            aggregate, seq = note.split()
            seen.setdefault(aggregate, []).append(int(seq))
        assert sorted(seen) == sorted(
            f"partners.partner#{p.pk}" for p in (alpha.partner, alpha.other_partner)
        )
        for sequence in seen.values():
            assert sequence == sorted(sequence)
            assert len(sequence) == 15


def test_a_delivery_stops_before_an_event_not_yet_relayed(worlds, monkeypatch):
    alpha, _ = worlds
    monkeypatch.setattr(events, "_send_deliveries", lambda tenant_id, names: None)
    with tenant_scope(alpha.tenant), transaction.atomic():
        published = [
            publish(PINGED, aggregate=alpha.partner, payload={"seq": seq}) for seq in range(3)
        ]
    # Another relay has handed out the third event while the second is still being relayed.
    with tenant_scope(alpha.tenant):
        DomainEvent.objects.filter(pk__in=[published[0].pk, published[2].pk]).update(
            relayed_at=timezone.now()
        )
        assert deliver_events(subscriber="tests.first") == 1
        assert relay_events() == 1  # the second
        assert deliver_events(subscriber="tests.first") == 2
    notes = [f"partners.partner#{alpha.partner.pk} {seq}" for seq in range(3)]
    assert deliveries(alpha, "first") == notes


@pytest.mark.parametrize("lost", ["relay", "deliveries"])
@pytest.mark.django_db(transaction=True, databases=["default", "unscoped"])
def test_the_sweeper_delivers_what_a_lost_message_left_behind(celery_worker, monkeypatch, lost):
    alpha, _ = build_world("alpha"), build_world("bravo")
    send_deliveries = events._send_deliveries
    monkeypatch.setattr(events, "request_relay", lambda tenant_id: None)
    ping(alpha, seq=1)
    if lost == "deliveries":
        # The relay ran; the worker that would have delivered was killed: no delivery message.
        monkeypatch.setattr(events, "_send_deliveries", lambda tenant_id, names: None)
        with tenant_scope(alpha.tenant):
            assert relay_events() == 1
        monkeypatch.setattr(events, "_send_deliveries", send_deliveries)
    drain(alpha, celery_worker)
    assert undelivered(alpha) == 1
    assert deliveries(alpha, "first") == []
    assert events_sweep_task() == 0  # minutes have not passed yet
    age(alpha, "created_at", *(["relayed_at"] if lost == "deliveries" else []))
    assert events_sweep_task() == 1  # alpha; bravo has nothing waiting
    wait_until(lambda: undelivered(alpha) == 0, celery_worker)
    drain(alpha, celery_worker)
    note = f"partners.partner#{alpha.partner.pk} 1"
    assert (deliveries(alpha, "first"), deliveries(alpha, "second")) == ([note], [note])


@pytest.mark.django_db(transaction=True, databases=["default", "unscoped"])
def test_delivered_events_are_pruned_after_their_retention_and_undelivered_never():
    from tenancy.tasks import events_prune_task

    alpha, bravo = build_world("alpha"), build_world("bravo")
    now = timezone.now()
    old = now - events.RETENTION - timedelta(hours=1)
    kept = {}
    for world in (alpha, bravo):
        with tenant_scope(world.tenant), transaction.atomic():
            rows = {
                name: DomainEvent.objects.create(
                    kind=PINGED,
                    aggregate_type="partners.partner",
                    aggregate_id=world.partner.pk,
                    created_at=old,
                    delivered_at=delivered_at,
                )
                for name, delivered_at in (
                    ("delivered long ago", old),
                    ("delivered lately", now),
                    ("never delivered", None),
                )
            }
        kept[world.tenant.pk] = {rows["delivered lately"].pk, rows["never delivered"].pk}
    assert events_prune_task() == 2  # one of each tenant
    assert events_prune_task() == 0
    for world in (alpha, bravo):
        with tenant_scope(world.tenant):
            remaining = set(DomainEvent.objects.filter(kind=PINGED).values_list("pk", flat=True))
        assert remaining == kept[world.tenant.pk]
