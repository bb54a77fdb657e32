"""State machines and the one way to move a row through one.

A service that changes a row's state does it inside its own transaction:

    with transaction.atomic():
        program = transition(
            Program, machine=PROGRAM_STATES, action="pause", actor=actor.user,
            seen=program.status, pk=program.pk,
        )
        enqueue_on_commit(...)  # follow-ups leave once the transaction commits

`transition()` locks the row (`SELECT … FOR NO KEY UPDATE`), checks the action against the
machine on the locked row, writes the new state and records the history event. Checking the
state before taking the lock lets two requests both pass the check; checked under the lock,
the second one sees what the first one did and gets `Conflict` (HTTP 409), never a 500.
`FOR NO KEY UPDATE` rather than `FOR UPDATE`: rows that merely reference the locked one (an
enrollment of a program, a history row) are still inserted without waiting for it.

Lock order. Two services that lock rows of the same kinds take them in this order, so that
neither can hold what the other waits for:

    1. a tenant-wide advisory lock (`serialize`), e.g. the tier ladder
    2. program                  (incentives.Program)
    3. enrollments of it        (incentives.Enrollment), by partner id
    4. partners                 (partners.Partner), by id
    5. invitation, partner import: each locked alone, nothing after it
    -  memberships: every active vendor admin by id, then the membership changed (alone)

Inserting a row takes a key-share lock on every row it references, so inserting an enrollment
counts as touching its program: a service that inserts enrollments locks the program first.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from django.db import IntegrityError, connection, models, transaction
from django.utils import timezone

from tenancy.audit import record_event
from tenancy.context import current_tenant_id
from tenancy.errors import Conflict
from tenancy.models import AuditEvent

M = TypeVar("M", bound=models.Model)

UNIQUE_VIOLATION = "23505"


@dataclass(frozen=True)
class Move:
    """An action allowed from `sources`; it leaves the state as it is when `target` is None."""

    sources: frozenset[str]
    target: str | None = None


@dataclass(frozen=True)
class StateMachine:
    """The states a model's `field` may take and the actions allowed from each, declared once.

    Services check every move here on the locked row; pages, the API and permissions ask
    `actions_from(state)` what may be offered, so no rule is written twice."""

    noun: str
    labels: Mapping[str, str]
    moves: Mapping[str, Move]
    field: str = "status"
    order: tuple[str, ...] = ()

    @classmethod
    def declare(
        cls,
        noun: str,
        choices: type[models.TextChoices],
        moves: Mapping[str, tuple[Iterable[str], str | None]],
        *,
        field: str = "status",
    ) -> StateMachine:
        """`moves` maps an action to (the states it is allowed from, the state it leads to or
        None when it keeps the state)."""
        table = {
            action: Move(frozenset(map(str, s)), t and str(t)) for action, (s, t) in moves.items()
        }
        unknown = {s for move in table.values() for s in move.sources} - set(choices.values)
        if unknown:
            raise ValueError(f"{noun}: unknown states {sorted(unknown)}")
        return cls(noun, dict(choices.choices), table, field, tuple(moves))

    def allows(self, action: str, state: str) -> bool:
        move = self.moves.get(action)
        return move is not None and state in move.sources

    def actions_from(self, state: str) -> list[str]:
        """The actions allowed from `state`, in the order they were declared."""
        return [action for action in self.order if state in self.moves[action].sources]

    def target(self, action: str, state: str) -> str:
        """The state `action` leads to from `state`."""
        return self.moves[action].target or state

    def label(self, state: str | None) -> str:
        return str(self.labels.get(state, state)).lower() if state else "gone"

    def check(
        self, action: str, state: str, *, seen: str | None = None, refusal: str | None = None
    ) -> None:
        """Raise `Conflict` unless `action` is allowed from `state`. When the caller saw the row
        in another state (`seen`), someone changed it first: code `concurrent_change`; else
        `invalid_transition`. `refusal` replaces the sentence; `{state}` in it is the state."""
        if action not in self.moves:
            raise ValueError(f"{self.noun}: unknown action {action!r}")
        if self.allows(action, state):
            return
        sources = sorted(self.moves[action].sources, key=list(self.labels).index)
        names = [self.label(s) for s in sources]
        allowed = " or ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)
        verb = action.replace("_", " ")
        if refusal:
            refusal = refusal.format(state=self.label(state))
        rule = f"only {_a(allowed)} {allowed} {self.noun} can {verb}"
        if seen is not None and seen != state:
            raise Conflict(
                refusal
                or f"Someone changed this {self.noun} first: it is {self.label(state)} now, and "
                f"{rule}.",
                code="concurrent_change",
            )
        raise Conflict(
            refusal or f"{rule[0].upper()}{rule[1:]}; this one is {self.label(state)}.",
            code="invalid_transition",
        )


def _a(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


def require_transaction(what: str = "a row lock") -> None:
    """Refuse to run outside a transaction: a lock taken in autocommit ends with its statement
    and protects nothing."""
    if not connection.in_atomic_block:
        raise RuntimeError(f"{what} needs the caller's transaction.atomic()")


def lock(model: type[M], **lookup: object) -> M | None:
    """The one row of `model` matching `lookup`, locked until the transaction ends, or None."""
    require_transaction()
    return model.objects.select_for_update(no_key=True).filter(**lookup).first()


def lock_for(
    model: type[M],
    *,
    machine: StateMachine,
    action: str,
    seen: str | None = None,
    refusal: str | None = None,
    **lookup: object,
) -> M:
    """Lock the row and check that `machine` allows `action` from its state as it is now
    (`StateMachine.check`). A row deleted meanwhile is a `Conflict` with code `gone`."""
    obj = lock(model, **lookup)
    if obj is None:
        raise Conflict(f"This {machine.noun} no longer exists.", code="gone")
    machine.check(action, getattr(obj, machine.field), seen=seen, refusal=refusal)
    return obj


def move(
    obj: M,
    *,
    machine: StateMachine,
    action: str,
    actor: models.Model | None,
    values: Mapping[str, object] | None = None,
    event: str | None = None,
    changes: Mapping[str, list] | None = None,
    note: str = "",
) -> M:
    """Write `action` on a row locked by `lock_for`: the new state, `values`, and a history event
    named `event` (default: the action) with the state change and `changes`."""
    require_transaction()
    before = getattr(obj, machine.field)
    after = machine.target(action, before)
    setattr(obj, machine.field, after)
    for name, value in (values or {}).items():
        setattr(obj, name, value)
    fields = [machine.field, *(values or {})]
    if any(f.name == "updated_at" for f in obj._meta.concrete_fields):
        fields.append("updated_at")
    obj.save(update_fields=fields)
    history = {machine.field: [before, after]} if after != before else {}
    record_event(
        obj, action=event or action, actor=actor, changes={**history, **(changes or {})}, note=note
    )
    return obj


def transition(
    model: type[M],
    *,
    machine: StateMachine,
    action: str,
    actor: models.Model | None,
    seen: str | None = None,
    values: Mapping[str, object] | None = None,
    event: str | None = None,
    note: str = "",
    **lookup: object,
) -> M:
    """Lock, check, write and record `action` on the row `lookup` names (see the module)."""
    obj = lock_for(model, machine=machine, action=action, seen=seen, **lookup)
    return move(
        obj, machine=machine, action=action, actor=actor, values=values, event=event, note=note
    )


def lock_many(model: type[M], **lookup: object) -> list[M]:
    """The rows of `model` matching `lookup`, locked in key order (one order for every caller,
    so two batches that share rows cannot deadlock) until the transaction ends."""
    require_transaction()
    return list(model.objects.select_for_update(no_key=True).filter(**lookup).order_by("pk"))


def move_many(
    objs: list[M],
    *,
    machine: StateMachine,
    action: str,
    actor: models.Model | None,
    values: Mapping[str, object] | None = None,
    notes: Mapping[int, str] | None = None,
) -> list[M]:
    """`move` for many rows locked by `lock_many`, in one UPDATE a target state (the rows are
    given the same `values`) and one INSERT of history:
    each row is checked against `machine` as `move` checks one (`Conflict` if any is not in a
    state `action` is allowed from; the caller picks the rows it means to move first)."""
    require_transaction()
    if not objs:
        return objs
    for obj in objs:
        machine.check(action, getattr(obj, machine.field))
    model = type(objs[0])
    events = []
    stamped = any(f.name == "updated_at" for f in model._meta.concrete_fields)
    now = timezone.now()
    by_target: dict[str, list[int]] = {}
    for obj in objs:
        before = getattr(obj, machine.field)
        after = machine.target(action, before)
        by_target.setdefault(after, []).append(obj.pk)
        setattr(obj, machine.field, after)
        for name, value in (values or {}).items():
            setattr(obj, name, value)
        if stamped:
            obj.updated_at = now
        events.append(
            AuditEvent(
                entity=model._meta.label_lower,
                entity_id=obj.pk,
                action=action,
                actor=actor,
                at=now,
                changes={machine.field: [before, after]} if after != before else {},
                note=(notes or {}).get(obj.pk, "")[:300],
            )
        )
    # Every row moved to one state gets the same values: one UPDATE a target state.
    extra = {"updated_at": now} if stamped else {}
    for after, pks in by_target.items():
        model.objects.filter(pk__in=pks).update(**{machine.field: after}, **(values or {}), **extra)
    AuditEvent.objects.bulk_create(events)
    return objs


def serialize(key: str) -> None:
    """Hold a transaction-level advisory lock on `key` for the bound tenant until the
    transaction ends: for writes that must see each other but share no row to lock (the next
    rank on the tier ladder). First in the lock order."""
    require_transaction("an advisory lock")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
            [f"{key}:{current_tenant_id()}"],
        )


def is_unique_violation(error: IntegrityError, constraint: str | None = None) -> bool:
    """Whether `error` is a unique key refusing a duplicate (of `constraint`, when named)."""
    cause = error.__cause__
    if getattr(cause, "pgcode", None) != UNIQUE_VIOLATION:
        return False
    return constraint is None or getattr(cause.diag, "constraint_name", None) == constraint


def create_unique(obj: M, *, field: str, message: str, constraint: str | None = None) -> M:
    """Insert `obj` in a savepoint. A concurrent insert that won the unique key `constraint`
    raises `Conflict` on `field` (code `duplicate`); the caller's transaction goes on."""
    try:
        with transaction.atomic():
            obj.save(force_insert=True)
    except IntegrityError as error:
        if not is_unique_violation(error, constraint):
            raise
        raise Conflict(message, field=field, code="duplicate") from None
    return obj
