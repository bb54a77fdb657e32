"""Receivers of allauth's signals."""

from __future__ import annotations

from allauth.account.internal.flows.login import record_authentication
from allauth.mfa.signals import authenticator_added
from django.dispatch import receiver


@receiver(authenticator_added, dispatch_uid="tenancy.second_factor_on_activation")
def record_second_factor_on_activation(sender, request, user, authenticator, **kwargs) -> None:
    """Activating an authenticator checks a code from it: the session has shown the second
    factor, as a sign-in with it would (`tenancy.second_factor`)."""
    if request is not None and getattr(request, "user", None) == user:
        record_authentication(
            request, user, "mfa", id=authenticator.pk, type=authenticator.type, activated=True
        )
