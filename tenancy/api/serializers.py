from __future__ import annotations

from rest_framework import serializers

from tenancy.models import Invitation, Membership, Tenant, User
from tenancy.roles import Role


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


class InvitationSerializer(serializers.ModelSerializer):
    role = serializers.ChoiceField(choices=Role.choices)
    partner = PartnerField(allow_null=True, required=False)
    invited_by = serializers.EmailField(source="invited_by.email", read_only=True, default=None)

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
