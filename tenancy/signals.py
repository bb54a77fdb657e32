"""Receivers of allauth's signals, and the cache invalidation on changes of memberships and
tenants (see `selectors.memberships_of`).

Model signals rather than the services alone for the cache: a membership or tenant saved
anywhere (the admin, a shell, a data migration) must drop the cached copy too, or a removed
member would keep access until the cache expires."""

from __future__ import annotations

from allauth.account.internal.flows.login import record_authentication
from allauth.mfa.signals import authenticator_added
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from tenancy.models import Membership, Tenant
from tenancy.selectors import forget_all_memberships, forget_memberships


@receiver(authenticator_added, dispatch_uid="tenancy.second_factor_on_activation")
def record_second_factor_on_activation(sender, request, user, authenticator, **kwargs) -> None:
    """Activating an authenticator checks a code from it: the session has shown the second
    factor, as a sign-in with it would (`tenancy.second_factor`)."""
    if request is not None and getattr(request, "user", None) == user:
        record_authentication(
            request, user, "mfa", id=authenticator.pk, type=authenticator.type, activated=True
        )


def _membership_changed(sender, instance: Membership, **kwargs) -> None:
    forget_memberships([instance.user_id])


def _tenant_changed(sender, instance: Tenant, **kwargs) -> None:
    forget_all_memberships()


def connect() -> None:
    post_save.connect(_membership_changed, sender=Membership, dispatch_uid="memberships.saved")
    post_delete.connect(_membership_changed, sender=Membership, dispatch_uid="memberships.gone")
    post_save.connect(_tenant_changed, sender=Tenant, dispatch_uid="tenant.saved")
    post_delete.connect(_tenant_changed, sender=Tenant, dispatch_uid="tenant.gone")
