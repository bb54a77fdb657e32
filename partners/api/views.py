from __future__ import annotations

from rest_framework import mixins, status
from rest_framework.response import Response

from partners import selectors, services
from partners.api.serializers import PartnerSerializer, TierSerializer
from tenancy.api.base import TenantViewSet
from tenancy.roles import ALL_ROLES


class PartnerViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    """Partner companies. Staff see all of them; partner people see their own."""

    roles = ALL_ROLES
    write_roles = services.PARTNER_EDITORS
    serializer_class = PartnerSerializer
    lookup_url_kwarg = "partner_id"
    search_fields = ["name"]
    ordering_fields = ["name", "created_at"]

    def list_queryset(self):
        return selectors.partner_list_for(self.membership, search=self.request.GET.get("q", ""))

    def get_object(self):
        return selectors.access_partner(self.membership, self.kwargs["partner_id"])

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        partner = services.partner_create(actor=self.membership, **serializer.validated_data)
        return Response(self.get_serializer(partner).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        partner = self.get_object()
        serializer = self.get_serializer(partner, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        partner = services.partner_update(
            actor=self.membership,
            partner=partner,
            name=serializer.validated_data.get("name", partner.name),
        )
        return Response(self.get_serializer(partner).data)


class TierViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    """The tenant's partner tier ladder, lowest first."""

    roles = ALL_ROLES
    serializer_class = TierSerializer
    lookup_url_kwarg = "tier_id"

    def list_queryset(self):
        return selectors.tier_list()

    def get_object(self):
        return selectors.access_tier(self.kwargs["tier_id"])
