from incentives.api.views import EnrollmentViewSet, ProgramViewSet
from incentives.claims.api import ClaimViewSet


def register(router) -> None:
    router.register("programs", ProgramViewSet, basename="program")
    router.register("enrollments", EnrollmentViewSet, basename="enrollment")
    router.register("claims", ClaimViewSet, basename="claim")
