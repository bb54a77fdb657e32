"""Receivers of allauth's signals, and the cache invalidation on changes of memberships,
tenants, API tokens and users (see `selectors.memberships_of` and `selectors.live_token`).

Model signals rather than the services alone for the cache: a membership, tenant, token or
user saved anywhere (the admin, a shell, a data migration) must drop the cached copy too, or a
removed member or a revoked token would keep access until the cache expires."""

from __future__ import annotations

from allauth.account.internal.flows.login import record_authentication
from allauth.mfa.signals import authenticator_added
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from tenancy.models import ApiToken, Membership, Tenant, User
from tenancy.selectors import (
    forget_all_memberships,
    forget_api_tokens,
    forget_api_tokens_of,
    forget_memberships,
    forget_session_user,
)


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


def _token_changed(sender, instance: ApiToken, **kwargs) -> None:
    forget_api_tokens([instance.key_hash])


def _user_changed(sender, instance: User, **kwargs) -> None:
    """A password change (which revokes the tokens after the save), a deactivation or a new
    name: the cached tokens carry the user, and signed-in sessions read the cached person."""
    forget_api_tokens_of(instance.pk)
    forget_session_user(instance.pk)


def _user_gone(sender, instance: User, **kwargs) -> None:
    forget_session_user(instance.pk)


def connect() -> None:
    post_save.connect(_membership_changed, sender=Membership, dispatch_uid="memberships.saved")
    post_delete.connect(_membership_changed, sender=Membership, dispatch_uid="memberships.gone")
    post_save.connect(_tenant_changed, sender=Tenant, dispatch_uid="tenant.saved")
    post_delete.connect(_tenant_changed, sender=Tenant, dispatch_uid="tenant.gone")
    post_save.connect(_token_changed, sender=ApiToken, dispatch_uid="api-token.saved")
    post_delete.connect(_token_changed, sender=ApiToken, dispatch_uid="api-token.gone")
    post_save.connect(_user_changed, sender=User, dispatch_uid="user.saved")
    post_delete.connect(_user_gone, sender=User, dispatch_uid="user.gone")
