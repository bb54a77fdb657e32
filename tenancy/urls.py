from django.urls import path

from tenancy import views

urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("healthz", views.healthz, name="healthz"),
    path(
        "invitations/<str:token>/", views.InvitationAcceptView.as_view(), name="invitation_accept"
    ),
    path("account/tokens/", views.ApiTokensView.as_view(), name="api_tokens"),
    path(
        "account/tokens/<int:token_id>/revoke/",
        views.ApiTokenRevokeView.as_view(),
        name="api_token_revoke",
    ),
]

tenant_urlpatterns = [
    path("members/", views.MembersView.as_view(), name="members"),
    path("members/<int:member_id>/role/", views.MemberRoleView.as_view(), name="member_role"),
    path("members/<int:member_id>/remove/", views.MemberRemoveView.as_view(), name="member_remove"),
    path(
        "invitations/<int:invitation_id>/revoke/",
        views.InvitationActionView.as_view(action="revoke"),
        name="invitation_revoke",
    ),
    path(
        "invitations/<int:invitation_id>/resend/",
        views.InvitationActionView.as_view(action="resend"),
        name="invitation_resend",
    ),
    path("settings/", views.TenantSettingsView.as_view(), name="tenant_settings"),
    path("portal/", views.PortalHomeView.as_view(), name="portal_home"),
    path("portal/team/", views.PortalTeamView.as_view(), name="portal_team"),
]
