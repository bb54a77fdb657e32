"""A vendor signs up, invites a partner rep by email, and the rep lands in the portal."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from django.core import mail
from playwright.sync_api import expect

from tenancy.context import tenant_scope
from tenancy.models import Membership, Tenant, User
from tenancy.roles import Role
from tests.conftest import build_world
from tests.factories.partners import PartnerFactory
from tests.factories.tenancy import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.worker]


def _path(url: str) -> str:
    return urlsplit(url).path


def test_vendor_signs_up_invites_a_rep_who_lands_in_the_portal(
    live_server, transactional_db, celery_worker, browser, screenshots
):
    base = live_server.url
    vendor = browser.new_context(base_url=base)
    page = vendor.new_page()

    # 1. Self-serve sign-up creates the vendor workspace.
    page.goto("/accounts/signup/")
    page.fill("#id_email", "owner@initech.example")
    page.fill("#id_full_name", "Dana Vendor")
    page.fill("#id_company_name", "Initech Networks")
    page.fill("#id_password1", "a-very-long-passphrase-7")
    page.fill("#id_password2", "a-very-long-passphrase-7")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/accounts/confirm-email/"))

    # 2. The verification email (sent by the web process) confirms the address and signs in.
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+/", mail.outbox[-1].body).group(0)
    page.goto(_path(link))
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/t/initech-networks/$"))
    assert page.locator("h1").inner_text() == "Initech Networks"
    page.screenshot(path=screenshots / "01-dashboard.png", full_page=True)

    # 3. A partner company, then an invitation for one of its reps.
    page.click("nav.mainnav >> text=Partners")
    page.click("text=Add partner")
    page.fill("#id_name", "Acme Resellers")
    page.click("button:has-text('Add partner')")
    page.wait_for_url(re.compile(r"/t/initech-networks/partners/\d+/$"))
    page.click("nav.mainnav >> text=People")
    page.fill("#id_email", "rita@acme.example")
    page.select_option("#id_role", "partner_rep")
    page.select_option("#id_partner", label="Acme Resellers")
    page.click("text=Send invitation")
    page.wait_for_selector("text=Invitation to rita@acme.example is on its way.")
    page.screenshot(path=screenshots / "02-people.png", full_page=True)

    # 4. The worker mails the invitation once the request has committed.
    invitation_mail = celery_worker.wait_for_mails(1)[0]
    assert "rita@acme.example" in invitation_mail
    accept = re.search(r"https?://\S+/invitations/\S+/", invitation_mail).group(0)

    # 5. The rep opens the link in their own browser, creates the account, lands in the portal.
    rep = browser.new_context(base_url=base).new_page()
    rep.goto(_path(accept))
    assert "Join Initech Networks" in rep.locator("h1").inner_text()
    rep.fill("#id_full_name", "Rita Rep")
    rep.fill("#id_password", "another-long-passphrase-9")
    rep.click("text=Create account and join")
    rep.wait_for_url(re.compile(r"/t/initech-networks/portal/$"))
    assert "Acme Resellers" in rep.content()
    rep.screenshot(path=screenshots / "03-portal.png", full_page=True)

    # 6. Signing out and in again lands the rep in the same portal.
    rep.click("details.usermenu > summary")
    rep.click("text=Sign out")
    rep.goto("/accounts/login/")
    rep.fill("#id_login", "rita@acme.example")
    rep.fill("#id_password", "another-long-passphrase-9")
    rep.click("button[type=submit]")
    rep.wait_for_url(re.compile(r"/t/initech-networks/portal/$"))

    tenant = Tenant.objects.get(slug="initech-networks")
    with tenant_scope(tenant):
        membership = Membership.objects.select_related("partner").get(
            user=User.objects.get(email="rita@acme.example")
        )
    assert (membership.role, membership.partner.name) == ("partner_rep", "Acme Resellers")


def test_partner_search_narrows_the_list_as_you_type(
    live_server, transactional_db, browser, screenshots
):
    alpha = build_world("alpha")
    for name in ("Northwind Traders", "Northpole Systems", "Southgate IT"):
        PartnerFactory(tenant=alpha.tenant, name=name)
    user = alpha.user(Role.CHANNEL_MANAGER)
    page = browser.new_context(base_url=live_server.url).new_page()
    page.goto("/accounts/login/")
    page.fill("#id_login", user.email)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/t/alpha/$"))
    console_errors = []
    page.on("console", lambda m: m.type == "error" and console_errors.append(m.text))
    page.goto("/t/alpha/partners/")
    page.fill("#q", "north")
    expect(page.locator("#partner-results tbody tr")).to_have_count(2)
    assert "q=north" in page.url
    rows = page.locator("#partner-results tbody tr").all_inner_texts()
    assert all("North" in row for row in rows)
    page.screenshot(path=screenshots / "04-partner-search.png", full_page=True)
    assert console_errors == []  # no blocked script or style: the CSP and the page agree
