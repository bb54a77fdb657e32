"""The Django admin: platform admins only, reading every tenant through the explicit path."""

import pytest
from django.test import Client

from tenancy.roles import Role
from tests.factories.tenancy import UserFactory


@pytest.mark.django_db(transaction=True, databases=["default", "unscoped"])
def test_platform_admin_sees_every_tenants_rows(worlds):
    admin = UserFactory(email="ops@uplift.example", is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(admin)
    memberships = client.get("/admin/tenancy/membership/")
    assert memberships.status_code == 200
    assert b"Alpha Corp" in memberships.content
    assert b"Bravo Corp" in memberships.content
    partners = client.get("/admin/partners/partner/")
    assert b"Alpha Partner Ltd" in partners.content
    assert b"Bravo Partner Ltd" in partners.content


def test_tenant_people_are_not_let_into_the_admin(worlds):
    alpha, _ = worlds
    client = Client()
    client.force_login(alpha.user(Role.VENDOR_ADMIN))
    response = client.get("/admin/tenancy/membership/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


@pytest.mark.django_db(transaction=True, databases=["default", "unscoped"])
def test_the_audit_log_is_read_only_in_the_admin(worlds):
    admin = UserFactory(email="ops@uplift.example", is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(admin)
    assert client.get("/admin/tenancy/auditevent/").status_code == 200
    assert client.get("/admin/tenancy/auditevent/add/").status_code == 403
    added = client.post(
        "/admin/tenancy/auditevent/add/", {"entity": "partners.partner", "action": "x"}
    )
    assert added.status_code == 403
    listing = client.get("/admin/tenancy/auditevent/")
    assert b"Add audit event" not in listing.content
    assert b'name="action"' not in listing.content  # no bulk delete


def test_a_platform_admin_without_memberships_lands_on_the_admin(db):
    admin = UserFactory(email="ops@uplift.example", is_staff=True)
    client = Client()
    client.force_login(admin)
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/admin/"


def test_someone_without_memberships_is_offered_a_workspace(db):
    client = Client()
    client.force_login(UserFactory(email="new@example.com"))
    response = client.get("/")
    assert response.status_code == 200
    assert b"create your own vendor workspace" in response.content
