"""Pages of the partner CSV import and export."""

tenant_urlpatterns: list = []
