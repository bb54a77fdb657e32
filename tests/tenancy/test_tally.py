"""`tally`: several counts and existence checks in one statement, compiled once a call site
and tenant, reading live rows every time, and never another tenant's."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tenancy import tally as tally_module
from tenancy.context import all_tenants, tenant_scope
from tenancy.models import Invitation, Membership
from tenancy.roles import Role
from tenancy.tally import tally
from tests.factories.tenancy import InvitationFactory, MembershipFactory


class Builder:
    """The parts of a test tally, counting how often they are built (compiled)."""

    def __init__(self):
        self.builds = 0

    def __call__(self):
        self.builds += 1
        return {
            "admins": ("count", Membership.objects.filter(role=Role.VENDOR_ADMIN)),
            "members": ("count", Membership.objects.all()),
            "invited": ("exists", Invitation.objects.all()),
        }


@pytest.fixture(autouse=True)
def _fresh_statements():
    tally_module._statements.clear()
    yield
    tally_module._statements.clear()


def test_one_statement_compiled_once_reading_live_rows(worlds, settings):
    settings.PREPARED_STATEMENTS = False  # the SQL sent is read here
    alpha, _ = worlds
    build = Builder()
    with tenant_scope(alpha.tenant):
        before = Membership.objects.count()
        admins = Membership.objects.filter(role=Role.VENDOR_ADMIN).count()
        invited = Invitation.objects.exists()
        with CaptureQueriesContext(connection) as queries:
            first = tally("test", build)
        assert len(queries) == 1
        assert first == {"admins": admins, "members": before, "invited": invited}
        MembershipFactory(tenant=alpha.tenant, role=Role.VENDOR_ADMIN)
        InvitationFactory(tenant=alpha.tenant, email="new@alpha.example")
        second = tally("test", build)
    assert second == {"admins": admins + 1, "members": before + 1, "invited": True}
    assert build.builds == 1


def test_each_tenant_has_its_own_statement_and_numbers(worlds):
    alpha, beta = worlds
    MembershipFactory.create_batch(3, tenant=beta.tenant, role=Role.CHANNEL_MANAGER)
    build = Builder()
    results = {}
    for world in (alpha, beta, alpha, beta):
        with tenant_scope(world.tenant):
            expected = Membership.objects.count()
            results[world.tenant.pk] = tally("test", build)["members"]
            assert results[world.tenant.pk] == expected
    assert results[alpha.tenant.pk] != results[beta.tenant.pk]
    assert build.builds == 2


@pytest.mark.django_db(transaction=True, databases=["default", "unscoped"])
def test_unscoped_it_counts_every_tenant_and_is_compiled_each_time(worlds):
    build = Builder()
    with all_tenants(reason="test"):
        every = Membership.objects.count()
        assert tally("test", build)["members"] == every
        assert tally("test", build)["members"] == every
    assert build.builds == 2
