"""Pages of the partner CSV import and export."""

from django.urls import path

from partners import import_views

tenant_urlpatterns = [
    path("partners/import/", import_views.PartnerImportView.as_view(), name="partner_import"),
    path(
        "partners/import/template.csv",
        import_views.PartnerImportTemplateView.as_view(),
        name="partner_import_template",
    ),
    path(
        "partners/imports/<int:import_id>/",
        import_views.PartnerImportDetailView.as_view(),
        name="partner_import_detail",
    ),
    path("partners/export.csv", import_views.PartnerExportView.as_view(), name="partner_export"),
]
