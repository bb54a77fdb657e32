"""Dashboard pages of the partner CSV import and export."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect
from django.views import View
from django.views.generic import FormView, TemplateView

from partners import csv_format, csv_io, selectors
from partners.selectors import PartnerFilters, partner_list_for, tier_list
from tenancy.errors import ApplicationError
from tenancy.forms import apply_errors
from tenancy.permissions import can
from tenancy.web import TenantPageMixin

RECENT_IMPORTS = 20


class PartnerImportForm(forms.Form):
    file = forms.FileField(label="CSV file", help_text="UTF-8, at most 10 MB.")


class PartnerImportView(TenantPageMixin, FormView):
    """The upload form, the column reference and the recent imports."""

    capability = "partners.view"
    write_capability = "partners.import"
    template_name = "partners/import.html"
    form_class = PartnerImportForm

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        imports = (
            selectors.partner_import_list_for(self.membership)
            .defer("errors")
            .select_related("created_by")
        )
        context["imports"] = imports[:RECENT_IMPORTS]
        context["tiers"] = tier_list()
        context["choices"] = {c: kind.choices for c, kind in csv_format.CHOICE_COLUMNS.items()}
        context["can_import"] = can(self.membership, "partners.import")
        return context

    def form_valid(self, form):
        upload = form.cleaned_data["file"]
        try:
            job = csv_io.partner_import_start(
                actor=self.membership,
                file_name=upload.name,
                # One byte past the limit is enough to refuse a larger file unread.
                data=upload.read(csv_io.MAX_FILE_BYTES + 1),
            )
        except ApplicationError as error:
            apply_errors(form, error)
            return self.form_invalid(form)
        messages.success(self.request, f"{job.file_name} is queued for import.")
        return redirect("partner_import_detail", self.request.tenant.slug, job.pk)


class PartnerImportTemplateView(TenantPageMixin, View):
    """A CSV with the import's columns and one example row."""

    capability = "partners.view"

    def get(self, request, *args, **kwargs):
        lowest = tier_list().first()
        body = csv_format.template_csv(
            tier=lowest.name if lowest else "", channel_manager_email=request.user.email
        )
        response = HttpResponse(body, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="partners-template.csv"'
        return response


class PartnerImportDetailView(TenantPageMixin, TemplateView):
    """One import: its status and progress, polled while it runs, then its row errors. An htmx
    poll gets the progress fragment alone."""

    capability = "partners.view"
    template_name = "partners/import_detail.html"

    def get_template_names(self) -> list[str]:
        if getattr(self.request, "htmx", False):
            return ["partners/_import_progress.html"]
        return [self.template_name]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        job = selectors.access_partner_import(self.membership, self.kwargs["import_id"])
        finished = job.status in csv_io.FINISHED
        context["job"] = job
        context["finished"] = finished
        context["percent"] = 100 if finished else job.progress_percent
        context["errors_cut"] = len(job.errors) >= csv_io.MAX_STORED_ERRORS
        return context


class PartnerExportView(TenantPageMixin, View):
    """The partner list as CSV, filtered by the same query string as the partner list page."""

    capability = "partners.view"

    def get(self, request, *args, **kwargs):
        filters = PartnerFilters.from_query(request.GET, me=self.membership)
        partners = partner_list_for(self.membership, filters)
        response = StreamingHttpResponse(
            csv_format.partner_export_stream(self.membership.tenant_id, partners),
            content_type="text/csv; charset=utf-8",
        )
        name = csv_format.export_file_name(self.membership.tenant.slug)
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
