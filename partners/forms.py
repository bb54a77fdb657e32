"""Forms of the partner pages: a partner's attributes, a tier's name, a move on the ladder."""

from __future__ import annotations

from django import forms

from partners.models import PartnerStatus, PartnerType, Segment, Stage
from partners.services import PARTNER_FIELDS

PARTNER_FORM_FIELDS = PARTNER_FIELDS


class MemberChoiceField(forms.ModelChoiceField):
    """A staff membership, shown as its person."""

    def label_from_instance(self, obj) -> str:
        return str(obj.user)


class PartnerForm(forms.Form):
    """Every attribute of a partner. The tier and manager querysets are tenant-owned, so they
    are given per request (a tenant-owned queryset runs only inside a tenant scope)."""

    name = forms.CharField(max_length=200)
    type = forms.ChoiceField(choices=PartnerType.choices, initial=PartnerType.RESELLER)
    tier = forms.ModelChoiceField(queryset=None, required=False, empty_label="No tier")
    region = forms.CharField(max_length=60, required=False, help_text="e.g. EMEA")
    territory = forms.CharField(max_length=100, required=False, help_text="e.g. DACH")
    country = forms.CharField(
        max_length=2, required=False, help_text="Two-letter ISO code, e.g. DE."
    )
    stage = forms.ChoiceField(
        choices=Stage.choices, initial=Stage.NEW, label="Stage of development"
    )
    segment = forms.ChoiceField(
        choices=Segment.choices, initial=Segment.UNASSESSED, label="Engagement segment"
    )
    channel_manager = MemberChoiceField(
        queryset=None, required=False, empty_label="Nobody yet", label="Channel account manager"
    )
    status = forms.ChoiceField(choices=PartnerStatus.choices, initial=PartnerStatus.ACTIVE)
    external_id = forms.CharField(
        max_length=100, required=False, label="CRM id", help_text="CSV imports match on it."
    )

    def __init__(self, *args, tiers, managers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tier"].queryset = tiers
        self.fields["channel_manager"].queryset = managers


def partner_initial(partner) -> dict:
    """The form's starting values for an existing partner."""
    initial = {name: getattr(partner, name) for name in PARTNER_FORM_FIELDS}
    initial["tier"] = partner.tier_id
    initial["channel_manager"] = partner.channel_manager_id
    return initial


class TierForm(forms.Form):
    name = forms.CharField(max_length=60, label="Tier name")


class TierMoveForm(forms.Form):
    """One rung up (a higher rank) or down the ladder."""

    direction = forms.ChoiceField(choices=[("up", "Up"), ("down", "Down")])

    def order(self, ladder: list[int], tier_id: int) -> list[int]:
        """`ladder` (tier ids, lowest first) with `tier_id` swapped with its neighbour."""
        order = list(ladder)
        index = order.index(tier_id)
        other = index + 1 if self.cleaned_data["direction"] == "up" else index - 1
        if 0 <= other < len(order):
            order[index], order[other] = order[other], order[index]
        return order
