"""Writes of partner companies."""

from __future__ import annotations

from partners.models import Partner
from tenancy.errors import ApplicationError
from tenancy.models import Membership
from tenancy.roles import Role
from tenancy.services import require_role

PARTNER_EDITORS = frozenset({Role.VENDOR_ADMIN, Role.CHANNEL_MANAGER})


def partner_create(*, actor: Membership, name: str) -> Partner:
    require_role(actor, PARTNER_EDITORS)
    name = (name or "").strip()
    if not name:
        raise ApplicationError("Enter the partner's name.", field="name")
    return Partner.objects.create(name=name)


def partner_update(*, actor: Membership, partner: Partner, name: str) -> Partner:
    require_role(actor, PARTNER_EDITORS)
    name = (name or "").strip()
    if not name:
        raise ApplicationError("Enter the partner's name.", field="name")
    partner.name = name
    partner.save(update_fields=["name"])
    return partner
