"""Which actions an actor may take on a partner company. Pages and the API offer exactly these,
and the services check the same rule before acting."""

from __future__ import annotations

from partners.models import Partner
from tenancy.errors import ApplicationError
from tenancy.models import Membership
from tenancy.permissions import allowed_actions, require

PARTNER_ACTIONS = ("edit",)


def check_partner_action(*, actor: Membership, partner: Partner | None, action: str) -> None:
    """Raise NotPermitted unless `actor` may take `action` on `partner` (None: a new one)."""
    if action not in PARTNER_ACTIONS:
        raise ApplicationError(f"Unknown action {action!r}.", field="action")
    require(actor, "partners.edit")


def partner_actions_for(actor: Membership, partner: Partner) -> frozenset[str]:
    """The subset of PARTNER_ACTIONS `actor` may take on `partner` now."""
    return allowed_actions(
        PARTNER_ACTIONS,
        lambda action: check_partner_action(actor=actor, partner=partner, action=action),
    )
