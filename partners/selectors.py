"""Reads of partner companies."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from partners.models import Partner
from tenancy.models import Membership
from tenancy.roles import PARTNER_ROLES


def partner_list_for(actor: Membership, *, search: str = "") -> QuerySet[Partner]:
    """Partners `actor` may see: all of the tenant's for staff, their own for partner people."""
    queryset = Partner.objects.all()
    if actor.role in PARTNER_ROLES:
        queryset = queryset.filter(pk=actor.partner_id)
    if search:
        queryset = queryset.filter(name__icontains=search)
    return queryset.order_by("name", "pk")


def access_partner(actor: Membership, partner_id: object) -> Partner:
    try:
        return partner_list_for(actor).get(pk=int(partner_id))
    except (Partner.DoesNotExist, ValueError, TypeError):
        raise Http404("No such partner.") from None
