"""`Authorization: Token <key>` with personal API tokens stored as hashes.

A token names its tenant: `check_api_access`, called by the tenant API base once the membership
is known, answers a token used on another tenant's URL with the 404 a non-member gets, refuses a
read-only token any change, and holds the tenant's staff authenticator rule for sessions and
tokens alike."""

from __future__ import annotations

from django.http import Http404
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions

from tenancy.models import ApiToken, Membership, hash_secret
from tenancy.second_factor import request_mfa_refusal
from tenancy.selectors import live_token, remember_token
from tenancy.services import api_token_used

# One write a minute at most: a token used in a loop does not rewrite its row each call.
LAST_USED_RESOLUTION_SECONDS = 60


class ApiTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Token"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Invalid token header: expected 'Token <key>'.")
        key = header[1].decode(errors="replace")
        now = timezone.now()
        token, read_now = live_token(hash_secret(key))
        if token is not None and read_now:
            # The last use is written when the token is read from the database: at most once a
            # cache lifetime, and at most once a minute.
            api_token_used(token=token, now=now, within_seconds=LAST_USED_RESOLUTION_SECONDS)
            remember_token(token)
        if token is None or token.tenant_id is None or not token.user.is_active:
            raise exceptions.AuthenticationFailed("Invalid or revoked token.")
        if token.is_expired(now):
            raise exceptions.AuthenticationFailed(
                f"This token expired on {token.expires_at:%Y-%m-%d %H:%M} UTC; create a new one "
                "under Account → API tokens."
            )
        return token.user, token

    def authenticate_header(self, request) -> str:
        return self.keyword


def request_token(request) -> ApiToken | None:
    """The token the request authenticated with, or None (a session)."""
    auth = getattr(request, "auth", None)
    return auth if isinstance(auth, ApiToken) else None


def check_api_access(request, membership: Membership) -> None:
    """What the caller's credential allows in `membership`'s tenant, beyond the role."""
    token = request_token(request)
    if token is not None:
        if token.tenant_id != membership.tenant_id:
            raise Http404("No such tenant.")
        if token.read_only and request.method not in permissions.SAFE_METHODS:
            raise exceptions.PermissionDenied("This token is read-only: it cannot change anything.")
    refusal = request_mfa_refusal(request, membership)
    if refusal is not None:
        raise exceptions.PermissionDenied(refusal)


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "tenancy.api.authentication.ApiTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": (
                "`Token <key>`; create keys under Account → API tokens. A token acts in the one "
                "tenant it was made for, may be read-only and may expire."
            ),
        }
