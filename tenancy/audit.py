"""History: who changed what and when, on the tenant's records.

An own table rather than a history library: one row an action with the changed fields as
`{field: [old, new]}`, written by the service in the same transaction as the change, scoped and
row-level secured like every tenant-owned table (a per-model shadow table would need each shadow
model to be tenant-owned too)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal

from django.db import models

from tenancy.models import AuditEvent, Membership, User


def _plain(value: object) -> object:
    if isinstance(value, Membership):
        return str(value.user)  # a person, not "12 in 3 as channel_manager"
    if isinstance(value, models.Model):
        return str(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, list | tuple | set):
        return [_plain(v) for v in value]
    return value


def snapshot(obj: models.Model, fields: Iterable[str]) -> dict[str, object]:
    """The values of `fields` on `obj`, as they would be shown in history."""
    out = {}
    for name in fields:
        value = getattr(obj, name)
        display = getattr(obj, f"get_{name}_display", None)
        out[name] = display() if callable(display) else _plain(value)
    return out


def changes_between(before: dict[str, object], after: dict[str, object]) -> dict[str, list]:
    return {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}


# Every action a history row is written with, as the words a page shows for it.
ACTION_LABELS = {
    "created": "created",
    "updated": "changed",
    "renamed": "renamed",
    "deleted": "deleted",
    "imported_created": "created by import",
    "imported_updated": "changed by import",
    "activate": "activated",
    "pause": "paused",
    "close": "closed",
    "terms_published": "published terms",
    "required_partners": "set the required partners",
    "invited": "invited",
    "enrolled": "enrolled",
    "enrolled_on_behalf": "enrolled on the partner's behalf",
    "accepted": "accepted",
    "declined": "declined",
    "withdrawn": "withdrew",
    "resend": "resent the invitation",
    "revoked": "revoked the invitation",
}


def action_label(action: str) -> str:
    """A history row's action as words (an action not listed, with its underscores spaced)."""
    return ACTION_LABELS.get(action, action.replace("_", " "))


def record_event(
    obj: models.Model,
    *,
    action: str,
    actor: User | None,
    changes: dict | None = None,
    note: str = "",
) -> AuditEvent:
    return AuditEvent.objects.create(
        entity=obj._meta.label_lower,
        entity_id=obj.pk,
        action=action,
        actor=actor,
        changes=changes or {},
        note=note,
    )


def history_of_many(model: type[models.Model], ids, limit: int = 100):
    """The history of several rows of one model, newest first, in one query."""
    return (
        AuditEvent.objects.filter(entity=model._meta.label_lower, entity_id__in=list(ids))
        .select_related("actor")
        .order_by("-at", "-pk")[:limit]
    )


def history_of(obj: models.Model, limit: int = 100):
    return (
        AuditEvent.objects.filter(entity=obj._meta.label_lower, entity_id=obj.pk)
        .select_related("actor")
        .order_by("-at", "-pk")[:limit]
    )
