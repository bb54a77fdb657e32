"""Pages that compose several apps: they sit on top of the floors (DESIGN.md §8)."""

from __future__ import annotations

from django.shortcuts import redirect
from django.views.generic import TemplateView

from partners.selectors import partner_list_for
from tenancy import selectors
from tenancy.api.pagination import list_count
from tenancy.permissions import is_partner_person
from tenancy.web import TenantPageMixin


class DashboardView(TenantPageMixin, TemplateView):
    """The vendor's home: people, partners and invitations at a glance. Partner people land in
    the portal instead."""

    capability = "tenant.view"
    template_name = "dashboard/home.html"

    def get(self, request, *args, **kwargs):
        if is_partner_person(self.membership):
            return redirect("portal_home", request.tenant.slug)
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(selectors.member_counts())
        # Exact up to 1,000 partners, then counted once and cached (`list_count`).
        context["partner_count"] = list_count(partner_list_for(self.membership))
        context["pending_invitations"] = selectors.invitation_list_for(self.membership).count()
        return context
