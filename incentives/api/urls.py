from incentives.api.views import EnrollmentViewSet, ProgramViewSet
from incentives.claims.api import ClaimRuleViewSet, ClaimViewSet


def register(router) -> None:
    router.register("programs", ProgramViewSet, basename="program")
    router.register("enrollments", EnrollmentViewSet, basename="enrollment")
    router.register("claims", ClaimViewSet, basename="claim")
    router.register("claim-rules", ClaimRuleViewSet, basename="claim-rule")
