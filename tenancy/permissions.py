"""Who may do what (DESIGN.md §9): every capability is declared here once, with the roles that
hold it, and nowhere else.

Pages, the portal and the API declare the capability a request needs (`capability`, and
`write_capability` as well for a change); services check the same names with `require`. Which
actions an actor may take on one object (a program, an enrollment, an invitation, a partner) is
answered by the `*_actions_for` functions of the app that owns the object, from these
capabilities and the object's state; pages show, and services allow, exactly those actions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Protocol

from tenancy.errors import ApplicationError, NotPermitted
from tenancy.roles import Role

STAFF_ROLES = frozenset({Role.VENDOR_ADMIN, Role.CHANNEL_MANAGER, Role.CLAIMS_REVIEWER})
PARTNER_ROLES = frozenset({Role.PARTNER_ADMIN, Role.PARTNER_REP})
ALL_ROLES = STAFF_ROLES | PARTNER_ROLES
ADMINS = frozenset({Role.VENDOR_ADMIN})
EDITORS = frozenset({Role.VENDOR_ADMIN, Role.CHANNEL_MANAGER})
PEOPLE_MANAGERS = frozenset({Role.VENDOR_ADMIN, Role.CHANNEL_MANAGER, Role.PARTNER_ADMIN})

CAPABILITIES: dict[str, frozenset[str]] = {
    # Every member: the tenant's settings and, through the API, what the selectors show them
    # (partner people see their own company's partner, programs and enrollments).
    "tenant.view": ALL_ROLES,
    "settings.edit": ADMINS,
    # The partner portal.
    "portal.view": PARTNER_ROLES,
    # People: the dashboard's people page; inviting, removing and withdrawing invitations of
    # the people one manages, and changing their roles (see MANAGED_ROLES).
    "people.view": STAFF_ROLES,
    "people.manage": PEOPLE_MANAGERS,
    # Partner companies, the tier ladder and the CSV import.
    "partners.view": STAFF_ROLES,
    "partners.edit": EDITORS,
    "partners.import": EDITORS,
    "tiers.edit": ADMINS,
    # Programs, their terms, required partners and invitations to enroll.
    "programs.view": STAFF_ROLES,
    "programs.edit": EDITORS,
    # Enrolling a partner on its behalf (a program run on paper): one at a time or by CSV, with
    # a reason recorded; the staff member accepts the current terms for the partner.
    "enrollments.enroll_on_behalf": EDITORS,
    # Enrolling, re-accepting, declining and withdrawing for the actor's own company.
    "enrollments.decide_for_partner": frozenset({Role.PARTNER_ADMIN}),
    # Claims: every member sees those within reach (staff: the tenant's; a partner admin: the
    # company's; a rep: their own); partner people make, submit and appeal them, a partner
    # admin for the whole company; staff who review decide the flagged ones.
    "claims.view": ALL_ROLES,
    "claims.submit": PARTNER_ROLES,
    "claims.for_partner": frozenset({Role.PARTNER_ADMIN}),
    "claims.review": STAFF_ROLES,
}

# Whose memberships and invitations each role manages. Partner people manage only people of
# their own company (see `manages`).
MANAGED_ROLES: dict[str, frozenset[str]] = {
    Role.VENDOR_ADMIN: ALL_ROLES,
    Role.CHANNEL_MANAGER: PARTNER_ROLES,
    Role.PARTNER_ADMIN: PARTNER_ROLES,
}


class Actor(Protocol):
    role: str
    partner_id: int | None


def can(actor: Actor | None, capability: str) -> bool:
    """Whether `actor` (a membership) holds `capability`. An unknown name is a KeyError, so a
    typo fails loudly instead of refusing everyone."""
    roles = CAPABILITIES[capability]
    return actor is not None and actor.role in roles


def require(actor: Actor, capability: str) -> None:
    """Raise NotPermitted unless `actor` holds `capability`."""
    if not can(actor, capability):
        raise NotPermitted()


def roles_with(*capabilities: str | None) -> frozenset[str]:
    """The roles that hold every one of `capabilities` (None adds no condition)."""
    roles = ALL_ROLES
    for capability in capabilities:
        if capability is not None:
            roles = roles & CAPABILITIES[capability]
    return roles


def capabilities_of(role: str) -> frozenset[str]:
    return frozenset(name for name, roles in CAPABILITIES.items() if role in roles)


def check_capability_declaration(cls: type) -> None:
    """Refuse a view that still declares role sets: who may do what lives in
    `tenancy.permissions`, and a `roles` attribute would otherwise be silently ignored."""
    for name in ("roles", "write_roles"):
        if any(name in vars(klass) for klass in cls.__mro__):
            raise TypeError(f"{cls.__name__}.{name}: declare `capability`/`write_capability`")


def is_partner_person(actor: Actor) -> bool:
    """Partner people see and act for their own company only."""
    return actor.role in PARTNER_ROLES


def is_staff(actor: Actor) -> bool:
    return actor.role in STAFF_ROLES


def manageable_roles(actor: Actor) -> frozenset[str]:
    """The roles of the people `actor` may invite, remove or change (within reach: see
    `manages`); empty for a role that manages nobody."""
    if not can(actor, "people.manage"):
        return frozenset()
    return MANAGED_ROLES.get(actor.role, frozenset())


def manages(actor: Actor, *, role: str, partner_id: int | None) -> bool:
    """Whether `actor` manages a person (or invitation) holding `role` for `partner_id`."""
    if role not in manageable_roles(actor):
        return False
    return not is_partner_person(actor) or partner_id == actor.partner_id


def allowed_actions(actions: Iterable[str], check: Callable[[str], None]) -> frozenset[str]:
    """The actions among `actions` that `check` lets through: `check(action)` raises
    ApplicationError with the reason an action is refused. The check asks the same
    capabilities and state machines the services apply, so what a page offers is what a service
    allows."""
    allowed = set()
    for action in actions:
        try:
            check(action)
        except ApplicationError:
            continue
        allowed.add(action)
    return frozenset(allowed)
