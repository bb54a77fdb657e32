"""Portal pages of incentive programs: the programs open to the partner's company, their terms,
and, for partner admins, enrolling, re-accepting, declining and withdrawing."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect
from django.views import View
from django.views.generic import TemplateView

from incentives import selectors
from incentives.actions import ENROLLED, enrollment_actions_for, not_invited
from incentives.eligibility import describe_eligibility, ineligibility_reasons
from incentives.forms import AcceptTermsForm
from incentives.models import Program
from incentives.services import enrollments as enrollment_services
from tenancy.audit import history_of
from tenancy.errors import ApplicationError
from tenancy.permissions import can
from tenancy.web import TenantPageMixin


class PortalProgramListView(TenantPageMixin, TemplateView):
    """The programs the company is enrolled in, and those open to it."""

    capability = "portal.view"
    template_name = "portal/programs.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        partner = self.membership.partner
        programs = list(selectors.programs_for_partner(partner))
        enrollments = selectors.enrollments_by_program(partner, programs)
        rows = [(program, enrollments.get(program.pk)) for program in programs]
        context["enrolled"] = [(p, e) for p, e in rows if e and e.status in ENROLLED]
        context["open"] = [(p, e) for p, e in rows if not (e and e.status in ENROLLED)]
        return context


class PortalProgramView(TenantPageMixin, TemplateView):
    """A program as the company sees it: description, period, current terms, whether it is
    eligible (and why not), its enrollment and that enrollment's history."""

    capability = "portal.view"
    template_name = "portal/program_detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        partner = self.membership.partner
        program = selectors.access_program(self.membership, self.kwargs["program_id"])
        terms = selectors.terms_versions(program).first()
        enrollment = selectors.enrollment_of(program, partner)
        reasons = ineligibility_reasons(program.eligibility, partner)
        context.update(
            program=program,
            partner=partner,
            terms=terms,
            enrollment=enrollment,
            reasons=reasons,
            eligibility_lines=describe_eligibility(program.eligibility),
            actions=enrollment_actions_for(
                self.membership, program, enrollment, has_terms=terms is not None, reasons=reasons
            ),
            decides=can(self.membership, "enrollments.decide_for_partner"),
            not_invited=not_invited(program, enrollment),
            history=history_of(enrollment, limit=20) if enrollment else [],
        )
        return context


class PortalEnrollmentActionView(TenantPageMixin, View):
    """POST-only, partner admins: accept the current terms (enroll or re-accept), decline an
    invitation, or withdraw. A refusal is shown on the program page in the service's words."""

    capability = "enrollments.decide_for_partner"
    action = "enroll"

    def post(self, request, tenant_slug, program_id):
        program = selectors.access_program(self.membership, program_id)
        try:
            message = getattr(self, f"_{self.action}")(program)
        except ApplicationError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, message)
        return redirect("portal_program", tenant_slug, program.pk)

    def _enroll(self, program: Program) -> str:
        form = AcceptTermsForm(self.request.POST)
        if not form.is_valid():
            raise ApplicationError("Open the terms and accept the version shown.")
        enrollment_services.enrollment_accept(
            actor=self.membership,
            program=program,
            terms_version=form.cleaned_data["terms_version"],
            ip=self.request.META.get("REMOTE_ADDR"),
        )
        version = form.cleaned_data["terms_version"]
        return f"Your company is enrolled in {program.name} (terms version {version})."

    def _decline(self, program: Program) -> str:
        enrollment_services.enrollment_decline(actor=self.membership, program=program)
        return f"Your company declined the invitation to {program.name}."

    def _withdraw(self, program: Program) -> str:
        enrollment_services.enrollment_withdraw(actor=self.membership, program=program)
        return f"Your company withdrew from {program.name}."
