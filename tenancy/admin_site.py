"""The Django admin, for platform admins only: it reads every tenant's rows, through the one
explicit unscoped path (`all_tenants`, the unscoped role's own connection), view by view, once
the person is known to be a platform admin.

There is one login: the accounts flow (django-allauth), with its rate limits and its second
factor. `/admin/login/` only hands over to it, with `next` back to the admin. A platform admin
must have an authenticator, and the admin opens only to a session that signed in with it."""

from __future__ import annotations

import functools

from django.contrib import admin
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from tenancy.context import all_tenants
from tenancy.second_factor import has_authenticator, session_passed_second_factor


def is_platform_admin(user) -> bool:
    """`is_staff` marks a platform admin (a superuser without it is not let in, as in Django)."""
    return user.is_active and user.is_staff


class UpliftAdminSite(admin.AdminSite):
    site_header = "Uplift platform admin"
    site_title = "Uplift admin"
    index_title = "Platform"

    def has_permission(self, request: HttpRequest) -> bool:
        user = request.user
        return (
            is_platform_admin(user)
            and session_passed_second_factor(request)
            and has_authenticator(user)
        )

    def login(self, request: HttpRequest, extra_context=None) -> HttpResponse:
        """Send the caller where the next step of signing in to the admin is: the accounts
        login, setting up an authenticator, or re-authenticating with it."""
        next_url = request.GET.get(REDIRECT_FIELD_NAME, "")
        if not url_has_allowed_host_and_scheme(
            next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            next_url = ""
        next_url = next_url or reverse("admin:index", current_app=self.name)
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(next_url, reverse("account_login"))
        if not is_platform_admin(user):
            return render(
                request,
                "403.html",
                {"reason": "You are signed in, but this account is not a platform admin."},
                status=403,
            )
        if not has_authenticator(user):
            return HttpResponseRedirect(reverse("mfa_activate_totp"))
        if not session_passed_second_factor(request):
            return redirect_to_login(next_url, reverse("mfa_reauthenticate"))
        return HttpResponseRedirect(next_url)

    def admin_view(self, view, cacheable=False):
        inner = super().admin_view(view, cacheable)

        @functools.wraps(inner)
        def unscoped(request, *args, **kwargs):
            if not self.has_permission(request):
                return inner(request, *args, **kwargs)  # the login page, or the redirect to it
            with all_tenants(reason="platform admin"):
                response = inner(request, *args, **kwargs)
                if hasattr(response, "render") and not getattr(response, "is_rendered", True):
                    response.render()
                return response

        return unscoped
