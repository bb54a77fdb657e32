"""The API's FilterSet base shares its filters and form fields between requests, unless a
filter reads its FilterSet (a `method`, a queryset built from the request), and still
validates each request on its own."""

from __future__ import annotations

import django_filters
import pytest
from django.http import QueryDict

from partners.api.filters import PartnerFilterSet
from partners.models import Partner
from tenancy.api.filters import FilterSet


class MethodFilterSet(FilterSet):
    named = django_filters.CharFilter(method="filter_named")

    class Meta:
        model = Partner
        fields: list[str] = []

    def filter_named(self, queryset, name, value):
        return queryset.filter(name=value)


def bound(filterset_class, query: str):
    return filterset_class(QueryDict(query), queryset=Partner._base_manager.none())


def test_filters_and_form_fields_are_shared_between_requests():
    first, second = bound(PartnerFilterSet, "type=var"), bound(PartnerFilterSet, "type=msp")
    assert first.filters["type"] is second.filters["type"]
    assert first.form.fields["type"] is second.form.fields["type"]
    assert first.form is not second.form


def test_a_filter_that_reads_its_filterset_is_copied_per_request():
    first, second = bound(MethodFilterSet, "named=a"), bound(MethodFilterSet, "named=b")
    assert first.filters["named"] is not second.filters["named"]
    assert first.filters["named"].parent is first
    assert second.filters["named"].parent is second


@pytest.mark.parametrize(
    ("query", "valid", "cleaned"),
    [
        ("type=var&type=msp", True, {"type": ["var", "msp"]}),
        ("type=nonsense", False, None),
        ("tier=3&tier=4", True, {"tier": [3, 4]}),
        ("tier=x", False, None),
    ],
)
def test_each_request_is_validated_on_its_own(query, valid, cleaned):
    bound(PartnerFilterSet, "type=nonsense&tier=x").is_valid()  # an invalid one before
    filterset = bound(PartnerFilterSet, query)
    assert filterset.is_valid() is valid
    if valid:
        for name, value in cleaned.items():
            assert filterset.form.cleaned_data[name] == value
    else:
        assert filterset.errors
