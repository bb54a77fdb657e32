"""Which actions an actor may take on an invitation. Pages and the API offer exactly these; the
services apply the same rule (`manages`, then INVITATION_STATES on the locked row)."""

from __future__ import annotations

from collections.abc import Iterable

from tenancy.errors import ApplicationError, NotPermitted
from tenancy.models import Invitation, Membership
from tenancy.permissions import allowed_actions, manages
from tenancy.states import INVITATION_STATES

INVITATION_ACTIONS = ("resend", "revoke")


def check_invitation_action(*, actor: Membership, invitation: Invitation, action: str) -> None:
    """Raise NotPermitted unless `actor` manages the person invited, and Conflict unless
    INVITATION_STATES allows `action` from the invitation's status (the services check the
    status again on the locked row)."""
    if action not in INVITATION_ACTIONS:
        raise ApplicationError(f"Unknown action {action!r}.", field="action")
    if not manages(actor, role=invitation.role, partner_id=invitation.partner_id):
        raise NotPermitted()
    INVITATION_STATES.check(action, invitation.status)


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
