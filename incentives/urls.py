"""Dashboard and portal pages of incentive programs."""

from django.urls import path

from incentives import import_views, portal_views, views

tenant_urlpatterns = [
    path("programs/", views.ProgramListView.as_view(), name="programs"),
    path("programs/new/", views.ProgramCreateView.as_view(), name="program_create"),
    path("programs/<int:program_id>/", views.ProgramDetailView.as_view(), name="program_detail"),
    path("programs/<int:program_id>/edit/", views.ProgramEditView.as_view(), name="program_edit"),
    path(
        "programs/<int:program_id>/transition/",
        views.ProgramTransitionView.as_view(),
        name="program_transition",
    ),
    path(
        "programs/<int:program_id>/terms/", views.ProgramTermsView.as_view(), name="program_terms"
    ),
    path(
        "programs/<int:program_id>/required/",
        views.ProgramRequiredView.as_view(),
        name="program_required",
    ),
    path(
        "programs/<int:program_id>/invite/",
        views.ProgramInviteView.as_view(),
        name="program_invite",
    ),
    path(
        "programs/<int:program_id>/enroll-on-behalf/",
        views.ProgramEnrollOnBehalfView.as_view(),
        name="program_enroll_on_behalf",
    ),
    path(
        "programs/<int:program_id>/enrollment-import/",
        import_views.ProgramEnrollmentImportView.as_view(),
        name="program_enrollment_import",
    ),
    path(
        "programs/<int:program_id>/enrollment-imports/<int:import_id>/",
        import_views.ProgramEnrollmentImportDetailView.as_view(),
        name="program_enrollment_import_detail",
    ),
    path(
        "programs/<int:program_id>/enrollment-imports/<int:import_id>/result.csv",
        import_views.ProgramEnrollmentImportResultView.as_view(),
        name="program_enrollment_import_result",
    ),
    path(
        "programs/<int:program_id>/invite/progress/",
        views.ProgramInviteProgressView.as_view(),
        name="program_invite_progress",
    ),
    path("portal/programs/", portal_views.PortalProgramListView.as_view(), name="portal_programs"),
    path(
        "portal/programs/<int:program_id>/",
        portal_views.PortalProgramView.as_view(),
        name="portal_program",
    ),
    path(
        "portal/programs/<int:program_id>/enroll/",
        portal_views.PortalEnrollmentActionView.as_view(action="enroll"),
        name="portal_program_enroll",
    ),
    path(
        "portal/programs/<int:program_id>/decline/",
        portal_views.PortalEnrollmentActionView.as_view(action="decline"),
        name="portal_program_decline",
    ),
    path(
        "portal/programs/<int:program_id>/withdraw/",
        portal_views.PortalEnrollmentActionView.as_view(action="withdraw"),
        name="portal_program_withdraw",
    ),
]
