"""Dashboard pages of the enrollment import: a program's upload form and recent imports, one
import's progress (polled while it runs) and its result as CSV."""

from __future__ import annotations

from functools import cached_property

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect
from django.views import View
from django.views.generic import FormView, TemplateView

from incentives import selectors
from incentives.actions import program_actions_for
from incentives.forms import EnrollmentImportForm
from incentives.models import Program
from incentives.services import enrollment_imports
from partners import csv_io
from tenancy.errors import ApplicationError
from tenancy.forms import apply_errors
from tenancy.web import TenantPageMixin, refused_form_status

RECENT_IMPORTS = 20


class ProgramImportMixin(TenantPageMixin):
    capability = "programs.view"

    @cached_property
    def program(self) -> Program:
        return selectors.access_program(self.membership, self.kwargs["program_id"])


class ProgramEnrollmentImportView(ProgramImportMixin, FormView):
    """The upload form (for who may enroll partners on their behalf), the columns and the
    program's recent enrollment imports."""

    write_capability = "enrollments.enroll_on_behalf"
    template_name = "incentives/enrollment_import.html"
    form_class = EnrollmentImportForm

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        program = self.program
        context["program"] = program
        context["imports"] = selectors.enrollment_import_list_for(self.membership, program)[
            :RECENT_IMPORTS
        ]
        context["can_import"] = "enroll_on_behalf" in program_actions_for(self.membership, program)
        context["reason_max_length"] = 500
        return context

    def form_valid(self, form):
        upload = form.cleaned_data["file"]
        try:
            job = enrollment_imports.enrollment_import_start(
                actor=self.membership,
                program=self.program,
                file_name=upload.name,
                data=upload.read(csv_io.MAX_FILE_BYTES + 1),
            )
        except ApplicationError as error:
            apply_errors(form, error)
            response = self.form_invalid(form)
            response.status_code = refused_form_status(error)
            return response
        messages.success(self.request, f"{job.file_name} is queued for import.")
        return redirect(
            "program_enrollment_import_detail", self.request.tenant.slug, self.program.pk, job.pk
        )


class ProgramEnrollmentImportDetailView(ProgramImportMixin, TemplateView):
    """One enrollment import: status, progress and, once done, its row errors; an htmx poll
    gets the progress fragment alone."""

    template_name = "incentives/enrollment_import_detail.html"

    def get_template_names(self) -> list[str]:
        if getattr(self.request, "htmx", False):
            return ["incentives/_enrollment_import_progress.html"]
        return [self.template_name]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        job = selectors.access_enrollment_import(
            self.membership, self.program, self.kwargs["import_id"]
        )
        finished = job.status in csv_io.FINISHED
        context.update(
            program=self.program,
            job=job,
            finished=finished,
            percent=100 if finished else job.progress_percent,
            errors_cut=len(job.errors) >= csv_io.MAX_STORED_ERRORS,
        )
        return context


class ProgramEnrollmentImportResultView(ProgramImportMixin, View):
    """Every row of the file with its outcome, as CSV."""

    def get(self, request, *args, **kwargs):
        job = selectors.access_enrollment_import(
            self.membership, self.program, self.kwargs["import_id"], with_content=True
        )
        body = "".join(enrollment_imports.enrollment_import_result_lines(job))
        response = HttpResponse(body, content_type="text/csv; charset=utf-8")
        name = f"enrollment-import-{job.pk}-result.csv"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
