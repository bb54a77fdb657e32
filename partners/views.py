"""Dashboard pages for partner companies."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect
from django.views.generic import FormView, TemplateView

from partners import selectors, services
from tenancy.errors import ApplicationError
from tenancy.forms import PartnerForm, apply_errors
from tenancy.roles import STAFF_ROLES
from tenancy.selectors import invitation_list_for, member_list_for
from tenancy.web import TenantPageMixin


class PartnerListView(TenantPageMixin, FormView):
    roles = STAFF_ROLES
    write_roles = services.PARTNER_EDITORS
    template_name = "partners/list.html"
    form_class = PartnerForm

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        search = self.request.GET.get("q", "").strip()
        page = Paginator(selectors.partner_list_for(self.membership, search=search), 50)
        context["page"] = page.get_page(self.request.GET.get("page"))
        context["search"] = search
        context["can_edit"] = self.membership.role in services.PARTNER_EDITORS
        return context

    def form_valid(self, form):
        try:
            partner = services.partner_create(actor=self.membership, **form.cleaned_data)
        except ApplicationError as error:
            apply_errors(form, error)
            return self.form_invalid(form)
        messages.success(self.request, f"{partner.name} added.")
        return redirect("partner_detail", self.request.tenant.slug, partner.pk)


class PartnerDetailView(TenantPageMixin, TemplateView):
    roles = STAFF_ROLES
    template_name = "partners/detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        partner = selectors.access_partner(self.membership, self.kwargs["partner_id"])
        context["partner"] = partner
        context["people"] = member_list_for(self.membership, partner_id=partner.pk)
        context["invitations"] = invitation_list_for(self.membership, partner_id=partner.pk)
        return context
