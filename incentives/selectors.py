"""Reads of programs and enrollments, and the live program figures."""

from __future__ import annotations

import json
from dataclasses import dataclass

from django.db.models import (
    Case,
    Count,
    Exists,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    When,
)
from django.http import Http404

from incentives.eligibility import eligibility_q
from incentives.models import (
    ENROLLMENTS_IMPORT_KIND,
    Enrollment,
    EnrollmentImport,
    EnrollmentMode,
    EnrollmentStatus,
    InviteJob,
    Program,
    ProgramStatus,
    ProgramTerms,
    RequiredPartner,
)
from partners.models import Partner, PartnerImport
from tenancy.models import AuditEvent, Membership
from tenancy.permissions import is_partner_person


def program_list_for(
    actor: Membership, *, status: str | None = None, kind: str | None = None, search: str = ""
) -> QuerySet[Program]:
    """Staff see every program; partner people see the active and paused ones open to their
    company or that it is enrolled in (see `programs_for_partner`)."""
    if is_partner_person(actor):
        return programs_for_partner(actor.partner)
    queryset = Program.objects.all()
    if status:
        queryset = queryset.filter(status=status)
    if kind:
        queryset = queryset.filter(kind=kind)
    if search:
        queryset = queryset.filter(name__icontains=search)
    return queryset.order_by("-starts_on", "name", "pk")


def access_program(actor: Membership, program_id: object) -> Program:
    try:
        return program_list_for(actor).get(pk=int(program_id))
    except (Program.DoesNotExist, ValueError, TypeError):
        raise Http404("No such program.") from None


def programs_for_partner(partner: Partner) -> QuerySet[Program]:
    """Live programs the partner can see: those it has an enrollment in (any status), and open
    programs whatever its eligibility (the page tells it why it cannot enroll)."""
    enrolled = Enrollment.objects.filter(program=OuterRef("pk"), partner=partner)
    return (
        Program.objects.filter(status__in=[ProgramStatus.ACTIVE, ProgramStatus.PAUSED])
        .filter(Q(enrollment_mode=EnrollmentMode.OPEN) | Exists(enrolled))
        .order_by("-starts_on", "name", "pk")
    )


def enrollment_of(program: Program, partner: Partner) -> Enrollment | None:
    return (
        Enrollment.objects.filter(program=program, partner=partner).select_related("terms").first()
    )


def enrollments_by_program(partner: Partner, programs: list[Program]) -> dict[int, Enrollment]:
    rows = Enrollment.objects.filter(partner=partner, program__in=programs)
    return {row.program_id: row for row in rows}


def enrollment_list_for(
    actor: Membership, *, program: Program | None = None, status: str | None = None
) -> QuerySet[Enrollment]:
    queryset = Enrollment.objects.select_related("partner", "program", "terms", "accepted_by")
    if is_partner_person(actor):
        queryset = queryset.filter(partner_id=actor.partner_id)
    if program is not None:
        queryset = queryset.filter(program=program)
    if status:
        queryset = queryset.filter(status=status)
    return queryset.order_by("partner__name", "pk")


# The columns of a row of the enrollment list API (`EnrollmentSerializer.rows`).
ENROLLMENT_ROW_VALUES = (
    "id",
    "program_id",
    "program_name",
    "partner_id",
    "partner_name",
    "status",
    "automatic",
    "terms_version",
    "accepted_by_email",
    "accepted_at",
    "accepted_from",
    "on_behalf",
    "on_behalf_reason",
    "invited_at",
    "created_at",
    "updated_at",
)


def enrollment_rows(queryset: QuerySet[Enrollment]) -> QuerySet:
    """`queryset` as plain rows of `ENROLLMENT_ROW_VALUES`. The program's and partner's names,
    the terms version and the email of who accepted are scalar subqueries, not joins: planning
    the five-table join took about 1.8 ms a page on the bench tenant, longer than running it;
    the subqueries plan in about 0.3 ms and read the same four rows a row by key."""
    user_model = Enrollment._meta.get_field("accepted_by").related_model
    return (
        queryset.select_related(None)
        .annotate(
            program_name=Subquery(Program.objects.filter(pk=OuterRef("program_id")).values("name")),
            partner_name=Subquery(Partner.objects.filter(pk=OuterRef("partner_id")).values("name")),
            terms_version=Subquery(
                ProgramTerms.objects.filter(pk=OuterRef("terms_id")).values("version")
            ),
            accepted_by_email=Subquery(
                user_model.objects.filter(pk=OuterRef("accepted_by_id")).values("email")
            ),
        )
        .values(*ENROLLMENT_ROW_VALUES)
    )


def access_enrollment(actor: Membership, enrollment_id: object) -> Enrollment:
    try:
        return enrollment_list_for(actor).get(pk=int(enrollment_id))
    except (Enrollment.DoesNotExist, ValueError, TypeError):
        raise Http404("No such enrollment.") from None


def required_partners_of(program: Program) -> QuerySet[Partner]:
    return (
        Partner.objects.filter(
            pk__in=RequiredPartner.objects.filter(program=program).values("partner_id")
        )
        .select_related("tier")
        .order_by("name", "pk")
    )


def program_history(program: Program, *, limit: int = 100) -> QuerySet[AuditEvent]:
    """The program's own history and its enrollments', newest first, in one query; enrollment
    rows carry the partner's name (the program's own rows none, even where an enrollment has
    the program's id)."""
    enrollment_ids = Enrollment.objects.filter(program=program).values("pk")
    partner_name = Enrollment.objects.filter(pk=OuterRef("entity_id")).values("partner__name")
    enrollment_entity = Enrollment._meta.label_lower
    return (
        AuditEvent.objects.filter(
            Q(entity=program._meta.label_lower, entity_id=program.pk)
            | Q(entity=enrollment_entity, entity_id__in=enrollment_ids)
        )
        .annotate(
            partner_name=Case(
                When(entity=enrollment_entity, then=Subquery(partner_name[:1])),
                default=None,
            )
        )
        .select_related("actor")
        .order_by("-at", "-pk")[:limit]
    )


def enrollment_import_list_for(actor: Membership, program: Program) -> QuerySet[PartnerImport]:
    """The program's enrollment imports, newest first, for vendor staff; none for partner
    people. The file itself is left unread."""
    if is_partner_person(actor):
        return PartnerImport.objects.none()
    jobs = EnrollmentImport.objects.filter(program=program).values("job_id")
    return (
        PartnerImport.objects.filter(kind=ENROLLMENTS_IMPORT_KIND, pk__in=jobs)
        .defer("content")
        .select_related("created_by")
        .order_by("-created_at", "-pk")
    )


def access_enrollment_import(
    actor: Membership, program: Program, import_id: object, *, with_content: bool = False
) -> PartnerImport:
    """One enrollment import of `program`; 404 for another program's, a partner import, or
    another tenant's."""
    imports = enrollment_import_list_for(actor, program)
    if with_content:
        imports = imports.defer(None)
    try:
        return imports.get(pk=int(import_id))
    except (PartnerImport.DoesNotExist, ValueError, TypeError):
        raise Http404("No such import.") from None


def invite_job_latest(program: Program) -> InviteJob | None:
    """The program's most recent "invite all eligible" job, if it ever had one."""
    return InviteJob.objects.filter(program=program).order_by("-created_at", "-id").first()


def terms_versions(program: Program) -> QuerySet[ProgramTerms]:
    return ProgramTerms.objects.filter(program=program).select_related("created_by")


@dataclass(frozen=True)
class ProgramFigures:
    eligible: int
    enrolled: int
    required: int
    required_enrolled: int

    @property
    def enrollment_rate(self) -> float | None:
        """|eligible ∩ enrolled| / |eligible|; None ("no data") when nothing is eligible."""
        return self.enrolled / self.eligible if self.eligible else None

    @property
    def required_rate(self) -> float | None:
        return self.required_enrolled / self.required if self.required else None


def program_figures(programs: list[Program]) -> dict[int, ProgramFigures]:
    """Live figures for a page of programs in three statements, whatever the number of
    partners: one scan of partners counting each distinct eligibility rule with a FILTER clause,
    one of the page's enrollments grouped by program with the same clauses, one of required
    partners. Programs that share a rule (many are open to everyone) share its clause."""
    if not programs:
        return {}
    rules: dict[str, str] = {}  # the rule as canonical JSON -> its column alias
    for program in programs:
        rules.setdefault(_rule_key(program), f"r{len(rules)}")
    eligible = Partner.objects.aggregate(
        **{
            alias: Count("pk", filter=eligibility_q(json.loads(key)))
            for key, alias in rules.items()
        }
    )
    enrolled = {
        row["program_id"]: row
        for row in Enrollment.objects.filter(program__in=programs, status=EnrollmentStatus.ENROLLED)
        .values("program_id")
        .annotate(
            **{
                alias: Count("pk", filter=eligibility_q(json.loads(key), prefix="partner__"))
                for key, alias in rules.items()
            }
        )
    }
    required = _required_counts(programs)
    figures = {}
    for program in programs:
        alias = rules[_rule_key(program)]
        figures[program.pk] = ProgramFigures(
            eligible=eligible[alias],
            enrolled=enrolled.get(program.pk, {}).get(alias, 0),
            required=required.get(program.pk, {}).get("total", 0),
            required_enrolled=required.get(program.pk, {}).get("enrolled", 0),
        )
    return figures


def reaccept_counts(program_ids: list[int]) -> dict[int, int]:
    """Enrollments of each program waiting for their partner to accept the current terms (a
    new version moves them out of "enrolled", so the rate drops until they do), in one
    statement; a program with none is absent."""
    if not program_ids:
        return {}
    rows = (
        Enrollment.objects.filter(program_id__in=program_ids, status=EnrollmentStatus.REACCEPT)
        .values("program_id")
        .annotate(n=Count("pk"))
    )
    return {row["program_id"]: row["n"] for row in rows}


def _rule_key(program: Program) -> str:
    return json.dumps(program.eligibility or {}, sort_keys=True)


def _required_counts(programs: list[Program]) -> dict[int, dict]:
    enrolled = Enrollment.objects.filter(
        program_id=OuterRef("program_id"),
        partner_id=OuterRef("partner_id"),
        status=EnrollmentStatus.ENROLLED,
    )
    return {
        row["program_id"]: row
        for row in RequiredPartner.objects.filter(program__in=programs)
        .values("program_id")
        .annotate(total=Count("pk"), enrolled=Count("pk", filter=Exists(enrolled)))
    }


STORED_FIGURES = ("eligible", "enrolled", "required", "required_enrolled")

# The columns of a row of the program lists (`ProgramSerializer.rows`, `views.program_rows`).
PROGRAM_ROW_VALUES = (
    "id",
    "name",
    "description",
    "kind",
    "status",
    "starts_on",
    "ends_on",
    "claim_window_days",
    "currency",
    "budget",
    "eligibility",
    "enrollment_mode",
    "current_terms_version",
    "created_at",
    "updated_at",
)
_STORED_FIGURES_VALUES = tuple(f"stored_figures__{name}" for name in STORED_FIGURES)


def program_list_rows(
    programs: QuerySet[Program], *, figures: bool = True, columns=PROGRAM_ROW_VALUES
) -> QuerySet:
    """`programs` as plain rows of `columns` (those of the API by default; `id` and, for the
    figures, `eligibility` among them) and, with `figures`, their stored figures
    (`models.ProgramFigures`) joined by key in the same statement (`None` for a program that has
    no row yet; `program_row_figures` reads them). The terms version is a column of the program,
    so a row needs no subquery: compiling two correlated subqueries a request took longer than
    PostgreSQL took to run the page."""
    if figures:
        return programs.values(*columns, *_STORED_FIGURES_VALUES)
    return programs.values(*columns)


def program_row_figures(rows: list[dict]) -> dict[int, ProgramFigures]:
    """The figures of rows of `program_list_rows(..., figures=True)`: their stored ones (kept
    fresh by events within seconds), and for a program with no stored row yet (created a moment
    ago) the live ones, in the three statements of `program_figures`."""
    figures, missing = {}, []
    for row in rows:
        eligible = row["stored_figures__eligible"]
        if eligible is None:
            missing.append(Program(pk=row["id"], eligibility=row["eligibility"]))
            continue
        figures[row["id"]] = ProgramFigures(
            eligible,
            row["stored_figures__enrolled"],
            row["stored_figures__required"],
            row["stored_figures__required_enrolled"],
        )
    if missing:
        figures.update(program_figures(missing))
    return figures
