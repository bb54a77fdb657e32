"""Portal pages of incentive programs: the programs open to the partner's company, their terms,
and, for partner admins, enrolling, re-accepting, declining and withdrawing."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect
from django.views import View
from django.views.generic import TemplateView

from incentives import selectors
from incentives.eligibility import describe_eligibility, ineligibility_reasons
from incentives.forms import AcceptTermsForm
from incentives.models import Enrollment, EnrollmentMode, EnrollmentStatus, Program, ProgramStatus
from incentives.services import enrollments as enrollment_services
from tenancy.audit import history_of
from tenancy.errors import ApplicationError
from tenancy.roles import PARTNER_ROLES, Role
from tenancy.web import TenantPageMixin

PARTNER_ADMINS = frozenset({Role.PARTNER_ADMIN})
ENROLLED = (EnrollmentStatus.ENROLLED, EnrollmentStatus.REACCEPT)


class PortalProgramListView(TenantPageMixin, TemplateView):
    """The programs the company is enrolled in, and those open to it."""

    roles = PARTNER_ROLES
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


def partner_actions(
    program: Program, enrollment: Enrollment | None, has_terms: bool, reasons: list[str]
) -> dict[str, bool]:
    """What a partner admin may do on the program page now; the services decide again."""
    status = enrollment.status if enrollment else None
    live = program.status == ProgramStatus.ACTIVE and has_terms and not reasons
    not_invited = program.enrollment_mode == EnrollmentMode.INVITATION and status in (
        None,
        EnrollmentStatus.DECLINED,
    )
    return {
        "can_accept": live and status not in ENROLLED and not not_invited,
        "can_reaccept": live and status == EnrollmentStatus.REACCEPT,
        "can_decline": status == EnrollmentStatus.INVITED,
        "can_withdraw": status in ENROLLED,
        "not_invited": not_invited,
    }


class PortalProgramView(TenantPageMixin, TemplateView):
    """A program as the company sees it: description, period, current terms, whether it is
    eligible (and why not), its enrollment and that enrollment's history."""

    roles = PARTNER_ROLES
    template_name = "portal/program_detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        partner = self.membership.partner
        program = selectors.access_program(self.membership, self.kwargs["program_id"])
        terms = selectors.terms_versions(program).first()
        enrollment = selectors.enrollment_of(program, partner)
        reasons = ineligibility_reasons(program.eligibility, partner)
        actions = partner_actions(program, enrollment, terms is not None, reasons)
        context.update(
            program=program,
            partner=partner,
            terms=terms,
            enrollment=enrollment,
            reasons=reasons,
            eligibility_lines=describe_eligibility(program.eligibility),
            actions=actions,
            is_partner_admin=self.membership.role == Role.PARTNER_ADMIN,
            history=history_of(enrollment, limit=20) if enrollment else [],
        )
        return context


class PortalEnrollmentActionView(TenantPageMixin, View):
    """POST-only, partner admins: accept the current terms (enroll or re-accept), decline an
    invitation, or withdraw. A refusal is shown on the program page in the service's words."""

    roles = PARTNER_ADMINS
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
