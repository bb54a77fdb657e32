from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from tenancy import selectors, services
from tenancy.api.authentication import request_token
from tenancy.api.base import TenantAPIView, TenantViewSet
from tenancy.api.pagination import CompiledRows, list_key
from tenancy.api.serializers import (
    InvitationSerializer,
    MemberSerializer,
    MeSerializer,
    TenantSerializer,
)


class MeApi(APIView):
    """The caller and the tenants they belong to."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses=MeSerializer)
    def get(self, request):
        memberships = selectors.memberships_of(request.user)
        token = request_token(request)
        if token is not None:  # a token acts in its own tenant only
            memberships = [m for m in memberships if m.tenant_id == token.tenant_id]
        memberships = selectors.with_partner_names(memberships)
        data = {"user": request.user, "memberships": memberships}
        return Response(MeSerializer(data).data)


class TenantDetailApi(TenantAPIView):
    """The tenant's settings: every member reads them, vendor admins change them."""

    capability = "tenant.view"
    write_capability = "settings.edit"
    serializer_class = TenantSerializer

    @extend_schema(responses=TenantSerializer)
    def get(self, request, tenant_slug):
        return Response(TenantSerializer(self.membership.tenant).data)

    @extend_schema(request=TenantSerializer, responses=TenantSerializer)
    def patch(self, request, tenant_slug):
        serializer = TenantSerializer(self.membership.tenant, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        tenant = services.tenant_update(actor=self.membership, **serializer.validated_data)
        return Response(TenantSerializer(tenant).data)


class MemberViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, TenantViewSet
):
    """People of the tenant. Partner admins see and manage their own partner's people only."""

    capability = "people.manage"
    serializer_class = MemberSerializer
    lookup_url_kwarg = "member_id"
    filterset_fields = ["role", "partner"]
    ordering_fields = ["created_at", "user__email"]

    def list_queryset(self):
        return selectors.member_list_for(self.membership)

    def get_object(self):
        return selectors.access_membership(self.membership, self.kwargs["member_id"])

    def list(self, request, *args, **kwargs):
        """The page as plain rows (`MemberSerializer.rows`), equal to the serializer's; the
        statement compiled once a process for who asks and the parameters (`CompiledRows`)."""
        queryset = self.filter_queryset(self.get_queryset())  # a 400 for a bad parameter first
        rows = CompiledRows(
            ("api-members", *list_key(request)),
            lambda: queryset.values(*MemberSerializer.ROW_VALUES),
        )
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(MemberSerializer.rows(page))

    def partial_update(self, request, *args, **kwargs):
        member = self.get_object()
        serializer = self.get_serializer(member, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        member = services.membership_update(
            actor=self.membership,
            membership=member,
            role=serializer.validated_data.get("role", member.role),
            partner=serializer.validated_data.get("partner"),
        )
        return Response(self.get_serializer(member).data)

    def perform_destroy(self, instance):
        services.membership_deactivate(actor=self.membership, membership=instance)


class InvitationViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, TenantViewSet
):
    """Invitations to join the tenant. `DELETE` revokes; `resend` mails a fresh link."""

    capability = "people.manage"
    serializer_class = InvitationSerializer
    lookup_url_kwarg = "invitation_id"
    filterset_fields = ["status", "role"]

    def list_queryset(self):
        return selectors.invitation_list_for(self.membership, status=None)

    def get_object(self):
        return selectors.access_invitation(self.membership, self.kwargs["invitation_id"])

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        invitation = services.invitation_create(actor=self.membership, **serializer.validated_data)
        return Response(self.get_serializer(invitation).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: InvitationSerializer})
    def destroy(self, request, *args, **kwargs):
        invitation = services.invitation_revoke(actor=self.membership, invitation=self.get_object())
        return Response(self.get_serializer(invitation).data)

    @extend_schema(request=None, responses=InvitationSerializer)
    @action(detail=True, methods=["post"])
    def resend(self, request, *args, **kwargs):
        invitation = services.invitation_resend(actor=self.membership, invitation=self.get_object())
        return Response(self.get_serializer(invitation).data)
