"""Reads of claims: who sees which (staff: the tenant's; a partner admin: the company's; a
rep: their own), and a claim's trace."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from incentives.claims.models import Claim, ClaimCheck, ClaimSerial
from tenancy.models import Membership
from tenancy.permissions import can, is_partner_person


def claim_list_for(actor: Membership) -> QuerySet[Claim]:
    claims = Claim.objects.all()
    if is_partner_person(actor):
        claims = claims.filter(partner_id=actor.partner_id)
        if not can(actor, "claims.for_partner"):
            claims = claims.filter(rep_id=actor.pk)
    return claims.order_by("-created_at", "-pk")


def access_claim(actor: Membership, claim_id: object) -> Claim:
    try:
        return claim_list_for(actor).get(pk=int(claim_id))
    except (Claim.DoesNotExist, ValueError, TypeError, OverflowError):
        raise Http404("No such claim.") from None


def claim_trace(claim: Claim) -> list[ClaimCheck]:
    """What each rule said when the claim was last validated, in rule order."""
    return list(ClaimCheck.objects.filter(claim=claim).order_by("checked_at", "position"))


def claim_serials(claim: Claim) -> list[str]:
    return list(
        ClaimSerial.objects.filter(claim=claim).order_by("pk").values_list("serial", flat=True)
    )
