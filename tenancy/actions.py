"""Which actions an actor may take on an invitation or on a person's membership. Pages and the
API offer exactly these; the services apply the same rules (`manages`, then INVITATION_STATES on
the locked row for an invitation; `check_member_action` for a membership)."""

from __future__ import annotations

from collections.abc import Iterable

from tenancy.errors import ApplicationError, NotPermitted
from tenancy.expressions import CappedCount
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
    admins = list(_active_vendor_admins().values_list("pk", flat=True)[:2])
    return admins[0] if len(admins) == 1 else None


def _active_vendor_admins():
    return Membership.objects.filter(role=Role.VENDOR_ADMIN, is_active=True)


def vendor_admins_up_to_two() -> CappedCount:
    """The number of the bound tenant's active vendor admins, counted up to 2, as an expression:
    a page puts it into the statement that reads its rows, instead of asking
    `sole_vendor_admin_id` in a statement of its own (see `with_member_actions`)."""
    return CappedCount(_active_vendor_admins().values("pk"), cap=2)


def with_member_actions(
    actor: Membership, members: Iterable, *, vendor_admins: int | None = None
) -> list:
    """`members` as a list, each with `.actions` set for `actor` and `.role_choices`, the roles
    `actor` may give it (one query for the page, none per row). A member is anything with the
    membership's `pk`, `role` and `partner_id`: a model instance or a page's light row.

    `vendor_admins`, when given, is the tenant's number of active vendor admins counted up to 2
    (`vendor_admins_up_to_two`, read with the rows; needed only when `actor` manages vendor
    admins): the members must then be active members of the bound tenant, so with one vendor
    admin any vendor admin among them is that one, and no query is made."""
    roles = manageable_roles(actor)
    rows = list(members)
    role_choices = [(v, label) for v, label in Role.choices if v in roles]
    sole_admin_id = None
    # Only a manager of vendor admins can meet the sole-admin rule: for anyone else a vendor
    # admin is out of reach already (`manages`), and no other member can be the sole admin.
    if rows and Role.VENDOR_ADMIN in roles:
        if vendor_admins is None:
            sole_admin_id = sole_vendor_admin_id()
        elif vendor_admins == 1:
            sole_admin_id = next((m.pk for m in rows if m.role == Role.VENDOR_ADMIN), None)
    # The actions depend on the member's role and company and on whether it is the sole admin.
    actions_by_kind: dict[tuple, frozenset[str]] = {}
    for member in rows:
        kind = (member.role, member.partner_id, member.pk == sole_admin_id)
        actions = actions_by_kind.get(kind)
        if actions is None:
            actions = actions_by_kind[kind] = allowed_actions(
                MEMBER_ACTIONS,
                lambda action, member=member: check_member_action(
                    actor=actor, member=member, action=action, sole_admin_id=sole_admin_id
                ),
            )
        member.actions = actions
        member.role_choices = role_choices
    return rows
