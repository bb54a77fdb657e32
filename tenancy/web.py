"""The base of every tenant page: `/t/<tenant_slug>/…`.

The tenant comes from the URL and is bound only after the membership check: a user who is not a
member gets the same 404 as for a tenant that does not exist. The view, and the rendering of its
template, run bound to the tenant (both walls) and in one transaction, which an error response
rolls back.
"""

from __future__ import annotations

from contextlib import nullcontext

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from tenancy.context import tenant_scope
from tenancy.errors import ApplicationError, Conflict
from tenancy.models import Membership
from tenancy.permissions import check_capability_declaration, roles_with
from tenancy.query import BadQuery, check_query
from tenancy.second_factor import SET_UP_MESSAGE, request_mfa_refusal
from tenancy.selectors import membership_for, memberships_of

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def bad_query_page(request: HttpRequest, error: BadQuery) -> HttpResponse:
    """The 400 page for a query-string parameter that cannot be read, naming it."""
    return render(request, "400.html", {"errors": error.errors}, status=400)


def request_unit(method: str):
    """The unit of work of an API request: one transaction for a change, so an error leaves
    nothing half-written; none for a read (GET, HEAD, OPTIONS), whose statements each carry the
    tenant on their own (`tenancy.db.base`) and which saves the BEGIN and COMMIT round trips.
    (A read that streams with a server-side cursor opens its own transaction.)"""
    return nullcontext() if method in SAFE_METHODS else transaction.atomic()


class TenantPageMixin:
    """Binds the tenant of the URL for the view. A member holding `capability` may read; a
    change (any other method) needs `write_capability` as well (`tenancy.permissions`)."""

    capability: str | None = None
    write_capability: str | None = None

    request: HttpRequest
    membership: Membership

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        check_capability_declaration(cls)

    def capabilities_for(self, method: str) -> tuple[str, ...]:
        if self.capability is None:
            raise ImproperlyConfigured(f"{type(self).__name__} declares no capability.")
        if method in SAFE_METHODS or self.write_capability is None:
            return (self.capability,)
        return (self.capability, self.write_capability)

    def allowed_roles(self, method: str) -> frozenset[str]:
        return roles_with(*self.capabilities_for(method))

    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        memberships = memberships_of(request.user)
        membership = membership_for(memberships, kwargs["tenant_slug"])
        request.memberships = memberships
        request.membership = membership
        request.tenant = membership.tenant
        request.tenant_id = membership.tenant_id
        self.membership = membership
        if membership.role not in self.allowed_roles(request.method):
            raise PermissionDenied("Your role does not allow this page.")
        refusal = request_mfa_refusal(request, membership)
        if refusal == SET_UP_MESSAGE:
            return redirect("mfa_activate_totp")
        if refusal is not None:
            return render(request, "403.html", {"reason": refusal}, status=403)
        # One transaction even for a read: forms iterate their choices with server-side cursors.
        with tenant_scope(membership.tenant), transaction.atomic():
            try:
                check_query(request.GET)
                response = super().dispatch(request, *args, **kwargs)
                if hasattr(response, "render") and not getattr(response, "is_rendered", True):
                    response.render()
            except BadQuery as error:
                response = bad_query_page(request, error)
            if response.status_code >= 400:
                transaction.set_rollback(True)
        return response

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["membership"] = self.membership
        context["tenant"] = self.membership.tenant
        return context


def refused_form_status(error: ApplicationError) -> int:
    """The status of a form shown again with a service's refusal: 409 when the record changed
    first or exists already (`Conflict`), else 200."""
    return 409 if isinstance(error, Conflict) else 200


def query_without_page(params) -> str:
    """The query string less `page`: what a list's page links carry, so they keep the filters."""
    kept = params.copy()
    kept.pop("page", None)
    return kept.urlencode()
