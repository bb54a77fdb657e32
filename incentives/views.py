"""Dashboard pages of incentive programs: the list with live figures, the program form, and the
program page with its transitions, terms, required partners, enrollments and history."""

from __future__ import annotations

from functools import cached_property

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import BooleanField, Exists, ExpressionWrapper, OuterRef, Subquery
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.views import View
from django.views.generic import FormView, TemplateView

from incentives import selectors
from incentives.actions import program_actions_for
from incentives.eligibility import describe_eligibility, eligibility_q
from incentives.forms import (
    PROGRAM_FIELDS,
    EnrollOnBehalfForm,
    PartnerIdsForm,
    ProgramForm,
    TermsForm,
    apply_program_errors,
)
from incentives.models import (
    Enrollment,
    EnrollmentStatus,
    Program,
    ProgramKind,
    ProgramStatus,
    RequiredPartner,
)
from incentives.services import enrollments as enrollment_services
from incentives.services import invite_jobs as invite_job_services
from incentives.services import programs as program_services
from incentives.templatetags.programs import rate
from partners.selectors import distinct_values, partner_list_for, tier_list
from tenancy.api.pagination import CompiledRows, ListPaginator, list_key
from tenancy.errors import ApplicationError
from tenancy.formats import escape, short_date_writer
from tenancy.permissions import can
from tenancy.web import TenantPageMixin, refused_form_status

ACTION_LABELS = {"activate": "Activate", "pause": "Pause", "close": "Close"}
ACTION_DONE = {"activate": "activated", "pause": "paused", "close": "closed"}
PICKER_LIMIT = 20  # search matches listed at once
REQUIRED_SHOWN = 50  # required partners listed without a search
ON_BEHALF_LIMIT = 20  # partners listed by the enroll-on-behalf search
HISTORY_LIMIT = 100


def _choice(value: str | None, allowed: list[str]) -> str:
    return value if value in allowed else ""


PROGRAM_ROW = (
    '<tr><td><a href="{detail}">{name}</a></td><td>{kind}</td>'
    '<td><span class="badge status-{status}">{status_label}</span></td>'
    "<td>{starts} – {ends}</td>"  # noqa: RUF001
    '<td class="num">{eligible}</td><td class="num">{enrolled}</td>'
    '<td class="num">{rate}{reaccept}</td><td class="num">{required}</td></tr>'
)
REACCEPT = (
    '<br><small class="reaccept" title="Enrolled partners who have not yet accepted the current '
    'terms">{} to re-accept</small>'
)
PROGRAM_LABELS = {"kind": dict(ProgramKind.choices), "status": dict(ProgramStatus.choices)}
# What a row of the page reads (`selectors.program_list_rows`): its cells, the eligibility a
# program without stored figures is computed by, and the terms version.
ROW_VALUES = (
    "id",
    "name",
    "kind",
    "status",
    "starts_on",
    "ends_on",
    "eligibility",
    "current_terms_version",
)


def program_rows(rows, *, figures: dict, to_reaccept: dict, tenant_slug: str) -> str:
    """The rows of the program table as HTML from rows of `selectors.program_list_rows`, their
    `figures` and re-accept counts by program id, written here rather than by a template loop
    (most of the page's time: a reversed URL, two display methods, two date filters a row).
    Every value from the database goes through `escape`."""
    detail = reverse("program_detail", args=[tenant_slug, 0]).replace("/0/", "/{}/")
    short_date = short_date_writer()
    kinds, statuses = PROGRAM_LABELS["kind"], PROGRAM_LABELS["status"]
    out = []
    for row in rows:
        pk, kind, status = row["id"], row["kind"], row["status"]
        program_figures = figures[pk]
        if program_figures.required:
            required = f"{program_figures.required_enrolled} of {program_figures.required}"
        else:
            required = '<span class="muted">none required</span>'
        reaccept = to_reaccept.get(pk)
        out.append(
            PROGRAM_ROW.format(
                detail=detail.format(pk),
                name=escape(row["name"]),
                kind=escape(kinds.get(kind, kind)),
                status=escape(status),
                status_label=escape(statuses.get(status, status)),
                starts=escape(short_date(row["starts_on"])),
                ends=escape(short_date(row["ends_on"])),
                eligible=program_figures.eligible,
                enrolled=program_figures.enrolled,
                rate=escape(rate(program_figures.enrollment_rate)),
                reaccept=REACCEPT.format(reaccept) if reaccept else "",
                required=required,
            )
        )
    return mark_safe("".join(out))  # noqa: S308  (every database value escaped above)


class ProgramListView(TenantPageMixin, TemplateView):
    """Every program of the tenant, filtered, 25 a page, each with its stored figures."""

    capability = "programs.view"
    template_name = "incentives/list.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        params = self.request.GET
        status = _choice(params.get("status"), ProgramStatus.values)
        kind = _choice(params.get("kind"), ProgramKind.values)
        search = params.get("q", "").strip()
        # The statement compiled once a process for who asks and the parameters.
        listed = CompiledRows(
            ("programs-page", *list_key(self.request)),
            lambda: selectors.program_list_rows(
                selectors.program_list_for(
                    self.membership, status=status or None, kind=kind or None, search=search
                ),
                columns=ROW_VALUES,
            ),
        )
        page = ListPaginator(listed, 25).get_page(params.get("page"))
        rows = list(page.object_list)
        figures = selectors.program_row_figures(rows)
        # Only a program past its first terms version can have enrollments waiting to re-accept
        # (`terms_publish` alone moves an enrollment there, one that accepted an earlier
        # version), so only those are counted: a page of programs on their first terms needs no
        # statement for it.
        revised = [row["id"] for row in rows if (row["current_terms_version"] or 0) > 1]
        to_reaccept = selectors.reaccept_counts(revised)
        context.update(
            page=page,
            rows=rows,
            figures=figures,
            program_rows=program_rows(
                rows,
                figures=figures,
                to_reaccept=to_reaccept,
                tenant_slug=self.membership.tenant.slug,
            ),
            status=status,
            kind=kind,
            search=search,
            statuses=ProgramStatus.choices,
            kinds=ProgramKind.choices,
            can_create=can(self.membership, "programs.edit"),
        )
        return context


class ProgramFormMixin(TenantPageMixin):
    """The program form with its choices: the tenant's tier ladder and the region, territory
    and country values its partners hold."""

    capability = "programs.edit"
    template_name = "incentives/form.html"
    locked: frozenset[str] = frozenset()

    def get_form(self, form_class=None):
        return ProgramForm(
            **self.get_form_kwargs(),
            tiers=[(tier.pk, tier.name) for tier in tier_list()],
            values={
                "regions": distinct_values("region"),
                "territories": distinct_values("territory"),
                "countries": distinct_values("country"),
            },
            locked=self.locked,
        )

    def saved(self, program: Program, verb: str):
        messages.success(self.request, f"{program.name} {verb}.")
        return redirect("program_detail", self.request.tenant.slug, program.pk)


class ProgramCreateView(ProgramFormMixin, FormView):
    def get_initial(self):
        return {"currency": self.membership.tenant.default_currency}

    def form_valid(self, form):
        try:
            program = program_services.program_create(actor=self.membership, **form.program_data())
        except ApplicationError as error:
            apply_program_errors(form, error)
            response = self.form_invalid(form)
            response.status_code = refused_form_status(error)
            return response
        return self.saved(program, "created as a draft")


class ProgramEditView(ProgramFormMixin, FormView):
    """Only the fields the program's state allows are open; the rest are shown disabled."""

    @cached_property
    def program(self) -> Program:
        return selectors.access_program(self.membership, self.kwargs["program_id"])

    @property
    def locked(self) -> frozenset[str]:
        editable = program_services.EDITABLE[ProgramStatus(self.program.status)]
        return frozenset(set(PROGRAM_FIELDS) | {"eligibility"}) - editable

    def get_initial(self):
        return ProgramForm.initial_for(self.program)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["program"] = self.program
        return context

    def form_valid(self, form):
        try:
            program = program_services.program_update(
                actor=self.membership, program=self.program, **form.program_data()
            )
        except ApplicationError as error:
            apply_program_errors(form, error)
            response = self.form_invalid(form)
            response.status_code = refused_form_status(error)
            return response
        return self.saved(program, "saved")


class ProgramDetailView(TenantPageMixin, TemplateView):
    """The program: status and transitions, live figures, eligibility, terms, required
    partners, enrollments, invitations and history."""

    capability = "programs.view"
    write_capability = "programs.edit"
    template_name = "incentives/detail.html"

    @cached_property
    def program(self) -> Program:
        return selectors.access_program(self.membership, self.kwargs["program_id"])

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        program = self.program
        terms = list(selectors.terms_versions(program))
        actions = program_actions_for(self.membership, program, has_terms=bool(terms))
        context.update(
            program=program,
            figures=selectors.program_figures([program])[program.pk],
            to_reaccept=selectors.reaccept_counts([program.pk]).get(program.pk, 0),
            eligibility_lines=describe_eligibility(program.eligibility),
            terms_versions=terms,
            current_terms=terms[0] if terms else None,
            actions=actions,
            transitions=[
                (action, label) for action, label in ACTION_LABELS.items() if action in actions
            ],
            can_invite="invite" in actions,
            history=selectors.program_history(program, limit=HISTORY_LIMIT),
            invite_job=selectors.invite_job_latest(program),
        )
        # A new version starts from the current text: most versions change a line or two.
        current = terms[0] if terms else None
        context.setdefault(
            "terms_form", TermsForm(initial={"body": current.body} if current else None)
        )
        context["can_pick"] = "set_required_partners" in actions
        context.update(self._enrollments(program))
        context.update(self._partner_picker(program, search=context["can_pick"]))
        context.update(self._on_behalf_picker(program, allowed="enroll_on_behalf" in actions))
        return context

    def _on_behalf_picker(self, program: Program, *, allowed: bool) -> dict:
        """For staff who may enroll partners on their behalf: up to ON_BEHALF_LIMIT partners
        matching the search (`eq`, name or CRM id), each marked eligible or not and with its
        enrollment status, in one query; none until something is searched."""
        query = self.request.GET.get("eq", "").strip()
        found = []
        if allowed and query:
            eligible = ExpressionWrapper(eligibility_q(program.eligibility), BooleanField())
            status = Enrollment.objects.filter(program=program, partner=OuterRef("pk"))
            found = list(
                partner_list_for(self.membership, search=query).annotate(
                    is_eligible=eligible,
                    enrollment_status=Subquery(status.values("status")[:1]),
                )[:ON_BEHALF_LIMIT]
            )
        return {
            "can_enroll_on_behalf": allowed,
            "on_behalf_partners": found,
            "on_behalf_search": query,
            "on_behalf_limit": ON_BEHALF_LIMIT,
        }

    def _enrollments(self, program: Program) -> dict:
        params = self.request.GET
        status = _choice(params.get("status"), EnrollmentStatus.values)
        rows = selectors.enrollment_list_for(self.membership, program=program, status=status)
        return {
            "enrollments": Paginator(rows, 25).get_page(params.get("page")),
            "enrollment_status": status,
            "enrollment_statuses": EnrollmentStatus.choices,
        }

    def _partner_picker(self, program: Program, *, search: bool) -> dict:
        """The required partners (up to REQUIRED_SHOWN, ticked) and, for editors who search,
        up to PICKER_LIMIT matches, each marked eligible or not, for the required-partner and
        invitation forms. Nothing but required partners is listed until something is typed,
        so the page stays the same size with 50,000 partners."""
        eligible = ExpressionWrapper(eligibility_q(program.eligibility), BooleanField())
        required_ids = RequiredPartner.objects.filter(program=program, partner=OuterRef("pk"))
        required = list(
            selectors.required_partners_of(program).annotate(is_eligible=eligible)[:REQUIRED_SHOWN]
        )
        for partner in required:
            partner.is_required = True
        required_count = self._required_count(program, len(required))
        query = self.request.GET.get("pq", "").strip()
        found = []
        if search and query:
            found = [
                partner
                for partner in partner_list_for(self.membership, search=query)
                .annotate(is_eligible=eligible, is_required=Exists(required_ids))
                .order_by("-is_required", "name", "pk")[:PICKER_LIMIT]
                if partner.pk not in {p.pk for p in required}
            ]
        return {
            "picker_partners": required + found,
            "required_count": required_count,
            "required_shown": len(required),
            "required_hidden": required_count - len(required),
            "picker_search": query,
            "picker_limit": PICKER_LIMIT,
            "picker_cut": len(found) == PICKER_LIMIT,
        }

    def _required_count(self, program: Program, shown: int) -> int:
        """How many partners are required: counted only when the list was cut."""
        if shown < REQUIRED_SHOWN:
            return shown
        return RequiredPartner.objects.filter(program=program).count()


class ProgramTermsView(ProgramDetailView):
    """POST: publish a new terms version. A refused body is shown again on the program page."""

    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        form = TermsForm(request.POST)
        status = 200
        if form.is_valid():
            try:
                terms = program_services.terms_publish(
                    actor=self.membership, program=self.program, body=form.cleaned_data["body"]
                )
            except ApplicationError as error:
                if not error.errors:  # about the program, not the body: e.g. it is closed
                    messages.error(request, error.message)
                    return redirect(_detail_url(request, self.program, "terms"))
                apply_program_errors(form, error)
                status = refused_form_status(error)
            else:
                messages.success(request, f"Terms version {terms.version} published.")
                return redirect(_detail_url(request, self.program, "terms"))
        return self.render_to_response(self.get_context_data(terms_form=form), status=status)


def _detail_url(request, program: Program, anchor: str = "") -> str:
    url = reverse("program_detail", args=[request.tenant.slug, program.pk])
    return f"{url}#{anchor}" if anchor else url


class ProgramActionView(TenantPageMixin, View):
    """Base of the POST-only program actions: the program is fetched through the actor's scope,
    the service's refusal becomes a message on the program page."""

    capability = "programs.edit"
    anchor = ""

    def post(self, request, tenant_slug, program_id):
        program = selectors.access_program(self.membership, program_id)
        try:
            message = self.act(program)
        except ApplicationError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, message)
        return redirect(_detail_url(request, program, self.anchor))

    def act(self, program: Program) -> str:
        raise NotImplementedError


class ProgramTransitionView(ProgramActionView):
    """activate | pause | close, from the `action` field."""

    def act(self, program: Program) -> str:
        action = self.request.POST.get("action", "")
        program = program_services.program_transition(
            actor=self.membership, program=program, action=action
        )
        return f"{program.name} {ACTION_DONE[action]}."


class ProgramRequiredView(ProgramActionView):
    """Of the partners the page showed (`shown_partner_ids`), the ticked ones are required and the
    others not; required partners the page did not show stay required."""

    anchor = "partners"

    def act(self, program: Program) -> str:
        form = PartnerIdsForm(self.request.POST)
        if not form.is_valid():
            raise ApplicationError("Tick partners from the list.")
        shown = set(form.cleaned_data["shown_partner_ids"])
        current = set(selectors.required_partners_of(program).values_list("pk", flat=True))
        count = program_services.required_partners_set(
            actor=self.membership,
            program=program,
            partner_ids=sorted((current - shown) | set(form.cleaned_data["partner_ids"])),
        )
        return f"{count} required partner{'' if count == 1 else 's'}."


class ProgramInviteView(ProgramActionView):
    """Invite the ticked partners, or queue invitations to every eligible one (`everyone`)."""

    anchor = "enrollments"

    def act(self, program: Program) -> str:
        form = PartnerIdsForm(self.request.POST)
        if not form.is_valid():
            raise ApplicationError("Tick partners from the list.")
        if form.cleaned_data["everyone"]:
            job = invite_job_services.invite_job_start(actor=self.membership, program=program)
            return (
                f"Inviting the {job.total} eligible partner{'' if job.total == 1 else 's'} "
                "in the background; the progress is shown under Enrollments."
            )
        ids = form.cleaned_data["partner_ids"]
        if not ids:
            raise ApplicationError("Tick the partners to invite, or invite all eligible ones.")
        counts = enrollment_services.enrollment_invite(
            actor=self.membership, program=program, partner_ids=ids
        )
        return (
            f"{counts['invited']} invited, {counts['ineligible']} not eligible, "
            f"{counts['unchanged']} already invited or enrolled."
        )


class ProgramEnrollOnBehalfView(ProgramActionView):
    """Enroll the chosen partner on its behalf, with the reason given."""

    write_capability = "enrollments.enroll_on_behalf"
    anchor = "enrollments"

    def act(self, program: Program) -> str:
        form = EnrollOnBehalfForm(self.request.POST)
        if not form.is_valid():
            if "partner_id" in form.errors:
                raise ApplicationError("Choose a partner from the search.")
            raise ApplicationError("Reload the page: the terms version sent is not a number.")
        enrollment = enrollment_services.enrollment_enroll_on_behalf(
            actor=self.membership, program=program, **form.cleaned_data
        )
        return f"{enrollment.partner.name} enrolled on its behalf."


class ProgramInviteProgressView(TenantPageMixin, TemplateView):
    """The progress of the program's latest "invite all eligible" job: the fragment the
    program page polls while the job runs."""

    capability = "programs.view"
    template_name = "incentives/_invite_job.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        program = selectors.access_program(self.membership, self.kwargs["program_id"])
        context.update(program=program, invite_job=selectors.invite_job_latest(program))
        return context
