"""Roles a membership can hold (DESIGN.md §1). What each role may do is declared in
`tenancy.permissions`."""

from django.db import models


class Role(models.TextChoices):
    VENDOR_ADMIN = "vendor_admin", "Vendor admin"
    CHANNEL_MANAGER = "channel_manager", "Channel manager"
    CLAIMS_REVIEWER = "claims_reviewer", "Claims reviewer"
    PARTNER_ADMIN = "partner_admin", "Partner admin"
    PARTNER_REP = "partner_rep", "Partner rep"
