"""Writes of partner companies and the tier ladder."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import Max

from partners import selectors
from partners.actions import check_partner_action
from partners.models import Partner, PartnerStatus, PartnerType, Segment, Stage, Tier
from tenancy.audit import changes_between, record_event, snapshot
from tenancy.errors import ApplicationError, Conflict
from tenancy.events import publish
from tenancy.models import Membership
from tenancy.permissions import is_staff, require
from tenancy.text import clean_text
from tenancy.transitions import create_unique, lock, serialize

# Events others subscribe to (tenancy.events): a partner was added; some of its attributes
# changed (payload: the names of the changed fields). Both are published by the CSV import too.
PARTNER_CREATED = "partner.created"
PARTNER_CHANGED = "partner.changed"

PARTNER_FIELDS = [
    "name",
    "type",
    "tier",
    "region",
    "territory",
    "country",
    "stage",
    "segment",
    "channel_manager",
    "status",
    "external_id",
]
# Free text people type: normalised and refused by the one rule of `tenancy.text`.
TEXT_FIELDS = {
    "name": "The partner's name",
    "region": "The region",
    "territory": "The territory",
    "external_id": "The CRM id",
}
CHOICES = {
    "type": PartnerType.values,
    "stage": Stage.values,
    "segment": Segment.values,
    "status": PartnerStatus.values,
}


def clean_partner_fields(data: dict) -> dict:
    """Normalise and check partner attributes; raises ApplicationError naming the field."""
    cleaned = {}
    for key, value in data.items():
        if key not in PARTNER_FIELDS:
            raise ApplicationError(f"Unknown partner field {key!r}.", field=key)
        if key in TEXT_FIELDS:
            value = clean_text(value, field=key, label=TEXT_FIELDS[key])
        elif isinstance(value, str):
            value = value.strip()
        if key == "name" and not value:
            raise ApplicationError("Enter the partner's name.", field="name")
        if key in CHOICES and value not in CHOICES[key]:
            raise ApplicationError(
                f"Unknown {key} {value!r}; choose from {', '.join(CHOICES[key])}.", field=key
            )
        if key == "country" and value:
            value = value.upper()
            if len(value) != 2 or not value.isalpha():
                raise ApplicationError("Use a two-letter country code, e.g. DE.", field="country")
        if key == "tier" and value is not None and not isinstance(value, Tier):
            raise ApplicationError("Choose a tier of this workspace.", field="tier")
        is_manager = isinstance(value, Membership) and is_staff(value)
        if key == "channel_manager" and value is not None and not is_manager:
            raise ApplicationError(
                "The channel account manager is a vendor staff member.", field="channel_manager"
            )
        cleaned[key] = "" if value is None and key not in ("tier", "channel_manager") else value
    return cleaned


def _save(partner: Partner) -> None:
    try:
        with transaction.atomic():
            partner.save()
    except IntegrityError:
        raise ApplicationError(
            f"Another partner already has the CRM id {partner.external_id!r}.", field="external_id"
        ) from None


def partner_create(*, actor: Membership, **data) -> Partner:
    check_partner_action(actor=actor, partner=None, action="edit")
    data.setdefault("name", "")
    partner = Partner(**clean_partner_fields(data))
    with transaction.atomic():
        _save(partner)
        record_event(
            partner,
            action="created",
            actor=actor.user,
            changes=changes_between({}, snapshot(partner, PARTNER_FIELDS)),
        )
        publish(PARTNER_CREATED, aggregate=partner)
        selectors.forget_filter_values()
    return partner


def partner_update(*, actor: Membership, partner: Partner, **changes) -> Partner:
    check_partner_action(actor=actor, partner=partner, action="edit")
    cleaned = clean_partner_fields(changes)
    with transaction.atomic():
        partner = Partner.objects.select_for_update(no_key=True).get(pk=partner.pk)
        before = snapshot(partner, PARTNER_FIELDS)
        for key, value in cleaned.items():
            setattr(partner, key, value)
        diff = changes_between(before, snapshot(partner, PARTNER_FIELDS))
        if not diff:
            return partner
        _save(partner)
        record_event(partner, action="updated", actor=actor.user, changes=diff)
        publish(PARTNER_CHANGED, aggregate=partner, payload={"fields": sorted(diff)})
        if set(diff) & set(selectors.FILTER_FIELDS):
            selectors.forget_filter_values()
    return partner


TIER_LADDER = "partners.tier_ladder"


def _tier_name(name: str | None) -> str:
    name = clean_text(name, field="name", label="The tier's name")
    if not name:
        raise ApplicationError("Name the tier.", field="name")
    return name


def _check_tier_name_free(name: str, *, tier: Tier | None = None) -> None:
    taken = Tier.objects.filter(name__iexact=name)
    if tier is not None:
        taken = taken.exclude(pk=tier.pk)
    if taken.exists():
        raise Conflict(f"There is a tier called {name} already.", field="name", code="duplicate")


# Every write of the ladder first takes the tenant's ladder lock (`serialize`): the next rank
# and a name's freedom are read and written by one writer at a time, which a row lock cannot
# give when the row to lock does not exist yet. The unique keys stay as the last word.


def tier_create(*, actor: Membership, name: str) -> Tier:
    """A new rung at the top of the ladder. A name taken (ignoring case), also by a concurrent
    creation, is a `Conflict` on `name`."""
    require(actor, "tiers.edit")
    name = _tier_name(name)
    with transaction.atomic():
        serialize(TIER_LADDER)
        _check_tier_name_free(name)
        top = Tier.objects.aggregate(top=Max("rank"))["top"] or 0
        tier = create_unique(
            Tier(name=name, rank=top + 1),
            field="name",
            message=f"There is a tier called {name} already.",
        )
        record_event(tier, action="created", actor=actor.user, changes={"name": [None, name]})
    return tier


def tier_update(*, actor: Membership, tier: Tier, name: str) -> Tier:
    require(actor, "tiers.edit")
    name = _tier_name(name)
    with transaction.atomic():
        serialize(TIER_LADDER)
        _check_tier_name_free(name, tier=tier)
        tier = lock(Tier, pk=tier.pk)
        if tier is None:
            raise Conflict("This tier no longer exists.", code="gone")
        before, tier.name = tier.name, name
        tier.save(update_fields=["name"])
        record_event(tier, action="renamed", actor=actor.user, changes={"name": [before, name]})
    return tier


def tier_reorder(*, actor: Membership, tier_ids: list[int]) -> list[Tier]:
    """Set the ladder's order, lowest first; every tier must be named once. (The unique rank is
    checked at commit, so ranks may pass through each other here.)"""
    require(actor, "tiers.edit")
    with transaction.atomic():
        serialize(TIER_LADDER)
        tiers = {t.pk: t for t in Tier.objects.select_for_update(no_key=True).order_by("pk")}
        if sorted(map(int, tier_ids)) != sorted(tiers):
            raise ApplicationError("List every tier exactly once, lowest first.", field="order")
        for rank, tier_id in enumerate(map(int, tier_ids), start=1):
            tiers[tier_id].rank = rank
        Tier.objects.bulk_update(tiers.values(), ["rank"])
        selectors.forget_filter_menus(actor.tenant_id)  # a bulk update sends no signal
    return sorted(tiers.values(), key=lambda t: t.rank)


def tier_delete(*, actor: Membership, tier: Tier) -> None:
    require(actor, "tiers.edit")
    with transaction.atomic():
        serialize(TIER_LADDER)
        # A full row lock: it waits for a partner being put on this tier to commit (that insert
        # or update holds a key-share lock on the tier), so the check below sees it.
        tier = Tier.objects.select_for_update().filter(pk=tier.pk).first()
        if tier is None:
            raise Conflict("This tier no longer exists.", code="gone")
        if Partner.objects.filter(tier=tier).exists():
            raise ApplicationError(f"Partners are on {tier.name}; move them to another tier first.")
        record_event(tier, action="deleted", actor=actor.user, changes={"name": [tier.name, None]})
        tier.delete()
