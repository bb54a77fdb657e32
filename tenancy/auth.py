"""The authentication backends: Django's (a password, the admin) and allauth's (the accounts
pages), each reading a signed-in session's person from the cache
(`tenancy.selectors.session_user`) instead of the database on every request."""

from __future__ import annotations

from allauth.account import auth_backends
from django.contrib.auth import backends

from tenancy.selectors import session_user


class _CachedUser:
    def get_user(self, user_id):
        user = session_user(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None


class ModelBackend(_CachedUser, backends.ModelBackend):
    pass


class AuthenticationBackend(_CachedUser, auth_backends.AuthenticationBackend):
    pass
