"""Eligibility: structured data over partner attributes, one query, reasons a partner reads."""

from __future__ import annotations

import pytest

from incentives.eligibility import (
    ATTRIBUTES,
    clean_eligibility,
    eligibility_q,
    ineligibility_reasons,
)
from partners.models import Partner
from tenancy.context import tenant_scope
from tenancy.errors import ApplicationError
from tests.factories.partners import PartnerFactory, TierFactory

ATTRIBUTE_CASES = [
    ("types", "type", "var", "msp"),
    ("regions", "region", "EMEA", "APAC"),
    ("territories", "territory", "DACH", "Nordics"),
    ("countries", "country", "DE", "FR"),
    ("stages", "stage", "established", "new"),
    ("segments", "segment", "achiever", "deceiver"),
]


@pytest.mark.parametrize(("key", "field", "inside", "outside"), ATTRIBUTE_CASES)
def test_each_attribute_selects_its_partners(alpha, key, field, inside, outside):
    with tenant_scope(alpha.tenant):
        yes = PartnerFactory(tenant=alpha.tenant, name="Yes", **{field: inside})
        no = PartnerFactory(tenant=alpha.tenant, name="No", **{field: outside})
        rule = clean_eligibility({key: [inside]})
        matched = set(Partner.objects.filter(eligibility_q(rule)).values_list("pk", flat=True))
        assert yes.pk in matched
        assert no.pk not in matched
        assert ineligibility_reasons(rule, yes) == []
        [reason] = ineligibility_reasons(rule, no)
    label = ATTRIBUTES[key][1]
    assert reason.startswith(f"The program is open to {label} ")
    assert f"your company's {label} is" in reason


def test_tiers_select_by_ladder_rung_and_name_the_tiers(alpha):
    with tenant_scope(alpha.tenant):
        platinum = TierFactory(tenant=alpha.tenant, name="Platinum", rank=5)
        silver = TierFactory(tenant=alpha.tenant, name="Silver", rank=2)
        top = PartnerFactory(tenant=alpha.tenant, tier=platinum)
        low = PartnerFactory(tenant=alpha.tenant, tier=silver)
        rule = clean_eligibility({"tiers": [platinum.pk]})
        assert list(Partner.objects.filter(eligibility_q(rule))) == [top]
        [reason] = ineligibility_reasons(rule, low)
    assert reason == ("The program is open to tier Platinum; your company's tier is Silver.")


def test_inactive_partners_are_never_eligible(alpha):
    with tenant_scope(alpha.tenant):
        asleep = PartnerFactory(tenant=alpha.tenant, status="inactive")
        assert not Partner.objects.filter(eligibility_q({}), pk=asleep.pk).exists()
        assert ineligibility_reasons({}, asleep) == [
            "Your company's partner account is not active."
        ]


def test_empty_rule_is_every_active_partner(alpha):
    with tenant_scope(alpha.tenant):
        assert Partner.objects.filter(eligibility_q(clean_eligibility({}))).count() == 2


def test_attributes_combine_with_and(alpha):
    with tenant_scope(alpha.tenant):
        both = PartnerFactory(tenant=alpha.tenant, type="var", region="EMEA")
        PartnerFactory(tenant=alpha.tenant, type="var", region="APAC")
        rule = clean_eligibility({"types": ["var"], "regions": ["EMEA"]})
        assert list(Partner.objects.filter(eligibility_q(rule))) == [both]


@pytest.mark.parametrize(
    ("rule", "field"),
    [
        ({"types": ["wizard"]}, "eligibility.types[0]"),
        ({"countries": ["Germany"]}, "eligibility.countries[0]"),
        ({"stages": "new"}, "eligibility.stages"),
        ({"tiers": [999999]}, "eligibility.tiers[0]"),
        ({"colours": ["red"]}, "eligibility"),
    ],
)
def test_bad_rules_name_the_attribute(alpha, rule, field):
    with tenant_scope(alpha.tenant), pytest.raises(ApplicationError) as error:
        clean_eligibility(rule)
    assert field in error.value.errors


def test_another_tenants_tier_is_no_such_tier(worlds):
    alpha, bravo = worlds
    with tenant_scope(bravo.tenant), pytest.raises(ApplicationError, match="No such tier"):
        clean_eligibility({"tiers": [alpha.tier.pk]})
