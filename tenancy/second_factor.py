"""The second factor (allauth.mfa's TOTP): who has an authenticator, whether a session signed in
with it, and the rule a tenant sets for its staff (`Tenant.require_staff_mfa`).

allauth records each authentication step of a session (password, then "mfa" once the code was
checked, or on re-authentication); a session opened with the password alone has no "mfa" step.
Activating an authenticator checks a code too, so it counts as one (see `tenancy.signals`).
"""

from __future__ import annotations

from allauth.account.authentication import get_authentication_records
from django.http import HttpRequest

from tenancy.models import ApiToken, Membership, User
from tenancy.permissions import is_staff

SET_UP_MESSAGE = (
    "This workspace requires staff to use an authenticator app. Set one up under "
    "Two-factor authentication in your account menu (/accounts/2fa/), then sign in with it."
)
SIGN_IN_MESSAGE = (
    "This workspace requires staff to use an authenticator app: sign out and sign in again "
    "with your authenticator code."
)


def has_authenticator(user: User | int) -> bool:
    from allauth.mfa.models import Authenticator

    user_id = getattr(user, "pk", user)
    return Authenticator.objects.filter(user_id=user_id, type=Authenticator.Type.TOTP).exists()


def session_passed_second_factor(request: HttpRequest) -> bool:
    """Whether this session's sign-in (or a re-authentication since) checked an authenticator
    code."""
    session = getattr(request, "session", None)
    if session is None:
        return False
    records = get_authentication_records(request, request.user)
    return any(record.get("method") == "mfa" for record in records)


def staff_mfa_required(membership: Membership) -> bool:
    """Whether `membership`'s tenant holds its role to the authenticator rule."""
    return membership.tenant.require_staff_mfa and is_staff(membership)


def staff_mfa_refusal(
    membership: Membership, *, session: bool, second_factor: bool = False
) -> str | None:
    """Why `membership` may not act in its tenant under the staff authenticator rule, or None.
    A person without an authenticator is refused everywhere; a session (`session=True`) must
    also have signed in with it (`second_factor`). A token is minted by such a session."""
    if not staff_mfa_required(membership):
        return None
    if not has_authenticator(membership.user_id):
        return SET_UP_MESSAGE
    if session and not second_factor:
        return SIGN_IN_MESSAGE
    return None


def request_mfa_refusal(request: HttpRequest, membership: Membership) -> str | None:
    """`staff_mfa_refusal` for a request: by session, or by API token (`request.auth`)."""
    by_token = isinstance(getattr(request, "auth", None), ApiToken)
    if not staff_mfa_required(membership):
        return None
    return staff_mfa_refusal(
        membership,
        session=not by_token,
        second_factor=not by_token and session_passed_second_factor(request),
    )
