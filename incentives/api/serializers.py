from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from incentives.eligibility import ATTRIBUTES, MAX_VALUE_LENGTH, MAX_VALUES
from incentives.models import (
    Enrollment,
    EnrollmentMode,
    InviteJob,
    Program,
    ProgramKind,
    ProgramTerms,
)
from incentives.states import STATUS_ACTIONS
from tenancy.formats import decimal_writer, iso_datetime_writer


class FiguresSerializer(serializers.Serializer):
    eligible = serializers.IntegerField()
    enrolled = serializers.IntegerField()
    required = serializers.IntegerField()
    required_enrolled = serializers.IntegerField()
    enrollment_rate = serializers.FloatField(allow_null=True, help_text="null: nothing eligible")
    required_rate = serializers.FloatField(allow_null=True, help_text="null: nothing required")


def _eligibility_schema() -> dict:
    """The shape `incentives.eligibility.clean_eligibility` accepts and stores."""
    properties = {}
    for key, (_, label, allowed) in ATTRIBUTES.items():
        if key == "tiers":
            item = {"type": "integer", "minimum": 1, "description": "A tier id."}
        else:
            item = {"type": "string", "maxLength": MAX_VALUE_LENGTH}
            if allowed is not None:
                item["enum"] = list(allowed)
        if key == "countries":
            item["description"] = "A two-letter country code."
        properties[key] = {
            "type": "array",
            "items": item,
            "maxItems": MAX_VALUES,
            "nullable": True,
            "description": f"The {label}s a partner may have; empty or absent: any.",
        }
    return {
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
        "description": "Which active partners are eligible: for every attribute given, the "
        "partner's value is one of the list.",
    }


@extend_schema_field(_eligibility_schema())
class EligibilityField(serializers.JSONField):
    """A program's eligibility; `clean_eligibility` (in the service) validates it."""


class ProgramSerializer(serializers.ModelSerializer):
    kind = serializers.ChoiceField(choices=ProgramKind.choices)
    enrollment_mode = serializers.ChoiceField(choices=EnrollmentMode.choices, required=False)
    budget = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0)
    eligibility = EligibilityField(required=False)
    current_terms_version = serializers.IntegerField(read_only=True, allow_null=True)
    figures = serializers.SerializerMethodField()
    actions = serializers.SerializerMethodField()

    class Meta:
        model = Program
        fields = [
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
            "figures",
            "actions",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "status", "created_at", "updated_at"]
        extra_kwargs = {"currency": {"required": False}}

    @extend_schema_field(FiguresSerializer(allow_null=True))
    def get_figures(self, program) -> dict | None:
        """Live figures, for staff; None for partner people."""
        figures = self.context.get("figures", {}).get(program.pk)
        if figures is None:
            return None
        return {
            "eligible": figures.eligible,
            "enrolled": figures.enrolled,
            "required": figures.required,
            "required_enrolled": figures.required_enrolled,
            "enrollment_rate": figures.enrollment_rate,
            "required_rate": figures.required_rate,
        }

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_actions(self, program) -> list[str]:
        """What the caller may do on the program now: for staff `edit`, `activate`, `pause`,
        `close`, `publish_terms`, `set_required_partners`, `invite`, `enroll_on_behalf`; for a
        partner admin `enroll`, `reaccept`, `decline`, `withdraw` (for their company)."""
        return sorted(self.context.get("actions", {}).get(program.pk, ()))

    @classmethod
    def rows(cls, values, *, figures: dict, actions: dict) -> list[dict]:
        """The list's rows from `selectors.program_list_rows`, equal to what the serializer
        writes for the same programs with the same `figures` and `actions` in its context (a
        dict a row, no model instance and no field object a value)."""
        stamp = iso_datetime_writer()
        money = decimal_writer(2)
        out = []
        for row in values:
            pk = row["id"]
            stored = figures.get(pk)
            out.append(
                {
                    "id": pk,
                    "name": row["name"],
                    "description": row["description"],
                    "kind": row["kind"],
                    "status": row["status"],
                    "starts_on": row["starts_on"].isoformat(),
                    "ends_on": row["ends_on"].isoformat(),
                    "claim_window_days": row["claim_window_days"],
                    "currency": row["currency"],
                    "budget": money(row["budget"]),
                    "eligibility": row["eligibility"],
                    "enrollment_mode": row["enrollment_mode"],
                    "current_terms_version": row["current_terms_version"],
                    "figures": None
                    if stored is None
                    else {
                        "eligible": stored.eligible,
                        "enrolled": stored.enrolled,
                        "required": stored.required,
                        "required_enrolled": stored.required_enrolled,
                        "enrollment_rate": stored.enrollment_rate,
                        "required_rate": stored.required_rate,
                    },
                    "actions": sorted(actions.get(pk, ())),
                    "created_at": stamp(row["created_at"]),
                    "updated_at": stamp(row["updated_at"]),
                }
            )
        return out


class TransitionSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=STATUS_ACTIONS)


class TermsSerializer(serializers.ModelSerializer):
    class Meta:
        model = ProgramTerms
        fields = ["id", "version", "body", "created_at"]
        read_only_fields = ["id", "version", "created_at"]


class PartnerIdsSerializer(serializers.Serializer):
    partner_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        allow_null=True,
        required=False,
        help_text="Omit or null for every eligible partner (invite only).",
    )


class InviteResultSerializer(serializers.Serializer):
    invited = serializers.IntegerField()
    ineligible = serializers.IntegerField()
    unchanged = serializers.IntegerField()


class InviteJobSerializer(serializers.ModelSerializer):
    """Invitations to every eligible partner, sent in the background; poll `url` for progress."""

    url = serializers.SerializerMethodField(help_text="Where to poll this job's progress.")
    progress_percent = serializers.IntegerField(read_only=True)

    class Meta:
        model = InviteJob
        fields = [
            "id",
            "program",
            "status",
            "total",
            "done",
            "invited",
            "unchanged",
            "error_count",
            "errors",
            "failure",
            "progress_percent",
            "created_at",
            "started_at",
            "finished_at",
            "url",
        ]
        read_only_fields = fields

    def get_url(self, job: InviteJob) -> str:
        slug = self.context["membership"].tenant.slug
        path = reverse(
            "program-invite-job", kwargs={"tenant_slug": slug, "program_id": job.program_id}
        )
        return self.context["request"].build_absolute_uri(path)


class OnBehalfSerializer(serializers.Serializer):
    partner_id = serializers.IntegerField(min_value=1, help_text="The partner to enroll.")
    reason = serializers.CharField(
        allow_blank=True,
        help_text="Why staff enroll the partner on its behalf (e.g. the paper form it signed): "
        "required, one line, at most 500 characters. Recorded on the enrollment and in its "
        "history.",
    )
    terms_version = serializers.IntegerField(
        min_value=1,
        required=False,
        help_text="The terms version accepted for the partner; a newer one published meanwhile "
        "is a 409 (stale_terms). Omitted: the current version.",
    )


class AcceptSerializer(serializers.Serializer):
    terms_version = serializers.IntegerField(min_value=1)


class EnrollmentSerializer(serializers.ModelSerializer):
    """`on_behalf`: vendor staff (`accepted_by`) accepted the terms for the partner, for the
    reason in `on_behalf_reason`."""

    partner_name = serializers.CharField(source="partner.name", read_only=True)
    program_name = serializers.CharField(source="program.name", read_only=True)
    terms_version = serializers.IntegerField(source="terms.version", read_only=True, default=None)
    accepted_by = serializers.EmailField(source="accepted_by.email", read_only=True, default=None)

    class Meta:
        model = Enrollment
        fields = [
            "id",
            "program",
            "program_name",
            "partner",
            "partner_name",
            "status",
            "automatic",
            "terms_version",
            "accepted_by",
            "accepted_at",
            "accepted_from",
            "on_behalf",
            "on_behalf_reason",
            "invited_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @classmethod
    def rows(cls, values) -> list[dict]:
        """The list's rows from `selectors.enrollment_rows`, equal to what the serializer writes for
        the same enrollments (a dict a row, no model instance and no field object a value)."""
        stamp = iso_datetime_writer()
        return [
            {
                "id": row["id"],
                "program": row["program_id"],
                "program_name": row["program_name"],
                "partner": row["partner_id"],
                "partner_name": row["partner_name"],
                "status": row["status"],
                "automatic": row["automatic"],
                "terms_version": row["terms_version"],
                "accepted_by": row["accepted_by_email"],
                "accepted_at": stamp(row["accepted_at"]),
                "accepted_from": row["accepted_from"],
                "on_behalf": row["on_behalf"],
                "on_behalf_reason": row["on_behalf_reason"],
                "invited_at": stamp(row["invited_at"]),
                "created_at": stamp(row["created_at"]),
                "updated_at": stamp(row["updated_at"]),
            }
            for row in values
        ]
