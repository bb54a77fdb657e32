from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from partners.actions import partner_actions_for
from partners.models import Partner, Tier
from tenancy.api.serializers import ActionsField, actions_of
from tenancy.formats import iso_datetime_writer
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

    # The columns `rows` reads, as `QuerySet.values()` names them.
    ROW_VALUES = (
        "id",
        "name",
        "type",
        "tier_id",
        "tier__name",
        "region",
        "territory",
        "country",
        "stage",
        "segment",
        "channel_manager_id",
        "channel_manager__user__email",
        "status",
        "external_id",
        "created_at",
        "updated_at",
    )

    @classmethod
    def rows(cls, values, membership) -> list[dict]:
        """The list's rows from `values(*ROW_VALUES)`, equal to what the serializer writes for
        the same partners (the list API's hot path: a dict a row, no field objects)."""
        stamp = iso_datetime_writer()
        # The actions on a partner do not depend on which partner (`partners.actions`).
        actions = sorted(partner_actions_for(membership, None)) if membership else []
        out = []
        for row in values:
            out.append(
                {
                    "id": row["id"],
                    "name": row["name"],
                    "type": row["type"],
                    "tier": row["tier_id"],
                    "tier_name": row["tier__name"],
                    "region": row["region"],
                    "territory": row["territory"],
                    "country": row["country"],
                    "stage": row["stage"],
                    "segment": row["segment"],
                    "channel_manager": row["channel_manager_id"],
                    "channel_manager_email": row["channel_manager__user__email"],
                    "status": row["status"],
                    "external_id": row["external_id"],
                    "created_at": stamp(row["created_at"]),
                    "updated_at": stamp(row["updated_at"]),
                    "actions": list(actions),
                }
            )
        return out


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
