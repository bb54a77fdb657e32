"""Which actions an actor may take on an invitation or on a person's membership. Pages and the
API offer exactly these; the services apply the same rules (`manages`, then INVITATION_STATES on
the locked row for an invitation; `check_member_action` for a membership)."""

from __future__ import annotations

from collections.abc import Iterable

from tenancy.errors import ApplicationError, NotPermitted
from tenancy.models import Invitation, Membership
from tenancy.permissions import allowed_actions, manageable_roles, manages
from tenancy.roles import Role
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


MEMBER_ACTIONS = ("change_role", "remove")


def check_member_action(
    *, actor: Membership, member: Membership, action: str, sole_admin_id: int | None = None
) -> None:
    """Raise NotPermitted unless `actor` manages `member` (its role, and for partner people its
    company), and ApplicationError when `member` is the tenant's only vendor admin
    (`sole_admin_id`), whom no one may remove or give another role. The services check that
    last rule again under their locks."""
    if action not in MEMBER_ACTIONS:
        raise ApplicationError(f"Unknown action {action!r}.", field="action")
    if not manages(actor, role=member.role, partner_id=member.partner_id):
        raise NotPermitted()
    if member.pk == sole_admin_id:
        raise ApplicationError("A tenant keeps at least one vendor admin.")


def sole_vendor_admin_id() -> int | None:
    """The id of the bound tenant's only active vendor admin, or None when there are several."""
    admins = list(
        Membership.objects.filter(role=Role.VENDOR_ADMIN, is_active=True).values_list(
            "pk", flat=True
        )[:2]
    )
    return admins[0] if len(admins) == 1 else None


def with_member_actions(actor: Membership, members: Iterable[Membership]) -> list:
    """`members` as a list, each with `.actions` set for `actor` and `.role_choices`, the roles
    `actor` may give it (one query for the page, none per row)."""
    roles = manageable_roles(actor)
    rows = list(members)
    sole_admin_id = sole_vendor_admin_id() if rows and roles else None
    for member in rows:
        member.actions = allowed_actions(
            MEMBER_ACTIONS,
            lambda action, member=member: check_member_action(
                actor=actor, member=member, action=action, sole_admin_id=sole_admin_id
            ),
        )
        member.role_choices = [(v, label) for v, label in Role.choices if v in roles]
    return rows
