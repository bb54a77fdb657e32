from partners.api.imports import PartnerImportViewSet
from partners.api.views import PartnerViewSet, TierViewSet


def register(router) -> None:
    router.register("partners", PartnerViewSet, basename="partner")
    router.register("tiers", TierViewSet, basename="tier")
    router.register("partner-imports", PartnerImportViewSet, basename="partner-import")
