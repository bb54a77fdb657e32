"""Wall 1: the scoped manager."""

import pytest
from django.conf import settings
from django.db import connection, connections

from partners.models import Partner
from tenancy.context import (
    UNSCOPED_ALIAS,
    TenantContextConflict,
    TenantContextMissing,
    all_tenants,
    bound_tenant_id,
    tenant_scope,
)
from tenancy.models import Membership


def _db_setting() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('app.tenant_id', true)")
        return cursor.fetchone()[0] or ""


def test_query_outside_a_scope_raises_instead_of_returning_nothing(worlds):
    with pytest.raises(TenantContextMissing):
        list(Partner.objects.all())
    with pytest.raises(TenantContextMissing):
        Membership.objects.count()


def test_queryset_built_at_import_time_runs_in_the_scope_it_is_evaluated_in(worlds):
    alpha, bravo = worlds
    queryset = Partner.objects.order_by("name")  # built unscoped: nothing runs yet
    with tenant_scope(alpha.tenant):
        assert {p.tenant_id for p in queryset.all()} == {alpha.tenant.pk}
    with tenant_scope(bravo.tenant):
        assert {p.tenant_id for p in queryset.all()} == {bravo.tenant.pk}


def test_scope_sees_only_its_tenant(worlds):
    alpha, _ = worlds
    with tenant_scope(alpha.tenant):
        names = set(Partner.objects.values_list("name", flat=True))
    assert names == {alpha.partner.name, alpha.other_partner.name}


@pytest.mark.django_db(transaction=True, databases=["default", "unscoped"])
def test_all_tenants_is_the_explicit_unscoped_path_on_its_own_role(worlds):
    with all_tenants(reason="test: count every tenant's partners"):
        assert Partner.objects.count() == 4
        assert Partner.objects.all().db == UNSCOPED_ALIAS
        with connections[UNSCOPED_ALIAS].cursor() as cursor:
            cursor.execute("SELECT current_user")
            assert cursor.fetchone()[0] == settings.UNSCOPED_DB_ROLE
    # Outside it, even an object it loaded is written through the application's connection.
    assert Partner._base_manager.db_manager().db == "default"


def test_all_tenants_requires_a_reason():
    with pytest.raises(ValueError, match="reason"), all_tenants(reason=""):
        pass


def test_a_scope_for_another_tenant_cannot_open_inside_a_scope(worlds):
    alpha, bravo = worlds
    with (
        tenant_scope(alpha.tenant),
        pytest.raises(TenantContextConflict),
        tenant_scope(bravo.tenant),
    ):
        pass


def test_all_tenants_and_a_tenant_binding_do_not_nest(worlds):
    alpha, _ = worlds
    with all_tenants(reason="test: outer"), pytest.raises(TenantContextConflict):
        tenant_scope(alpha.tenant).__enter__()
    with tenant_scope(alpha.tenant), pytest.raises(TenantContextConflict):
        all_tenants(reason="test: inner").__enter__()
    assert bound_tenant_id() is None
    assert _db_setting() == ""


def test_save_takes_the_bound_tenant(worlds):
    alpha, _ = worlds
    with tenant_scope(alpha.tenant):
        partner = Partner.objects.create(name="Fresh Reseller")
    assert partner.tenant_id == alpha.tenant.pk


def test_save_refuses_a_row_of_another_tenant(worlds):
    alpha, bravo = worlds
    with tenant_scope(alpha.tenant), pytest.raises(ValueError, match="belongs to tenant"):
        Partner(tenant=bravo.tenant, name="Smuggled").save()


def test_save_without_any_tenant_is_refused(db):
    with pytest.raises(ValueError, match="needs a tenant"):
        Partner(name="Orphan").save()
