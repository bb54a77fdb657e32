"""The Django admin: platform admins only, reading every tenant through the explicit path."""

import pytest
from django.test import Client
from django.urls import reverse

from tenancy.roles import Role
from tests.factories.tenancy import (
    PASSWORD,
    UserFactory,
    pass_second_factor,
    totp_activate,
    totp_code,
)


def platform_admin_client(email: str = "ops@uplift.example") -> Client:
    """A platform admin signed in with password and authenticator."""
    admin = UserFactory(email=email, is_staff=True, is_superuser=True)
    totp_activate(admin)
    client = Client()
    client.force_login(admin)
    pass_second_factor(client)
    return client


@pytest.mark.django_db(transaction=True, databases=["default", "unscoped"])
def test_platform_admin_sees_every_tenants_rows(worlds):
    client = platform_admin_client()
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
    client = platform_admin_client()
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


def test_admin_login_hands_over_to_the_accounts_login(db):
    response = Client().get("/admin/login/?next=/admin/tenancy/membership/")
    assert response.status_code == 302
    assert response["Location"] == (reverse("account_login") + "?next=/admin/tenancy/membership/")


@pytest.mark.django_db(transaction=True, databases=["default", "unscoped"])
def test_a_password_alone_does_not_open_the_admin_of_a_totp_admin(worlds):
    admin = UserFactory(email="ops@uplift.example", is_staff=True, is_superuser=True)
    totp_activate(admin)
    client = Client()
    client.post("/admin/login/?next=/admin/", {"username": admin.email, "password": PASSWORD})
    memberships = client.get("/admin/tenancy/membership/")
    assert memberships.status_code == 302
    assert b"Alpha Corp" not in memberships.content
    # Through the accounts login the password leads to the second factor, not into the admin.
    client.post(
        reverse("account_login") + "?next=/admin/", {"login": admin.email, "password": PASSWORD}
    )
    assert client.get("/admin/tenancy/membership/").status_code == 302


@pytest.mark.django_db(transaction=True, databases=["default", "unscoped"])
def test_a_session_without_the_second_factor_is_refused_by_the_admin(worlds):
    admin = UserFactory(email="ops@uplift.example", is_staff=True, is_superuser=True)
    totp_activate(admin)
    client = Client()
    client.force_login(admin)  # a password-only session
    response = client.get("/admin/tenancy/membership/")
    assert response.status_code == 302
    assert b"Alpha Corp" not in response.content
    login = client.get(response["Location"])
    assert login.status_code == 302
    assert login["Location"].startswith(reverse("mfa_reauthenticate"))


def test_repeated_wrong_admin_passwords_are_locked_out(worlds):
    admin = UserFactory(email="locked@uplift.example", is_staff=True, is_superuser=True)
    totp_activate(admin)
    client = Client()
    login_url = client.get("/admin/login/?next=/admin/")["Location"]
    assert login_url.startswith(reverse("account_login"))
    answers = [
        client.post(login_url, {"login": admin.email, "password": "wrong"}) for _ in range(20)
    ]
    assert b"Too many failed login attempts" in answers[-1].content
    right = Client().post(login_url, {"login": admin.email, "password": PASSWORD})
    assert b"Too many failed login attempts" in right.content
    assert right.status_code in (200, 429)  # no redirect to the second factor
    assert client.get("/admin/").status_code == 302


@pytest.mark.django_db(transaction=True, databases=["default", "unscoped"])
def test_a_platform_admin_without_totp_is_sent_to_set_it_up(worlds):
    admin = UserFactory(email="ops@uplift.example", is_staff=True)
    client = Client()
    client.force_login(admin)
    response = client.get("/admin/tenancy/membership/")
    assert response.status_code == 302
    setup = client.get(response["Location"])
    assert setup.status_code == 302
    assert setup["Location"] == reverse("mfa_activate_totp")
    assert client.get("/admin/").status_code == 302


@pytest.mark.django_db(transaction=True, databases=["default", "unscoped"])
def test_a_platform_admin_with_password_and_totp_reaches_the_admin(worlds):
    admin = UserFactory(email="ops@uplift.example", is_staff=True, is_superuser=True)
    secret = totp_activate(admin)
    client = Client()
    login_url = client.get("/admin/login/?next=/admin/tenancy/membership/")["Location"]
    password = client.post(login_url, {"login": admin.email, "password": PASSWORD})
    assert password["Location"] == reverse("mfa_authenticate")
    done = client.post(reverse("mfa_authenticate"), {"code": totp_code(secret)})
    assert done.status_code == 302
    assert done["Location"] == "/admin/tenancy/membership/"
    memberships = client.get(done["Location"])
    assert memberships.status_code == 200
    assert b"Alpha Corp" in memberships.content


def test_a_person_who_is_not_a_platform_admin_is_told_so_at_the_admin_login(worlds):
    alpha, _ = worlds
    client = Client()
    client.force_login(alpha.user(Role.VENDOR_ADMIN))
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 403
    assert b"not a platform admin" in response.content


@pytest.mark.django_db(transaction=True, databases=["default", "unscoped"])
def test_a_platform_admin_who_sets_up_totp_reaches_the_admin(worlds):
    admin = UserFactory(email="new-ops@uplift.example", is_staff=True)
    client = Client()
    login_url = client.get("/admin/login/?next=/admin/")["Location"]
    client.post(login_url, {"login": admin.email, "password": PASSWORD})
    assert client.get("/admin/login/?next=/admin/")["Location"] == reverse("mfa_activate_totp")
    reauthenticate = client.get(reverse("mfa_activate_totp"))  # allauth asks for the password
    assert reauthenticate["Location"].startswith(reverse("account_reauthenticate"))
    client.post(reauthenticate["Location"], {"password": PASSWORD})
    assert client.get("/admin/").status_code == 302  # not before the authenticator is set up
    setup = client.get(reverse("mfa_activate_totp"))
    assert setup.status_code == 200
    secret = client.session["mfa.totp.secret"]
    activated = client.post(reverse("mfa_activate_totp"), {"code": totp_code(secret)})
    assert activated.status_code == 302
    assert client.get("/admin/").status_code == 200


@pytest.mark.django_db(transaction=True, databases=["default", "unscoped"])
def test_claims_are_read_in_the_admin_and_moved_only_by_their_services(worlds):
    from tests.incentives.test_claims import draft

    alpha, bravo = worlds
    claims = [draft(alpha), draft(bravo)]
    client = platform_admin_client()
    listing = client.get("/admin/incentives/claim/")
    assert listing.status_code == 200
    assert b"Alpha Partner Ltd" in listing.content
    assert b"Bravo Partner Ltd" in listing.content
    assert client.get("/admin/incentives/claim/add/").status_code == 403
    change = f"/admin/incentives/claim/{claims[0].pk}/change/"
    assert client.get(change).status_code == 200  # shown read-only
    assert client.post(change, {"status": "approved"}).status_code == 403
