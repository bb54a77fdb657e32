from rest_framework import serializers

from partners.models import Partner, Tier


class PartnerSerializer(serializers.ModelSerializer):
    class Meta:
        model = Partner
        fields = ["id", "name", "created_at"]
        read_only_fields = ["id", "created_at"]


class TierSerializer(serializers.ModelSerializer):
    class Meta:
        model = Tier
        fields = ["id", "name", "rank"]
        read_only_fields = ["id", "rank"]
