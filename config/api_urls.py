"""`/api/v1/`: one router for every tenant resource, under `t/<tenant_slug>/`."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import SimpleRouter

from partners.api.views import PartnerViewSet
from tenancy.api.views import InvitationViewSet, MeApi, MemberViewSet, TenantDetailApi

router = SimpleRouter(use_regex_path=False)
router.register("members", MemberViewSet, basename="member")
router.register("invitations", InvitationViewSet, basename="invitation")
router.register("partners", PartnerViewSet, basename="partner")

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("me/", MeApi.as_view(), name="api-me"),
    path("t/<slug:tenant_slug>/", TenantDetailApi.as_view(), name="api-tenant"),
    path("t/<slug:tenant_slug>/", include(router.urls)),
]
