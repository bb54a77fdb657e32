"""Writes of partners and the tier ladder: field-named refusals, roles, and history."""

from __future__ import annotations

import pytest

from partners import services
from partners.models import Partner, Tier
from tenancy.audit import history_of
from tenancy.context import tenant_scope
from tenancy.errors import ApplicationError, NotPermitted
from tenancy.roles import Role


def test_create_records_every_attribute_as_history(worlds):
    alpha, _ = worlds
    cam = alpha.member(Role.CHANNEL_MANAGER)
    with tenant_scope(alpha.tenant):
        partner = services.partner_create(
            actor=cam, name=" Initech ", country="fr", tier=alpha.tier, region="EMEA"
        )
        event = history_of(partner)[0]
    assert (partner.name, partner.country) == ("Initech", "FR")
    assert (event.action, event.actor) == ("created", cam.user)
    assert event.changes["tier"] == [None, "Alpha Gold"]
    assert event.changes["type"] == [None, "Reseller"]


def test_update_records_the_change_and_nothing_when_nothing_changed(worlds):
    alpha, _ = worlds
    admin = alpha.member(Role.VENDOR_ADMIN)
    with tenant_scope(alpha.tenant):
        services.partner_update(actor=admin, partner=alpha.partner, stage="established")
        services.partner_update(actor=admin, partner=alpha.partner, stage="established")
        events = list(history_of(alpha.partner))
    assert len(events) == 1
    assert events[0].changes == {"stage": ["New", "Established"]}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"country": "Germany"}, "country"),
        ({"country": "1A"}, "country"),
        ({"type": "wizard"}, "type"),
        ({"segment": "champion"}, "segment"),
        ({"name": " "}, "name"),
        ({"tier": "Gold"}, "tier"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_values_are_refused_naming_the_field(worlds, changes, field):
    alpha, _ = worlds
    with tenant_scope(alpha.tenant), pytest.raises(ApplicationError) as refused:
        services.partner_update(
            actor=alpha.member(Role.VENDOR_ADMIN), partner=alpha.partner, **changes
        )
    assert list(refused.value.errors) == [field]


def test_a_partner_person_is_not_a_channel_manager(worlds):
    alpha, _ = worlds
    with tenant_scope(alpha.tenant), pytest.raises(ApplicationError) as refused:
        services.partner_create(
            actor=alpha.member(Role.VENDOR_ADMIN),
            name="Initech",
            channel_manager=alpha.member(Role.PARTNER_ADMIN),
        )
    assert list(refused.value.errors) == ["channel_manager"]


@pytest.mark.parametrize("role", [Role.CLAIMS_REVIEWER, Role.PARTNER_ADMIN, Role.PARTNER_REP])
def test_only_editors_write_partners(worlds, role):
    alpha, _ = worlds
    with tenant_scope(alpha.tenant), pytest.raises(NotPermitted):
        services.partner_create(actor=alpha.member(role), name="Initech")


def test_tier_ladder_operations(worlds):
    alpha, _ = worlds
    admin = alpha.member(Role.VENDOR_ADMIN)
    with tenant_scope(alpha.tenant):
        silver = services.tier_create(actor=admin, name="Silver")
        assert silver.rank == 2
        with pytest.raises(ApplicationError) as duplicate:
            services.tier_create(actor=admin, name="SILVER")
        assert list(duplicate.value.errors) == ["name"]
        ladder = services.tier_reorder(actor=admin, tier_ids=[silver.pk, alpha.tier.pk])
        assert [t.name for t in ladder] == ["Silver", "Alpha Gold"]
        with pytest.raises(ApplicationError) as partial:
            services.tier_reorder(actor=admin, tier_ids=[silver.pk])
        assert list(partial.value.errors) == ["order"]
        with pytest.raises(ApplicationError, match="move them to another tier first"):
            services.tier_delete(actor=admin, tier=alpha.tier)
        services.tier_delete(actor=admin, tier=silver)
        assert list(Tier.objects.values_list("name", flat=True)) == ["Alpha Gold"]
        assert Partner.objects.filter(tier=alpha.tier).count() == 1


def test_only_the_vendor_admin_changes_tiers(worlds):
    alpha, _ = worlds
    cam = alpha.member(Role.CHANNEL_MANAGER)
    with tenant_scope(alpha.tenant):
        for attempt in (
            lambda: services.tier_create(actor=cam, name="Silver"),
            lambda: services.tier_update(actor=cam, tier=alpha.tier, name="Bronze"),
            lambda: services.tier_reorder(actor=cam, tier_ids=[alpha.tier.pk]),
            lambda: services.tier_delete(actor=cam, tier=alpha.tier),
        ):
            with pytest.raises(NotPermitted):
                attempt()
