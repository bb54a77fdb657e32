from incentives.api.views import EnrollmentViewSet, ProgramViewSet


def register(router) -> None:
    router.register("programs", ProgramViewSet, basename="program")
    router.register("enrollments", EnrollmentViewSet, basename="enrollment")
