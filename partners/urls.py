from django.urls import path

from partners import views

tenant_urlpatterns = [
    path("partners/", views.PartnerListView.as_view(), name="partners"),
    path("partners/<int:partner_id>/", views.PartnerDetailView.as_view(), name="partner_detail"),
]
