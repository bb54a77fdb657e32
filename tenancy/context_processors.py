from tenancy.roles import PARTNER_ROLES, Role


def navigation(request) -> dict:
    """The tenant switcher and the role of the current membership, for the page shell."""
    membership = getattr(request, "membership", None)
    return {
        "memberships": getattr(request, "memberships", None) or [],
        "current_membership": membership,
        "in_portal": membership is not None and membership.role in PARTNER_ROLES,
        "is_vendor_admin": membership is not None and membership.role == Role.VENDOR_ADMIN,
        "is_partner_admin": membership is not None and membership.role == Role.PARTNER_ADMIN,
    }
