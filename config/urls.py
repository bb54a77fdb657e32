from django.contrib import admin
from django.urls import include, path

from partners.urls import tenant_urlpatterns as partner_pages
from tenancy.urls import tenant_urlpatterns as tenancy_pages

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("api/v1/", include("config.api_urls")),
    path("t/<slug:tenant_slug>/", include(tenancy_pages + partner_pages)),
    path("", include("tenancy.urls")),
]
