from django.contrib import admin
from django.urls import include, path

from config.views import DashboardView
from incentives.urls import tenant_urlpatterns as incentive_pages
from partners.import_urls import tenant_urlpatterns as partner_import_pages
from partners.urls import tenant_urlpatterns as partner_pages
from tenancy.urls import tenant_urlpatterns as tenancy_pages

dashboard_pages = [path("", DashboardView.as_view(), name="dashboard")]
tenant_pages = (
    dashboard_pages + tenancy_pages + partner_pages + partner_import_pages + incentive_pages
)

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("api/v1/", include("config.api_urls")),
    path("t/<slug:tenant_slug>/", include(tenant_pages)),
    path("", include("tenancy.urls")),
]
