from functools import lru_cache

from django.core.signals import setting_changed
from django.urls import reverse

from tenancy.permissions import capabilities_of, is_partner_person

# The page shell's links of a workspace, by URL name.
WORKSPACE_LINKS = (
    "dashboard",
    "partners",
    "programs",
    "members",
    "tenant_settings",
    "portal_home",
    "portal_programs",
    "portal_team",
)
ACCOUNT_LINKS = (
    "home",
    "account_email",
    "account_change_password",
    "mfa_index",
    "api_tokens",
    "admin:index",
    "account_logout",
    "account_login",
    "account_signup",
    "api-docs",
)


@lru_cache(maxsize=1024)
def workspace_links(tenant_slug: str) -> dict[str, str]:
    """The shell's links into a workspace, reversed once a process for each slug (reversing
    them on every page was a tenth of a list page's template time)."""
    return {name: reverse(name, args=[tenant_slug]) for name in WORKSPACE_LINKS}


@lru_cache(maxsize=1)
def account_links() -> dict[str, str]:
    return {name.replace(":", "_").replace("-", "_"): reverse(name) for name in ACCOUNT_LINKS}


def navigation(request) -> dict:
    """The tenant switcher, the shell's links, and the capabilities of the current membership
    for the page shell (`{% if "settings.edit" in capabilities %}`)."""
    membership = getattr(request, "membership", None)
    memberships = getattr(request, "memberships", None) or []
    return {
        "memberships": memberships,
        "current_membership": membership,
        "in_portal": membership is not None and is_partner_person(membership),
        "capabilities": capabilities_of(membership.role) if membership else frozenset(),
        "nav": workspace_links(membership.tenant.slug) if membership else {},
        "links": account_links(),
    }


def _forget_links(setting: str, **kwargs) -> None:
    """A test that swaps the URLconf or the script prefix gets fresh links."""
    if setting in ("ROOT_URLCONF", "FORCE_SCRIPT_NAME"):
        workspace_links.cache_clear()
        account_links.cache_clear()


setting_changed.connect(_forget_links, dispatch_uid="tenancy.shell-links")
