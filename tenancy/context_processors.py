from tenancy.permissions import capabilities_of, is_partner_person


def navigation(request) -> dict:
    """The tenant switcher, and the capabilities of the current membership for the page shell
    (`{% if "settings.edit" in capabilities %}`)."""
    membership = getattr(request, "membership", None)
    return {
        "memberships": getattr(request, "memberships", None) or [],
        "current_membership": membership,
        "in_portal": membership is not None and is_partner_person(membership),
        "capabilities": capabilities_of(membership.role) if membership else frozenset(),
    }
