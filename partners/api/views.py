from __future__ import annotations

import json

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, renderers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from partners import csv_format, selectors, services
from partners.api.filters import PartnerFilterSet
from partners.api.serializers import PartnerSerializer, TierReorderSerializer, TierSerializer
from tenancy.api.base import TenantViewSet
from tenancy.api.filters import FilterBackend
from tenancy.api.pagination import list_key
from tenancy.api.renderers import JSONRenderer
from tenancy.query import check_query


class CSVRenderer(renderers.BaseRenderer):
    """Lets a client that accepts only `text/csv` reach the export; the file itself is a
    streamed response. An error body (a refused filter) stays the usual JSON error object."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        return json.dumps(data).encode("utf-8")


class PartnerViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    """Partner companies. Staff see all of them; partner people see their own. Channel managers
    and vendor admins add and change them."""

    capability = "tenant.view"
    write_capability = "partners.edit"
    serializer_class = PartnerSerializer
    lookup_url_kwarg = "partner_id"
    filter_backends = [FilterBackend]
    filterset_class = PartnerFilterSet

    def capabilities_for(self, method: str) -> tuple[str, ...]:
        if self.action == "export":
            return ("partners.view",)  # vendor staff, as the dashboard's export
        return super().capabilities_for(method)

    def perform_content_negotiation(self, request, force=False):
        if self.action == "export" and not force:
            # The export has two renderers, so `format` is a parameter: an unreadable value is
            # a 400 naming it, as every parameter, rather than the negotiation's 404.
            check_query(request.query_params)
        return super().perform_content_negotiation(request, force=force)

    def list_queryset(self):
        return selectors.partner_list_for(self.membership)

    def get_object(self):
        return selectors.access_partner(self.membership, self.kwargs["partner_id"])

    @extend_schema(
        filters=True,
        # The response is CSV whatever the renderer; `format` would only pick the error body's.
        parameters=[OpenApiParameter("format", exclude=True)],
        responses={
            (200, "text/csv"): OpenApiResponse(
                OpenApiTypes.STR,
                description="The partners the filters select, every one, in the columns of "
                "the CSV import (a UTF-8 byte order mark first), streamed.",
            )
        },
    )
    @action(
        detail=False,
        methods=["get"],
        renderer_classes=[JSONRenderer, CSVRenderer],
        pagination_class=None,
    )
    def export(self, request, *args, **kwargs):
        """The partner list as CSV, filtered by the same parameters as the list (vendor staff);
        the file re-imports as a no-op."""
        partners = self.filter_queryset(self.list_queryset())
        response = StreamingHttpResponse(
            csv_format.partner_export_stream(self.membership.tenant_id, partners),
            content_type="text/csv; charset=utf-8",
        )
        name = csv_format.export_file_name(self.membership.tenant.slug)
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response

    def list(self, request, *args, **kwargs):
        """The page as plain rows (`PartnerSerializer.rows`): what the serializer would write,
        without a model instance and a field object a value; a search's page chosen on the
        search terms first (`selectors.partner_rows_for`)."""
        filterset = FilterBackend().validated_filterset(request, self.get_queryset(), self)
        filters = filterset.partner_filters() if filterset else selectors.PartnerFilters()
        rows = selectors.partner_rows_for(
            self.membership,
            filters,
            PartnerSerializer.ROW_VALUES,
            key=("api-partners", *list_key(request)),
        )
        page = self.paginate_queryset(rows)
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
