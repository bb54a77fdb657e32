"""Query parameters of the partner list API.

The FilterSet validates and documents the parameters; the narrowing itself is
`selectors.partner_list_for` with a `PartnerFilters`, the same code the dashboard list runs, so
the page and the API cannot disagree on what a filter means."""

from __future__ import annotations

from django import forms
from django_filters import rest_framework as filters

from partners import selectors
from partners.models import Partner, PartnerStatus, PartnerType, Segment, Stage
from tenancy.api.filters import FilterSet

# API `ordering` value -> the selector's sort key.
ORDERINGS = {
    "name": "name",
    "-name": "-name",
    "created_at": "created",
    "-created_at": "-created",
    "tier": "tier",
    "-tier": "-tier",
    "region": "region",
    "stage": "stage",
}


class ValueListField(forms.TypedMultipleChoiceField):
    """A repeatable parameter (`?region=EMEA&region=APAC`) with no fixed list of values."""

    default_error_messages = {"invalid_choice": "%(value)s is not a valid value here."}

    def valid_value(self, value) -> bool:
        try:
            self.coerce(value)
        except (TypeError, ValueError):
            return False
        return True


class IdListField(ValueListField):
    def __init__(self, **kwargs):
        super().__init__(coerce=int, **kwargs)


class TextListFilter(filters.MultipleChoiceFilter):
    field_class = ValueListField


class IdListFilter(filters.MultipleChoiceFilter):
    field_class = IdListField


class IdFilter(filters.NumberFilter):
    field_class = forms.IntegerField


def _choices(help_text: str, choices) -> filters.MultipleChoiceFilter:
    return filters.MultipleChoiceFilter(choices=choices, help_text=help_text)


class PartnerFilterSet(FilterSet):
    """Every partner attribute; a repeated parameter matches any of its values."""

    q = filters.CharFilter(
        help_text="Search: each word starts a word of the name (any order, any case; the first "
        "8 words count), or the whole query is the CRM id (any case)."
    )
    type = _choices("Partner type.", PartnerType.choices)
    tier = IdListFilter(help_text="Tier id.")
    region = TextListFilter(help_text="Region, exactly.")
    territory = TextListFilter(help_text="Territory, exactly.")
    country = TextListFilter(help_text="Two-letter country code.")
    stage = _choices("Stage of development.", Stage.choices)
    segment = _choices("Engagement segment.", Segment.choices)
    status = _choices("Partner status.", PartnerStatus.choices)
    channel_manager = IdFilter(
        field_name="channel_manager__id",
        help_text="Membership id of the channel account manager.",
    )
    mine = filters.BooleanFilter(
        help_text="Only the caller's partners as channel account manager (overrides "
        "channel_manager)."
    )
    ordering = filters.ChoiceFilter(
        choices=[(key, key) for key in ORDERINGS], help_text="Sort order; default name."
    )

    class Meta:
        model = Partner
        fields: list[str] = []

    def partner_filters(self) -> selectors.PartnerFilters:
        """The validated parameters as the selector's filters."""
        data = self.form.cleaned_data
        me = self.request.membership
        return selectors.PartnerFilters(
            search=(data.get("q") or "").strip(),
            types=data.get("type") or [],
            tiers=data.get("tier") or [],
            regions=data.get("region") or [],
            territories=data.get("territory") or [],
            countries=[c.upper() for c in data.get("country") or []],
            stages=data.get("stage") or [],
            segments=data.get("segment") or [],
            statuses=data.get("status") or [],
            channel_manager=me.pk if data.get("mine") else data.get("channel_manager"),
            sort=ORDERINGS[data.get("ordering") or "name"],
        )

    def filter_queryset(self, queryset):
        """The caller's partners narrowed by the parameters, through the selector (which also
        applies the caller's visibility that `queryset` carries)."""
        return selectors.partner_list_for(self.request.membership, self.partner_filters())
