"""The project's URLs with one more in front: `/bench/bare/`, the baseline of `bench.lists`."""

from functools import cache

from django.urls import path
from rest_framework import generics, pagination, serializers
from rest_framework.permissions import IsAuthenticated

from bench.db import DEFAULT_TENANT
from config.urls import urlpatterns as project_urlpatterns
from partners.models import Partner
from tenancy.context import UNSCOPED_ALIAS
from tenancy.models import Tenant


class BarePartnerSerializer(serializers.ModelSerializer):
    class Meta:
        model = Partner
        fields = [
            "id",
            "name",
            "type",
            "tier",
            "region",
            "territory",
            "country",
            "stage",
            "segment",
            "status",
            "external_id",
            "created_at",
            "updated_at",
        ]


class BareCursorPagination(pagination.CursorPagination):
    ordering = "id"
    page_size = 50


class BareView(generics.ListAPIView):
    """A bare DRF list of 50 rows of the partners table: the project's token authentication, a
    ModelSerializer, cursor pagination (no COUNT), and no tenancy: no membership check, no bound
    tenant and no tenant policy (read on the unscoped connection, whose policy opens every row).
    What a list costs in plain DRF, before the product's own work."""

    permission_classes = [IsAuthenticated]
    serializer_class = BarePartnerSerializer
    pagination_class = BareCursorPagination

    def get_queryset(self):
        # The bench tenant's rows in key order: the primary key (tenant_id, id) serves the
        # ordering as it serves the product's lists (ordering by id alone has no index and
        # would sort the whole table, a baseline slower than any real list).
        return Partner._base_manager.using(UNSCOPED_ALIAS).filter(tenant_id=bench_tenant_id())


@cache
def bench_tenant_id() -> int:
    return Tenant.objects.using(UNSCOPED_ALIAS).get(slug=DEFAULT_TENANT).pk


urlpatterns = [path("bench/bare/", BareView.as_view(), name="bench-bare"), *project_urlpatterns]
