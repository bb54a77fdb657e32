from django.urls import path

from partners import views

tenant_urlpatterns = [
    path("partners/", views.PartnerListView.as_view(), name="partners"),
    path("partners/new/", views.PartnerCreateView.as_view(), name="partner_create"),
    path("partners/<int:partner_id>/", views.PartnerDetailView.as_view(), name="partner_detail"),
    path("partners/<int:partner_id>/edit/", views.PartnerEditView.as_view(), name="partner_edit"),
    path("tiers/", views.TierListView.as_view(), name="tiers"),
    path("tiers/<int:tier_id>/rename/", views.TierRenameView.as_view(), name="tier_rename"),
    path("tiers/<int:tier_id>/move/", views.TierMoveView.as_view(), name="tier_move"),
    path("tiers/<int:tier_id>/delete/", views.TierDeleteView.as_view(), name="tier_delete"),
]
