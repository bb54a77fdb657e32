"""Which actions an actor may take on an invitation. Pages and the API offer exactly these, and
the services check the same rule before acting."""

from __future__ import annotations

from collections.abc import Iterable

from tenancy.errors import ApplicationError, NotPermitted
from tenancy.models import Invitation, Membership
from tenancy.permissions import allowed_actions, manages

INVITATION_ACTIONS = ("resend", "revoke")
_NOT_PENDING = {
    "resend": "Only a pending invitation can be sent again.",
    "revoke": "This invitation is no longer pending.",
}


def check_invitation_action(*, actor: Membership, invitation: Invitation, action: str) -> None:
    """Raise NotPermitted unless `actor` manages the person invited, and ApplicationError
    unless the invitation is still pending."""
    if action not in INVITATION_ACTIONS:
        raise ApplicationError(f"Unknown action {action!r}.", field="action")
    if not manages(actor, role=invitation.role, partner_id=invitation.partner_id):
        raise NotPermitted()
    if invitation.status != Invitation.Status.PENDING:
        raise ApplicationError(_NOT_PENDING[action])


def invitation_actions_for(actor: Membership, invitation: Invitation) -> frozenset[str]:
    """The subset of INVITATION_ACTIONS `actor` may take on `invitation` now."""
    return allowed_actions(
        INVITATION_ACTIONS,
        lambda action: check_invitation_action(actor=actor, invitation=invitation, action=action),
    )


def with_invitation_actions(actor: Membership, invitations: Iterable[Invitation]) -> list:
    """`invitations` as a list, each with `.actions` set for `actor` (no query per row)."""
    rows = list(invitations)
    for invitation in rows:
        invitation.actions = invitation_actions_for(actor, invitation)
    return rows
