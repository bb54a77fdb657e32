from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from tenancy.actions import invitation_actions_for
from tenancy.formats import iso_datetime_writer
from tenancy.models import Invitation, Membership, Tenant, User
from tenancy.roles import Role

ActionsField = serializers.ListField(child=serializers.CharField(), read_only=True)


def actions_of(serializer: serializers.Serializer, actions_for, *objects) -> list[str]:
    """`actions_for(caller, *objects)`, sorted, for the membership in the serializer's
    context; [] without one."""
    membership = serializer.context.get("membership")
    return sorted(actions_for(membership, *objects)) if membership is not None else []


class TenantSerializer(serializers.ModelSerializer):
    class Meta:
        model = Tenant
        fields = ["id", "name", "slug", "default_currency", "time_zone", "require_staff_mfa"]
        read_only_fields = ["id", "slug"]


class UserSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "email", "full_name"]
        read_only_fields = fields


class OwnMembershipSerializer(serializers.ModelSerializer):
    tenant = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    tenant_name = serializers.CharField(source="tenant.name", read_only=True)
    partner_name = serializers.CharField(source="partner.name", read_only=True, default=None)

    class Meta:
        model = Membership
        fields = ["id", "tenant", "tenant_name", "role", "partner", "partner_name"]
        read_only_fields = fields


class MeSerializer(serializers.Serializer):
    user = UserSerializer()
    memberships = OwnMembershipSerializer(many=True)


class PartnerField(serializers.PrimaryKeyRelatedField):
    """A partner of the bound tenant; another tenant's id reads as 'does not exist'."""

    def get_queryset(self):
        return Membership._meta.get_field("partner").related_model.objects.all()


class MemberSerializer(serializers.ModelSerializer):
    user = UserSerializer(read_only=True)
    role = serializers.ChoiceField(choices=Role.choices)
    partner = PartnerField(allow_null=True, required=False)

    class Meta:
        model = Membership
        fields = ["id", "user", "role", "partner", "is_active", "created_at"]
        read_only_fields = ["id", "user", "is_active", "created_at"]

    # The columns `rows` reads, as `QuerySet.values()` names them.
    ROW_VALUES = (
        "id",
        "user_id",
        "user__email",
        "user__full_name",
        "role",
        "partner_id",
        "is_active",
        "created_at",
    )

    @classmethod
    def rows(cls, values) -> list[dict]:
        """The list's rows from `values(*ROW_VALUES)`, equal to what the serializer writes for
        the same memberships (a dict a row, no model instance and no field object a value)."""
        stamp = iso_datetime_writer()
        return [
            {
                "id": row["id"],
                "user": {
                    "id": row["user_id"],
                    "email": row["user__email"],
                    "full_name": row["user__full_name"],
                },
                "role": row["role"],
                "partner": row["partner_id"],
                "is_active": row["is_active"],
                "created_at": stamp(row["created_at"]),
            }
            for row in values
        ]


class InvitationSerializer(serializers.ModelSerializer):
    role = serializers.ChoiceField(choices=Role.choices)
    partner = PartnerField(allow_null=True, required=False)
    invited_by = serializers.EmailField(source="invited_by.email", read_only=True, default=None)
    actions = serializers.SerializerMethodField()

    class Meta:
        model = Invitation
        fields = [
            "id",
            "email",
            "role",
            "partner",
            "status",
            "invited_by",
            "created_at",
            "expires_at",
            "sent_at",
            "accepted_at",
            "actions",
        ]
        read_only_fields = [
            "id",
            "status",
            "invited_by",
            "created_at",
            "expires_at",
            "sent_at",
            "accepted_at",
        ]

    @extend_schema_field(ActionsField)
    def get_actions(self, invitation) -> list[str]:
        """What the caller may do with the invitation now: `resend`, `revoke`."""
        return actions_of(self, invitation_actions_for, invitation)
