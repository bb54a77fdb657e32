from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from partners.actions import partner_actions_for
from partners.models import Partner, Tier
from tenancy.api.serializers import ActionsField, actions_of
from tenancy.models import Membership


class TierField(serializers.PrimaryKeyRelatedField):
    """A tier of the bound tenant; another tenant's id reads as 'does not exist'."""

    def get_queryset(self):
        return Tier.objects.all()


class ChannelManagerField(serializers.PrimaryKeyRelatedField):
    """An active membership of the bound tenant (the service checks it is vendor staff)."""

    def get_queryset(self):
        return Membership.objects.filter(is_active=True).select_related("user")


class PartnerSerializer(serializers.ModelSerializer):
    tier = TierField(allow_null=True, required=False, help_text="A tier id (see /tiers/).")
    tier_name = serializers.CharField(source="tier.name", read_only=True, default=None)
    channel_manager = ChannelManagerField(
        allow_null=True,
        required=False,
        help_text="The membership id of the channel account manager, a vendor staff member.",
    )
    channel_manager_email = serializers.EmailField(
        source="channel_manager.user.email", read_only=True, default=None
    )
    actions = serializers.SerializerMethodField()

    class Meta:
        model = Partner
        fields = [
            "id",
            "name",
            "type",
            "tier",
            "tier_name",
            "region",
            "territory",
            "country",
            "stage",
            "segment",
            "channel_manager",
            "channel_manager_email",
            "status",
            "external_id",
            "created_at",
            "updated_at",
            "actions",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]

    @extend_schema_field(ActionsField)
    def get_actions(self, partner) -> list[str]:
        """What the caller may do with the partner: `edit`."""
        return actions_of(self, partner_actions_for, partner)


class TierSerializer(serializers.ModelSerializer):
    class Meta:
        model = Tier
        fields = ["id", "name", "rank"]
        read_only_fields = ["id", "rank"]


class TierReorderSerializer(serializers.Serializer):
    order = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        allow_empty=False,
        help_text="Every tier id exactly once, lowest tier first.",
    )
