from __future__ import annotations

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from partners import selectors, services
from partners.api.filters import PartnerFilterSet
from partners.api.serializers import PartnerSerializer, TierReorderSerializer, TierSerializer
from tenancy.api.base import TenantViewSet


class PartnerViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    """Partner companies. Staff see all of them; partner people see their own. Channel managers
    and vendor admins add and change them."""

    capability = "tenant.view"
    write_capability = "partners.edit"
    serializer_class = PartnerSerializer
    lookup_url_kwarg = "partner_id"
    filter_backends = [DjangoFilterBackend]
    filterset_class = PartnerFilterSet

    def list_queryset(self):
        return selectors.partner_list_for(self.membership)

    def get_object(self):
        return selectors.access_partner(self.membership, self.kwargs["partner_id"])

    def list(self, request, *args, **kwargs):
        """The page as plain rows (`PartnerSerializer.rows`): what the serializer would write,
        without a model instance and a field object a value."""
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset.values(*PartnerSerializer.ROW_VALUES))
        return self.get_paginated_response(PartnerSerializer.rows(page, self.membership))

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
            actor=self.membership, partner=partner, **serializer.validated_data
        )
        return Response(self.get_serializer(partner).data)


class TierViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, TenantViewSet
):
    """The tenant's partner tier ladder, lowest first. Vendor admins add, rename, reorder and
    delete tiers; a tier with partners on it is not deleted."""

    capability = "tenant.view"
    write_capability = "tiers.edit"
    serializer_class = TierSerializer
    lookup_url_kwarg = "tier_id"
    filter_backends: list = []

    def list_queryset(self):
        return selectors.tier_list()

    def get_object(self):
        return selectors.access_tier(self.kwargs["tier_id"])

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        tier = services.tier_create(actor=self.membership, name=serializer.validated_data["name"])
        return Response(self.get_serializer(tier).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        tier = self.get_object()
        serializer = self.get_serializer(tier, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        name = serializer.validated_data.get("name", tier.name)
        tier = services.tier_update(actor=self.membership, tier=tier, name=name)
        return Response(self.get_serializer(tier).data)

    def perform_destroy(self, instance):
        services.tier_delete(actor=self.membership, tier=instance)

    @extend_schema(request=TierReorderSerializer, responses=TierSerializer(many=True))
    @action(detail=False, methods=["post"])
    def reorder(self, request, *args, **kwargs):
        """Sets the ladder's order: every tier id once, lowest first."""
        serializer = TierReorderSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        tiers = services.tier_reorder(
            actor=self.membership, tier_ids=serializer.validated_data["order"]
        )
        return Response(TierSerializer(tiers, many=True).data)
