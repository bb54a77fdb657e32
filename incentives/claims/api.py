"""The claims API: `/api/v1/t/<tenant_slug>/claims/`.

Partner people make drafts (`POST` with the program, the claim's type and its fields), change
and discard them, submit them and appeal a rejection; staff who review decide the flagged ones.
Everyone reads the claims within reach (`incentives.claims.selectors`); a claim's page carries
its serial numbers and the rule-by-rule trace of its last validation.
"""

from __future__ import annotations

from contextlib import contextmanager

from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from incentives.claims import rules, selectors, services
from incentives.claims.models import CheckResult, Claim, ClaimStatus, Rule, RuleOutcome
from incentives.claims.states import CLAIM_STATES
from incentives.claims.types import ClaimKind
from incentives.selectors import access_program
from tenancy.api.base import TenantViewSet
from tenancy.errors import ApplicationError
from tenancy.idempotency import replayed_or_run
from tenancy.permissions import can
from tenancy.query import query_choice, query_int

CLAIM_FIELDS = [
    "id",
    "program",
    "partner",
    "rep",
    "type",
    "status",
    "occurred_on",
    "invoice_number",
    "sku",
    "quantity",
    "unit_price",
    "amount",
    "currency",
    "end_customer",
    "measure",
    "details",
    "submitted_at",
    "decided_at",
    "decision_note",
    "appealed_at",
    "appeal_message",
    "created_at",
    "updated_at",
]


class ClaimSerializer(serializers.ModelSerializer):
    type = serializers.CharField(source="kind", read_only=True)

    class Meta:
        model = Claim
        fields = CLAIM_FIELDS
        read_only_fields = CLAIM_FIELDS


class CheckSerializer(serializers.Serializer):
    rule = serializers.CharField(source="rule_name")
    result = serializers.CharField()
    message = serializers.CharField()


class ClaimDetailSerializer(ClaimSerializer):
    """A claim with its serial numbers, the rule-by-rule trace of its last validation and what
    the caller may do with it."""

    serial_numbers = serializers.SerializerMethodField()
    checks = serializers.SerializerMethodField()
    actions = serializers.SerializerMethodField()

    class Meta(ClaimSerializer.Meta):
        fields = [*CLAIM_FIELDS, "serial_numbers", "checks", "actions"]
        read_only_fields = fields

    def get_serial_numbers(self, claim) -> list[str]:
        return selectors.claim_serials(claim)

    @extend_schema_field(CheckSerializer(many=True))
    def get_checks(self, claim) -> list[dict]:
        return CheckSerializer(selectors.claim_trace(claim), many=True).data

    def get_actions(self, claim) -> list[str]:
        return claim_actions_for(self.context.get("membership"), claim)


def claim_actions_for(actor, claim: Claim) -> list[str]:
    """What `actor` may do with `claim` now: its state's moves that the actor's role holds."""
    if actor is None:
        return []
    allowed = CLAIM_STATES.actions_from(claim.status)
    own = actor.partner_id == claim.partner_id and (
        can(actor, "claims.for_partner") or claim.rep_id == actor.pk
    )
    found = []
    if own and can(actor, "claims.submit"):
        found += [a for a in ("edit", "discard", "submit") if a in allowed]
        if "appeal" in allowed and claim.appealed_at is None:
            found.append("appeal")
    if can(actor, "claims.review") and claim.created_by_id != actor.user_id:
        found += [a for a in ("approve", "reject") if a in allowed]
    return found


@contextmanager
def fields_named_in_body():
    """A claim type's field errors as the body names them: `fields.<name>`."""
    try:
        yield
    except ApplicationError as error:
        error.errors = {
            (name if name in ("type", "program", None) else f"fields.{name}"): messages
            for name, messages in error.errors.items()
        }
        raise


class ClaimCreateSerializer(serializers.Serializer):
    program = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    type = serializers.ChoiceField(choices=ClaimKind.choices)
    fields = serializers.DictField(
        help_text="The type's fields, by name (see the claim types); every problem is named."
    )


class ClaimFieldsSerializer(serializers.Serializer):
    fields = serializers.DictField()


class AppealSerializer(serializers.Serializer):
    message = serializers.CharField(max_length=2000)


class DecisionSerializer(serializers.Serializer):
    approve = serializers.BooleanField()
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter("status", str, enum=ClaimStatus.values),
            OpenApiParameter("program", int),
            OpenApiParameter("partner", int),
            OpenApiParameter("type", str, enum=ClaimKind.values),
        ]
    ),
    retrieve=extend_schema(responses=ClaimDetailSerializer),
    create=extend_schema(
        request=ClaimCreateSerializer,
        responses={201: ClaimDetailSerializer},
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                str,
                location=OpenApiParameter.HEADER,
                required=False,
                description="Send a retry with the same key: it replays the first answer.",
            )
        ],
    ),
    partial_update=extend_schema(request=ClaimFieldsSerializer, responses=ClaimDetailSerializer),
)
class ClaimViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    TenantViewSet,
):
    """Claims within the caller's reach, newest first."""

    capability = "claims.view"
    write_capability = "claims.submit"
    serializer_class = ClaimSerializer
    lookup_url_kwarg = "claim_id"
    filter_backends: list = []  # `list` reads its documented parameters itself
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    idempotent_actions = ("create",)  # `Idempotency-Key` (`tenancy.idempotency`)

    def capabilities_for(self, method: str) -> tuple[str, ...]:
        if self.action == "decide":
            return (self.capability, "claims.review")
        return super().capabilities_for(method)

    def list_queryset(self):
        params = self.request.query_params
        queryset = selectors.claim_list_for(self.membership)
        found = query_choice(params, "status", ClaimStatus.values)
        if found:
            queryset = queryset.filter(status=found)
        kind = query_choice(params, "type", ClaimKind.values)
        if kind:
            queryset = queryset.filter(kind=kind)
        for name in ("program", "partner"):
            value = query_int(params, name)
            if value is not None:
                queryset = queryset.filter(**{f"{name}_id": value})
        return queryset

    def get_object(self):
        return selectors.access_claim(self.membership, self.kwargs["claim_id"])

    def _detail(self, claim, code=status.HTTP_200_OK) -> Response:
        context = self.get_serializer_context()
        return Response(ClaimDetailSerializer(claim, context=context).data, status=code)

    def retrieve(self, request, *args, **kwargs):
        return self._detail(self.get_object())

    def create(self, request, *args, **kwargs):
        """A draft claim. With an `Idempotency-Key` header, the same key and body again replay
        the first answer (header `Idempotent-Replayed: true`), the key with another body is a
        422, and concurrent requests with one key make one claim (`tenancy.idempotency`)."""
        return replayed_or_run(request, self.membership, lambda: self._create(request))

    def _create(self, request) -> Response:
        body = ClaimCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        program = access_program(self.membership, body.validated_data["program"])
        with fields_named_in_body():
            claim = services.claim_create(
                actor=self.membership,
                program=program,
                kind=body.validated_data["type"],
                data=body.validated_data["fields"],
            )
        return self._detail(claim, status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        claim = self.get_object()  # another's claim is a 404 whatever the body
        body = ClaimFieldsSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        with fields_named_in_body():
            claim = services.claim_update(
                actor=self.membership, claim=claim, data=body.validated_data["fields"]
            )
        return self._detail(claim)

    def destroy(self, request, *args, **kwargs):
        services.claim_discard(actor=self.membership, claim=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses=ClaimDetailSerializer)
    @action(detail=True, methods=["post"])
    def submit(self, request, *args, **kwargs):
        claim = services.claim_submit(actor=self.membership, claim=self.get_object())
        return self._detail(claim)

    @extend_schema(request=AppealSerializer, responses=ClaimDetailSerializer)
    @action(detail=True, methods=["post"])
    def appeal(self, request, *args, **kwargs):
        claim = self.get_object()
        body = AppealSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        claim = services.claim_appeal(
            actor=self.membership, claim=claim, message=body.validated_data["message"]
        )
        return self._detail(claim)

    @extend_schema(request=DecisionSerializer, responses=ClaimDetailSerializer)
    @action(detail=True, methods=["post"])
    def decide(self, request, *args, **kwargs):
        claim = self.get_object()
        body = DecisionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        claim = services.claim_decide(
            actor=self.membership,
            claim=claim,
            approve=body.validated_data["approve"],
            note=body.validated_data["note"],
        )
        return self._detail(claim)


class RuleTrySerializer(serializers.Serializer):
    expression = serializers.CharField(max_length=rules.MAX_EXPRESSION, trim_whitespace=False)
    outcome = serializers.ChoiceField(choices=RuleOutcome.choices, default=RuleOutcome.FLAG)
    message = serializers.CharField(max_length=300, default="The rule did not pass.")
    params = serializers.DictField(required=False, default=dict)
    sample = serializers.DictField(
        required=False,
        default=dict,
        help_text="Replaces fields of the sample claim's names: claim, partner, program, facts.",
    )

    def validate_sample(self, value: dict) -> dict:
        unknown = sorted(set(value) - set(rules.SAMPLE))
        if unknown:
            raise serializers.ValidationError(f"No name {unknown[0][:40]!r} in the sample.")
        if not all(isinstance(part, dict) for part in value.values()):
            raise serializers.ValidationError("Each name of the sample is an object of fields.")
        return value


class RuleTriedSerializer(serializers.Serializer):
    result = serializers.ChoiceField(choices=CheckResult.choices)
    message = serializers.CharField(allow_blank=True)


class ClaimRuleViewSet(TenantViewSet):
    """The rule editor's check: an expression compiled (syntax and the names it reads) and
    tried on a sample claim, before it is saved."""

    capability = "programs.edit"
    lookup_url_kwarg = "rule_id"
    serializer_class = RuleTrySerializer

    def list_queryset(self):
        return Rule.objects.none()

    @extend_schema(request=RuleTrySerializer, responses=RuleTriedSerializer)
    @action(detail=False, methods=["post"], url_path="try")
    def try_rule(self, request, *args, **kwargs):
        body = RuleTrySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        params = services.clean_rule_params(data["params"])
        verdict = rules.tried(
            data["expression"], data["outcome"], data["message"], params, data["sample"]
        )
        return Response({"result": verdict.result, "message": verdict.message})
