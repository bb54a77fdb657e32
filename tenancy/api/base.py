"""The base of every tenant API view: `/api/v1/t/<tenant_slug>/…`.

Authentication first, then the membership check (404 for a tenant the caller is not a member of,
the same as for one that does not exist), then the tenant is bound for both walls for the rest of
the request and, for a change, one transaction opened (an error response rolls it back; a read
runs without one, `tenancy.web.request_unit`), then permissions
per HTTP method. Subclasses declare `capability` and `write_capability`; they never define
`get_queryset` without going through a selector.
"""

from __future__ import annotations

from contextlib import ExitStack

from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from rest_framework import permissions, viewsets
from rest_framework.exceptions import NotAuthenticated
from rest_framework.views import APIView

from tenancy.api.authentication import check_api_access
from tenancy.api.throttling import FixedWindowThrottle, count_requests
from tenancy.context import tenant_scope
from tenancy.models import Membership
from tenancy.permissions import can, check_capability_declaration, roles_with
from tenancy.query import check_query
from tenancy.selectors import membership_for, memberships_of
from tenancy.web import request_unit


class HasTenantRole(permissions.BasePermission):
    message = "Your role does not allow this."

    def has_permission(self, request, view) -> bool:
        membership = getattr(request, "membership", None)
        return membership is not None and all(
            can(membership, capability) for capability in view.capabilities_for(request.method)
        )


class TenantAPIMixin:
    """A member holding `capability` may read; a change (any other method) needs
    `write_capability` as well (`tenancy.permissions`)."""

    capability: str | None = None
    write_capability: str | None = None
    permission_classes = [permissions.IsAuthenticated, HasTenantRole]

    membership: Membership

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        check_capability_declaration(cls)

    def capabilities_for(self, method: str) -> tuple[str, ...]:
        if self.capability is None:
            raise ImproperlyConfigured(f"{type(self).__name__} declares no capability.")
        if method in permissions.SAFE_METHODS or self.write_capability is None:
            return (self.capability,)
        return (self.capability, self.write_capability)

    def allowed_roles(self, method: str) -> frozenset[str]:
        """The roles that hold what `method` needs (the isolation sweep asks)."""
        return roles_with(*self.capabilities_for(method))

    def dispatch(self, request, *args, **kwargs):
        with ExitStack() as stack:
            self._scope_stack = stack
            self._scoped = False
            self._unit_open = False
            response = super().dispatch(request, *args, **kwargs)
            if self._scoped and response.status_code >= 400 and self._unit_open:
                transaction.set_rollback(True)  # an error response leaves nothing half-written
            return response

    def initial(self, request, *args, **kwargs):
        self.format_kwarg = self.get_format_suffix(**kwargs)
        negotiated = self.perform_content_negotiation(request)
        request.accepted_renderer, request.accepted_media_type = negotiated
        request.version, request.versioning_scheme = self.determine_version(
            request, *args, **kwargs
        )
        self.perform_authentication(request)
        if not request.user or not request.user.is_authenticated:
            raise NotAuthenticated()
        membership = membership_for(memberships_of(request.user), kwargs["tenant_slug"])
        check_api_access(request, membership)  # the token's tenant and scope, staff MFA
        request._request.membership = membership
        request._request.tenant_id = membership.tenant_id
        self.membership = membership
        self._scope_stack.enter_context(tenant_scope(membership.tenant))
        self._scope_stack.enter_context(request_unit(request.method))
        self._unit_open = request.method not in permissions.SAFE_METHODS
        self._scoped = True
        self.check_permissions(request)
        self.check_throttles(request)
        check_query(request.query_params)

    def check_throttles(self, request):
        """DRF's check, with every window counted in one Redis round trip."""
        throttles = self.get_throttles()
        windowed = [t for t in throttles if isinstance(t, FixedWindowThrottle)]
        waits = count_requests(windowed, request, self)
        for throttle in throttles:
            if throttle not in windowed and not throttle.allow_request(request, self):
                waits.append(throttle.wait())
        waits = [wait for wait in waits if wait is not None]
        if waits:
            self.throttled(request, max(waits))

    def get_serializer_context(self):
        context = super().get_serializer_context()
        context["membership"] = getattr(self, "membership", None)
        return context


class TenantAPIView(TenantAPIMixin, APIView):
    pass


class TenantViewSet(TenantAPIMixin, viewsets.GenericViewSet):
    """Subclasses set `lookup_url_kwarg` to `<entity>_id` (the isolation sweep keys on it),
    implement `list_queryset()` through a selector and `get_object()` through an `access_*`
    function; `get_queryset` and a class-level `queryset` are not theirs to define."""

    lookup_value_converter = "int"

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "get_queryset" in vars(cls) or vars(cls).get("queryset") is not None:
            raise TypeError(f"{cls.__name__}: implement list_queryset(), not get_queryset/queryset")

    def list_queryset(self):
        raise NotImplementedError

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no request, no tenant
            return self.get_serializer_class().Meta.model._base_manager.none()
        return self.list_queryset()
