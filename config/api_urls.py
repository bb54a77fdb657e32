"""`/api/v1/`: one router for every tenant resource, under `t/<tenant_slug>/`; each app
registers its own view sets."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import SimpleRouter

from incentives.api.urls import register as register_incentives
from partners.api.urls import register as register_partners
from tenancy.api.urls import register as register_tenancy
from tenancy.api.views import MeApi, TenantDetailApi

router = SimpleRouter(use_regex_path=False)
register_tenancy(router)
register_partners(router)
register_incentives(router)

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("me/", MeApi.as_view(), name="api-me"),
    path("t/<slug:tenant_slug>/", TenantDetailApi.as_view(), name="api-tenant"),
    path("t/<slug:tenant_slug>/", include(router.urls)),
]
