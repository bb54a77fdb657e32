from tenancy.api.views import InvitationViewSet, MemberViewSet


def register(router) -> None:
    router.register("members", MemberViewSet, basename="member")
    router.register("invitations", InvitationViewSet, basename="invitation")
