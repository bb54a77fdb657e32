"""Domain events through a transactional outbox (DESIGN.md §7).

- `publish(kind, aggregate=..., payload=...)` writes a `DomainEvent` in the caller's transaction
  and, once that commits, asks for a relay of the tenant's events. A rolled-back transaction
  leaves neither the row nor the message.
- `@subscriber("partner.changed", name=...)` registers a handler. A higher app registers with
  this kernel from a module its `AppConfig.ready()` imports; the kernel never imports it.
- `relay_events()` (the relay task) takes a batch of committed, unrelayed events with
  `SELECT … FOR UPDATE SKIP LOCKED`, so two relays never take the same batch, marks it relayed
  and sends one delivery task to each subscriber concerned.
- `deliver_events(subscriber=...)` (the delivery task) hands a subscriber its pending events of
  the bound tenant in publication order, in batches, one delivery of a subscriber at a time,
  never past an event not yet relayed, and records the subscriber on each event in the same
  transaction as the handler's writes. So a handler sees an event once per commit, and in order
  per aggregate; a handler that fails rolls back and is tried again by the sweeper (at least
  once: handlers are idempotent).
- The sweeper re-relays events still undelivered after `REDELIVER_AFTER` (a lost message, a
  killed worker), whether the relay or the delivery message was lost.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.postgres.fields import ArrayField
from django.db import connection, models, transaction
from django.db.models import F, Func, Q, Value
from django.utils import timezone

from tenancy.context import UNSCOPED_ALIAS, current_tenant_id
from tenancy.models import DomainEvent

logger = logging.getLogger(__name__)

RELAY_BATCH = 1000
DELIVERY_BATCH = 1000
# A relayed event still undelivered this long after is relayed again: its delivery message was
# lost or the worker running it was killed. Well above a delivery's time limit would be safer
# still, but a second delivery is harmless (see `deliver_events`), only wasted work.
REDELIVER_AFTER = timedelta(minutes=3)
# Delivered events are kept a while (to look into what happened), then deleted a batch at a time.
RETENTION = timedelta(days=7)
PRUNE_BATCH = 5000

Handler = Callable[[list[DomainEvent]], None]


@dataclass(frozen=True)
class Subscriber:
    name: str
    kinds: frozenset[str]
    handle: Handler


_subscribers: dict[str, Subscriber] = {}


def subscriber(*kinds: str, name: str) -> Callable[[Handler], Handler]:
    """Register `handle(events)` for events of `kinds`. It runs as a tenant task, inside a
    transaction, with a batch of events in publication order; it must be idempotent. `name` is
    stored on delivered events: keep it stable."""
    if not kinds:
        raise ValueError("a subscriber needs at least one event kind")

    def register(handle: Handler) -> Handler:
        known = _subscribers.get(name)
        if known is not None and known.handle is not handle:
            raise ValueError(f"another subscriber is registered as {name!r}")
        _subscribers[name] = Subscriber(name=name, kinds=frozenset(kinds), handle=handle)
        return handle

    return register


def subscribers_of(kind: str) -> list[Subscriber]:
    return [s for s in _subscribers.values() if kind in s.kinds]


# Publishing


def publish(kind: str, *, aggregate: models.Model, payload: dict | None = None) -> DomainEvent:
    """Write an event about `aggregate` in the current transaction; relayed after it commits."""
    return publish_many(kind, aggregates=[aggregate], payloads=[payload or {}])[0]


def publish_many(
    kind: str, *, aggregates: Iterable[models.Model], payloads: Iterable[dict] | None = None
) -> list[DomainEvent]:
    """`publish` for many aggregates of one kind, in one statement (bulk paths)."""
    aggregates = list(aggregates)
    payloads = list(payloads) if payloads is not None else [{} for _ in aggregates]
    if not connection.in_atomic_block:
        # Outside a transaction the row would commit on its own, before the change it reports.
        raise RuntimeError("publish() belongs inside the transaction that makes the change")
    events = DomainEvent.objects.bulk_create(
        DomainEvent(
            kind=kind,
            aggregate_type=aggregate._meta.label_lower,
            aggregate_id=aggregate.pk,
            payload=payload,
        )
        for aggregate, payload in zip(aggregates, payloads, strict=True)
    )
    if events:
        tenant_id = events[0].tenant_id
        transaction.on_commit(lambda: request_relay(tenant_id))
    return events


def request_relay(tenant_id: int) -> None:
    """Send the relay task of a tenant (once a transaction with events has committed)."""
    from tenancy.tasks import event_relay_task

    event_relay_task.apply_async(kwargs={"tenant_id": tenant_id})


# Relaying


def relay_events(*, limit: int = RELAY_BATCH) -> int:
    """Hand the bound tenant's next batch of committed, undelivered events to their subscribers:
    events never relayed, and events relayed more than `REDELIVER_AFTER` ago and still not
    delivered. Returns the number of events relayed; queues itself again when the batch is
    full. Events nobody subscribes to are marked delivered."""
    now = timezone.now()
    tenant_id = current_tenant_id()
    with transaction.atomic():
        batch = list(
            DomainEvent.objects.select_for_update(skip_locked=True)
            .filter(delivered_at__isnull=True)
            .filter(Q(relayed_at__isnull=True) | Q(relayed_at__lt=now - REDELIVER_AFTER))
            .order_by("pk")
            .only("pk", "kind", "delivered_to")[:limit]
        )
        if not batch:
            return 0
        wanted: set[str] = set()
        nobody: list[int] = []
        for event in batch:
            names = {s.name for s in subscribers_of(event.kind)} - set(event.delivered_to)
            wanted |= names
            if not names:
                nobody.append(event.pk)
        ids = [event.pk for event in batch]
        DomainEvent.objects.filter(pk__in=ids).update(relayed_at=now, attempts=F("attempts") + 1)
        if nobody:
            DomainEvent.objects.filter(pk__in=nobody).update(delivered_at=now)
        transaction.on_commit(lambda: _send_deliveries(tenant_id, sorted(wanted)))
        if len(batch) == limit:
            transaction.on_commit(lambda: request_relay(tenant_id))
    return len(batch)


def _send_deliveries(tenant_id: int, names: list[str]) -> None:
    from tenancy.tasks import event_deliver_task

    for name in names:
        event_deliver_task.apply_async(kwargs={"tenant_id": tenant_id, "subscriber": name})


# Delivering


def deliver_events(*, subscriber: str, limit: int = DELIVERY_BATCH) -> int:
    """Give `subscriber` the bound tenant's relayed events it has not handled, oldest first, at
    most `limit`, stopping before the first one not yet relayed (a relay still running, or a
    lost one the sweeper will redo), so no later event overtakes it. Records the subscriber on
    them in the same transaction. Returns how many it handled; queues itself again when there
    were more."""
    target = _subscribers.get(subscriber)
    if target is None:
        logger.error("events: no subscriber %s is registered; delivery skipped", subscriber)
        return 0
    tenant_id = current_tenant_id()
    with transaction.atomic():
        _lock_deliveries(target, tenant_id)
        pending = (
            DomainEvent.objects.filter(delivered_at__isnull=True, kind__in=sorted(target.kinds))
            .exclude(delivered_to__contains=[target.name])
            .order_by("pk")
        )
        ready = []
        for event_id, relayed_at in pending.values_list("pk", "relayed_at")[:limit]:
            if relayed_at is None:
                break
            ready.append(event_id)
        # Locked only now, and only these: a relay skips locked rows, so locking the unrelayed
        # rows behind them would hide those from it until this transaction ends.
        events = list(pending.select_for_update().filter(pk__in=ready))
        if not events:
            return 0
        target.handle(events)
        _mark_delivered(target, events)
        if len(ready) == limit:
            transaction.on_commit(lambda: _send_deliveries(tenant_id, [target.name]))
    return len(events)


def _lock_deliveries(target: Subscriber, tenant_id: int) -> None:
    """One delivery at a time per subscriber and tenant, held to the end of the transaction: a
    second delivery waits, then finds the events handled. This keeps the order of publication
    within a subscriber (and so per aggregate)."""
    key = zlib.crc32(f"events:{target.name}".encode()) - 2**31  # into int4's range
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [key, tenant_id])


def _mark_delivered(target: Subscriber, events: list[DomainEvent]) -> None:
    now = timezone.now()
    ids = [event.pk for event in events]
    appended = Func(
        F("delivered_to"),
        Value(target.name),
        function="array_append",
        output_field=ArrayField(models.CharField(max_length=100)),
    )
    DomainEvent.objects.filter(pk__in=ids).update(delivered_to=appended)
    for kind in {event.kind for event in events}:
        everyone = sorted(s.name for s in subscribers_of(kind))
        DomainEvent.objects.filter(pk__in=ids, kind=kind, delivered_to__contains=everyone).update(
            delivered_at=now
        )


def stale_event_tenants(*, now=None) -> list[int]:
    """Tenants with events undelivered `REDELIVER_AFTER` after they were written. Runs under
    `all_tenants()` (the sweeper)."""
    stale = (now or timezone.now()) - REDELIVER_AFTER
    return list(
        DomainEvent.objects.filter(delivered_at__isnull=True, created_at__lt=stale)
        .order_by()
        .values_list("tenant_id", flat=True)
        .distinct()
    )


def prune_delivered_events(*, now=None, limit: int = PRUNE_BATCH) -> int:
    """Delete up to `limit` events that every subscriber handled more than `RETENTION` ago, the
    oldest first; return how many. Undelivered events are never touched. Runs under
    `all_tenants()` (a fan-out job), in its own transaction on that connection."""
    cutoff = (now or timezone.now()) - RETENTION
    with transaction.atomic(using=UNSCOPED_ALIAS):
        ids = list(
            DomainEvent.objects.filter(delivered_at__lt=cutoff)
            .order_by("delivered_at")
            .values_list("pk", flat=True)[:limit]
        )
        deleted, _ = DomainEvent.objects.filter(pk__in=ids).delete()
    return deleted
