from __future__ import annotations

from rest_framework import mixins, serializers
from rest_framework.exceptions import NotFound

from partners.models import PartnerImport
from tenancy.api.base import TenantViewSet
from tenancy.roles import Role

IMPORTERS = frozenset({Role.VENDOR_ADMIN, Role.CHANNEL_MANAGER})


class PartnerImportSerializer(serializers.ModelSerializer):
    class Meta:
        model = PartnerImport
        fields = [
            "id", "file_name", "status", "total_rows", "processed_rows", "created_count",
            "updated_count", "unchanged_count", "error_count", "errors", "failure",
            "created_at", "started_at", "finished_at",
        ]
        read_only_fields = fields


class PartnerImportViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    """CSV imports of partners and their progress."""

    roles = IMPORTERS
    serializer_class = PartnerImportSerializer
    lookup_url_kwarg = "import_id"

    def list_queryset(self):
        return PartnerImport.objects.defer("content").order_by("-created_at", "-pk")

    def get_object(self):
        try:
            return self.list_queryset().get(pk=int(self.kwargs["import_id"]))
        except (PartnerImport.DoesNotExist, ValueError):
            raise NotFound() from None
