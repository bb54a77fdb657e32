"""Roles a membership can hold (DESIGN.md §1)."""

from django.db import models


class Role(models.TextChoices):
    VENDOR_ADMIN = "vendor_admin", "Vendor admin"
    CHANNEL_MANAGER = "channel_manager", "Channel manager"
    CLAIMS_REVIEWER = "claims_reviewer", "Claims reviewer"
    PARTNER_ADMIN = "partner_admin", "Partner admin"
    PARTNER_REP = "partner_rep", "Partner rep"


STAFF_ROLES = frozenset({Role.VENDOR_ADMIN, Role.CHANNEL_MANAGER, Role.CLAIMS_REVIEWER})
PARTNER_ROLES = frozenset({Role.PARTNER_ADMIN, Role.PARTNER_REP})
ALL_ROLES = STAFF_ROLES | PARTNER_ROLES
ADMINS = frozenset({Role.VENDOR_ADMIN})


def is_staff_role(role: str) -> bool:
    return role in STAFF_ROLES
