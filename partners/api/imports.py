from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from partners import csv_io, selectors
from partners.models import PartnerImport
from tenancy.api.base import TenantViewSet


class PartnerImportSerializer(serializers.ModelSerializer):
    class Meta:
        model = PartnerImport
        fields = [
            "id",
            "file_name",
            "status",
            "total_rows",
            "processed_rows",
            "created_count",
            "updated_count",
            "unchanged_count",
            "error_count",
            "errors",
            "failure",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields


class PartnerImportUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="A CSV export of partners, UTF-8, at most 10 MB.")


class PartnerImportViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, TenantViewSet
):
    """CSV imports of partners and their progress. An upload is imported in the background;
    poll the import until its status is `done` or `failed`."""

    capability = "partners.import"
    serializer_class = PartnerImportSerializer
    lookup_url_kwarg = "import_id"
    parser_classes = [MultiPartParser]

    def list_queryset(self):
        return selectors.partner_import_list_for(self.membership)

    def get_object(self):
        return selectors.access_partner_import(self.membership, self.kwargs["import_id"])

    @extend_schema(
        request={"multipart/form-data": PartnerImportUploadSerializer},
        responses={201: PartnerImportSerializer},
    )
    def create(self, request, *args, **kwargs):
        upload = PartnerImportUploadSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        file = upload.validated_data["file"]
        job = csv_io.partner_import_start(
            actor=self.membership,
            file_name=file.name,
            data=file.read(csv_io.MAX_FILE_BYTES + 1),
        )
        return Response(self.get_serializer(job).data, status=status.HTTP_201_CREATED)
