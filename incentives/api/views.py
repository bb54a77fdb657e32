from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from incentives import selectors
from incentives.actions import enrollment_actions_for, program_actions_of_kind
from incentives.api.serializers import (
    AcceptSerializer,
    EnrollmentSerializer,
    InviteJobSerializer,
    InviteResultSerializer,
    OnBehalfSerializer,
    PartnerIdsSerializer,
    ProgramSerializer,
    TermsSerializer,
    TransitionSerializer,
)
from incentives.models import EnrollmentStatus, Program, ProgramKind, ProgramStatus
from incentives.services import enrollment_imports
from incentives.services import enrollments as enrollment_services
from incentives.services import invite_jobs as invite_job_services
from incentives.services import programs as program_services
from partners import csv_io
from partners.api.imports import PartnerImportSerializer, PartnerImportUploadSerializer
from tenancy.api.base import TenantViewSet
from tenancy.api.pagination import CompiledRows, list_key
from tenancy.permissions import can, is_partner_person
from tenancy.query import query_choice, query_int

PARTNER_ACTIONS = {"enroll", "decline", "withdraw"}
RECENT_IMPORTS = 100


class ProgramViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    """Incentive programs. Staff see every program with its live figures; partner people see
    the programs open to their company and never the figures of others."""

    capability = "tenant.view"
    write_capability = "programs.edit"
    serializer_class = ProgramSerializer
    lookup_url_kwarg = "program_id"
    filter_backends: list = []  # `list` reads its documented parameters itself

    def capabilities_for(self, method: str) -> tuple[str, ...]:
        if self.action in PARTNER_ACTIONS:
            return (self.capability, "enrollments.decide_for_partner")
        if self.action == "invite_job":
            return ("programs.view",)
        if self.action == "enroll_on_behalf":
            return ("programs.view", "enrollments.enroll_on_behalf")
        if self.action in ("enrollment_imports", "enrollment_import"):
            if method == "POST":
                return ("programs.view", "enrollments.enroll_on_behalf")
            return ("programs.view",)
        return super().capabilities_for(method)

    def _list_filters(self) -> dict:
        """The list's documented parameters, checked (a 400 naming one that cannot be read)."""
        params = self.request.query_params
        return {
            "status": query_choice(params, "status", ProgramStatus.values),
            "kind": query_choice(params, "kind", ProgramKind.values),
            "search": params.get("q", ""),
        }

    def list_queryset(self):
        return selectors.program_list_for(self.membership, **self._list_filters())

    def get_object(self):
        return selectors.access_program(self.membership, self.kwargs["program_id"])

    def _figures(self, programs) -> dict:
        """Live figures of one program, for staff."""
        if is_partner_person(self.membership):
            return {}
        return selectors.program_figures(list(programs))

    def _staff_actions(self, keyed) -> dict[int, frozenset[str]]:
        """A program's actions for staff from `(pk, status, enrollment_mode, has_terms)`: they
        follow from those three and the role alone (`program_actions_of_kind`)."""
        membership = self.membership
        return {
            pk: program_actions_of_kind(
                membership, status=status, enrollment_mode=mode, has_terms=has_terms
            )
            for pk, status, mode, has_terms in keyed
        }

    def _actions(self, programs) -> dict[int, frozenset[str]]:
        """What the caller may do on each program: the program's actions for staff, their
        company's enrollment actions for partner people (one query for the enrollments)."""
        membership = self.membership
        if not is_partner_person(membership):
            return self._staff_actions(
                (p.pk, p.status, p.enrollment_mode, p.current_terms_version is not None)
                for p in programs
            )
        if not can(membership, "enrollments.decide_for_partner"):
            return {}
        enrollments = selectors.enrollments_by_program(membership.partner, list(programs))
        return {
            p.pk: enrollment_actions_for(
                membership, p, enrollments.get(p.pk), has_terms=p.current_terms_version is not None
            )
            for p in programs
        }

    def _row_actions(self, rows: list[dict]) -> dict[int, frozenset[str]]:
        """`_actions` for the list's rows; a partner person's few need their programs."""
        if is_partner_person(self.membership):
            fields = ("id", "status", "enrollment_mode", "eligibility", "current_terms_version")
            return self._actions([Program(**{f: row[f] for f in fields}) for row in rows])
        return self._staff_actions(
            (
                row["id"],
                row["status"],
                row["enrollment_mode"],
                row["current_terms_version"] is not None,
            )
            for row in rows
        )

    def _context(self, programs) -> dict:
        return {
            **self.get_serializer_context(),
            "figures": self._figures(programs),
            "actions": self._actions(programs),
        }

    @extend_schema(
        parameters=[
            OpenApiParameter("status", str, enum=ProgramStatus.values),
            OpenApiParameter("kind", str, enum=ProgramKind.values),
            OpenApiParameter("q", str, description="Search in the name."),
        ]
    )
    def list(self, request, *args, **kwargs):
        """The page as plain rows (`ProgramSerializer.rows`), equal to the serializer's."""
        # Staff get each program's stored figures (`selectors.program_row_figures`); partner
        # people never the figures of other partners. The statement is compiled once a process
        # for who asks and the parameters (`CompiledRows`), which are checked first.
        staff = not is_partner_person(self.membership)
        filters = self._list_filters()
        rows = CompiledRows(
            ("programs", *list_key(request)),
            lambda: selectors.program_list_rows(
                selectors.program_list_for(self.membership, **filters), figures=staff
            ),
        )
        page = self.paginate_queryset(rows)
        figures = selectors.program_row_figures(page) if staff else {}
        rows = ProgramSerializer.rows(page, figures=figures, actions=self._row_actions(page))
        return self.get_paginated_response(rows)

    def retrieve(self, request, *args, **kwargs):
        program = self.get_object()
        return Response(ProgramSerializer(program, context=self._context([program])).data)

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        program = program_services.program_create(
            actor=self.membership, **serializer.validated_data
        )
        data = ProgramSerializer(program, context=self._context([program])).data
        return Response(data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        program = self.get_object()
        serializer = self.get_serializer(program, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        program = program_services.program_update(
            actor=self.membership, program=program, **serializer.validated_data
        )
        return self.retrieve(request, *args, **kwargs)

    @extend_schema(request=TransitionSerializer, responses=ProgramSerializer)
    @action(detail=True, methods=["post"])
    def transition(self, request, *args, **kwargs):
        program = self.get_object()  # an unknown program is a 404 before the body is read
        serializer = TransitionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        program_services.program_transition(
            actor=self.membership, program=program, **serializer.validated_data
        )
        return self.retrieve(request, *args, **kwargs)

    @extend_schema(methods=["GET"], responses=TermsSerializer(many=True))
    @extend_schema(methods=["POST"], request=TermsSerializer, responses={201: TermsSerializer})
    @action(detail=True, methods=["get", "post"])
    def terms(self, request, *args, **kwargs):
        """GET: every terms version, newest first. POST: publish a new version."""
        program = self.get_object()
        if request.method == "GET":
            return Response(TermsSerializer(selectors.terms_versions(program), many=True).data)
        serializer = TermsSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        terms = program_services.terms_publish(
            actor=self.membership, program=program, body=serializer.validated_data["body"]
        )
        return Response(TermsSerializer(terms).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=PartnerIdsSerializer, responses=PartnerIdsSerializer)
    @action(detail=True, methods=["put"], url_path="required-partners")
    def required_partners(self, request, *args, **kwargs):
        program = self.get_object()
        serializer = PartnerIdsSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        ids = serializer.validated_data.get("partner_ids") or []
        program_services.required_partners_set(
            actor=self.membership, program=program, partner_ids=ids
        )
        return Response({"partner_ids": sorted(set(ids))})

    @extend_schema(
        request=PartnerIdsSerializer,
        responses={200: InviteResultSerializer, 202: InviteJobSerializer},
    )
    @action(detail=True, methods=["post"])
    def invite(self, request, *args, **kwargs):
        """Invite the given partners (200, with the counts). With `partner_ids` omitted or null,
        queue invitations to every eligible partner: 202 with the job, whose `url` (also the
        `Location` header) shows its progress."""
        program = self.get_object()
        serializer = PartnerIdsSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        partner_ids = serializer.validated_data.get("partner_ids")
        if partner_ids is None:
            job = invite_job_services.invite_job_start(actor=self.membership, program=program)
            body = InviteJobSerializer(job, context=self.get_serializer_context()).data
            return Response(
                body, status=status.HTTP_202_ACCEPTED, headers={"Location": body["url"]}
            )
        result = enrollment_services.enrollment_invite(
            actor=self.membership, program=program, partner_ids=partner_ids
        )
        return Response(result)

    @extend_schema(responses=InviteJobSerializer)
    @action(detail=True, methods=["get"], url_path="invite-job", url_name="invite-job")
    def invite_job(self, request, *args, **kwargs):
        """The progress of the program's latest invitations to every eligible partner; 404 if
        it never had any (staff only)."""
        job = selectors.invite_job_latest(self.get_object())
        if job is None:
            raise NotFound("This program has never invited every eligible partner.")
        return Response(InviteJobSerializer(job, context=self.get_serializer_context()).data)

    @extend_schema(request=AcceptSerializer, responses=EnrollmentSerializer)
    @action(detail=True, methods=["post"])
    def enroll(self, request, *args, **kwargs):
        """Accept the current terms for the caller's company (partner admins)."""
        program = self.get_object()
        serializer = AcceptSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        enrollment = enrollment_services.enrollment_accept(
            actor=self.membership,
            program=program,
            terms_version=serializer.validated_data["terms_version"],
            ip=request.META.get("REMOTE_ADDR"),
        )
        return Response(EnrollmentSerializer(enrollment).data)

    @extend_schema(request=OnBehalfSerializer, responses={201: EnrollmentSerializer})
    @action(detail=True, methods=["post"], url_path="enroll-on-behalf")
    def enroll_on_behalf(self, request, *args, **kwargs):
        """Enroll a partner on its behalf (vendor staff, for a program run on paper): the
        current terms are accepted for the partner, with the reason recorded. The partner must
        be eligible; one already enrolled is a 409 (duplicate)."""
        program = self.get_object()
        serializer = OnBehalfSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        enrollment = enrollment_services.enrollment_enroll_on_behalf(
            actor=self.membership, program=program, **serializer.validated_data
        )
        return Response(EnrollmentSerializer(enrollment).data, status=status.HTTP_201_CREATED)

    @extend_schema(methods=["GET"], responses=PartnerImportSerializer(many=True))
    @extend_schema(
        methods=["POST"],
        request={"multipart/form-data": PartnerImportUploadSerializer},
        responses={201: PartnerImportSerializer},
    )
    @action(
        detail=True,
        methods=["get", "post"],
        url_path="enrollment-imports",
        url_name="enrollment-imports",
        parser_classes=[MultiPartParser],
    )
    def enrollment_imports(self, request, *args, **kwargs):
        """GET: the program's latest enrollment imports, newest first. POST: upload a CSV of
        partners to enroll on their behalf (columns `crm_id` or `partner_id`, and `reason`);
        it is imported in the background: poll the import until `done` or `failed`, its
        `errors` naming each row not enrolled."""
        program = self.get_object()
        if request.method == "GET":
            jobs = selectors.enrollment_import_list_for(self.membership, program)[:RECENT_IMPORTS]
            return Response(PartnerImportSerializer(jobs, many=True).data)
        upload = PartnerImportUploadSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        file = upload.validated_data["file"]
        job = enrollment_imports.enrollment_import_start(
            actor=self.membership,
            program=program,
            file_name=file.name,
            data=file.read(csv_io.MAX_FILE_BYTES + 1),
        )
        return Response(PartnerImportSerializer(job).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=PartnerImportSerializer)
    @action(
        detail=True,
        methods=["get"],
        url_path="enrollment-imports/<int:import_id>",
        url_name="enrollment-import",
    )
    def enrollment_import(self, request, *args, **kwargs):
        """One enrollment import of the program, with its progress and row errors."""
        job = selectors.access_enrollment_import(
            self.membership, self.get_object(), self.kwargs["import_id"]
        )
        return Response(PartnerImportSerializer(job).data)

    @extend_schema(request=None, responses=EnrollmentSerializer)
    @action(detail=True, methods=["post"])
    def decline(self, request, *args, **kwargs):
        enrollment = enrollment_services.enrollment_decline(
            actor=self.membership, program=self.get_object()
        )
        return Response(EnrollmentSerializer(enrollment).data)

    @extend_schema(request=None, responses=EnrollmentSerializer)
    @action(detail=True, methods=["post"])
    def withdraw(self, request, *args, **kwargs):
        enrollment = enrollment_services.enrollment_withdraw(
            actor=self.membership, program=self.get_object()
        )
        return Response(EnrollmentSerializer(enrollment).data)


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter("program", int),
            OpenApiParameter("status", str, enum=EnrollmentStatus.values),
            OpenApiParameter("partner", int),
        ]
    )
)
class EnrollmentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    """Enrollments: staff see all, partner people their own company's; by program, then
    partner."""

    capability = "tenant.view"
    serializer_class = EnrollmentSerializer
    lookup_url_kwarg = "enrollment_id"

    def list_queryset(self):
        params = self.request.query_params
        status = query_choice(params, "status", EnrollmentStatus.values)
        queryset = selectors.enrollment_list_for(self.membership, status=status)
        for name in ("program", "partner"):
            value = query_int(params, name)
            if value is not None:
                queryset = queryset.filter(**{f"{name}_id": value})
        # By program, then partner: the order of the unique key (tenant, program, partner), so a
        # page is read off the index; by partner name it sorted every enrollment of the tenant
        # (200,000 on the bench) on every request.
        return queryset.order_by("program_id", "partner_id")

    def get_object(self):
        return selectors.access_enrollment(self.membership, self.kwargs["enrollment_id"])

    def list(self, request, *args, **kwargs):
        """The page as plain rows (`EnrollmentSerializer.rows`), equal to the serializer's; the
        statement compiled once a process for who asks and the parameters (`CompiledRows`)."""
        queryset = self.filter_queryset(self.get_queryset())  # a 400 for a bad parameter first
        rows = CompiledRows(
            ("api-enrollments", *list_key(request)), lambda: selectors.enrollment_rows(queryset)
        )
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(EnrollmentSerializer.rows(page))
