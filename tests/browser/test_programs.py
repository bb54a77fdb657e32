"""A channel manager builds a program for gold partners and invites them (the worker sends the
invitations while the page shows the progress); a partner admin of a gold partner reads the
terms in the portal and enrolls; the program page shows the new rate."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from incentives.models import Enrollment, Program
from tenancy.context import tenant_scope
from tenancy.roles import Role
from tests.conftest import build_world
from tests.factories.partners import PartnerFactory
from tests.factories.tenancy import PASSWORD

pytestmark = pytest.mark.browser


def _sign_in(browser, base_url: str, email: str, landing: str) -> tuple[Page, list[str]]:
    """A new browser context signed in as `email`, and the console errors of its pages from
    then on (the sign-in page's missing favicon is not the programs' concern)."""
    page = browser.new_context(base_url=base_url).new_page()
    page.goto("/accounts/login/")
    page.fill("#id_login", email)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(landing))
    console_errors: list[str] = []
    page.on("console", lambda m: m.type == "error" and console_errors.append(m.text))
    return page, console_errors


def _create_gold_program(cam: Page, shots: Path) -> None:
    """The channel manager creates a draft program open to the Alpha Gold tier only."""
    cam.click("nav.mainnav >> text=Programs")
    cam.wait_for_url(re.compile(r"/t/alpha/programs/$"))
    cam.click("text=New program")
    cam.fill("#id_name", "Gold switch SPIFF")
    cam.fill("#id_description", "Sell the new switch line to gold partners.")
    cam.select_option("#id_kind", "spiff")
    cam.fill("#id_starts_on", "2026-07-01")
    cam.fill("#id_ends_on", "2026-12-31")
    cam.fill("#id_claim_window_days", "45")
    cam.fill("#id_budget", "25000.00")
    cam.get_by_label("Invitation: only invited partners enroll").check()
    cam.get_by_label("Alpha Gold").check()
    cam.screenshot(path=shots / "programs-01-new.png", full_page=True)
    cam.click("text=Create draft program")
    cam.wait_for_url(re.compile(r"/t/alpha/programs/\d+/$"))
    expect(cam.get_by_test_id("program-status")).to_have_text("Draft")
    expect(cam.get_by_text("Tier: Alpha Gold", exact=True)).to_be_visible()


def _publish_activate_invite(cam: Page, shots: Path) -> None:
    """Terms, then activation, then invitations to every eligible (gold) partner."""
    cam.fill("#id_body", "## Rules\n\n- Claims within **45 days** of the sale.\n- No stacking.")
    cam.click("text=Publish version 1")
    expect(cam.get_by_test_id("current-terms").locator("h2")).to_have_text("Rules")
    cam.click("button:has-text('Activate')")
    expect(cam.get_by_test_id("program-status")).to_have_text("Active")
    cam.fill("#pq", "gold two")
    expect(cam.locator("#partner-picker tbody tr")).to_have_count(1)
    expect(cam.locator("#partner-picker")).to_contain_text("Gold Two Networks")
    cam.once("dialog", lambda dialog: dialog.accept())  # "Invite every eligible partner?"
    cam.click("text=Invite all eligible partners")
    expect(cam.locator(".messages")).to_contain_text("Inviting the 2 eligible partners")
    # The worker sends them; the page polls the job's progress until it is done.
    progress = cam.locator("#invite-progress")
    expect(progress).to_contain_text("Done", timeout=60_000)
    expect(progress).to_contain_text("2 invited, 0 already invited or enrolled")
    expect(cam.get_by_test_id("enrollment-rate")).to_have_text("0%")
    cam.screenshot(path=shots / "programs-02-invited.png", full_page=True)


def _enroll_in_the_portal(admin: Page, shots: Path) -> None:
    """The partner admin of a gold partner reads the terms in the portal and enrolls."""
    admin.click("nav.mainnav >> text=Programs")
    admin.wait_for_url(re.compile(r"/t/alpha/portal/programs/$"))
    expect(admin.get_by_test_id("open-programs")).to_contain_text("Invited")
    admin.click("text=Gold switch SPIFF")
    expect(admin.get_by_test_id("terms")).to_contain_text("Claims within 45 days of the sale.")
    expect(admin.get_by_test_id("enrollment-status")).to_have_text("Invited")
    admin.screenshot(path=shots / "programs-03-portal-terms.png", full_page=True)
    admin.click("text=Accept terms and enroll")
    expect(admin.locator(".messages")).to_contain_text("Your company is enrolled")
    expect(admin.get_by_test_id("enrollment-status")).to_have_text("Enrolled")
    admin.screenshot(path=shots / "programs-04-portal-enrolled.png", full_page=True)


def _see_the_new_rate(cam: Page, shots: Path) -> None:
    """The program page's live figures: one of the two gold partners enrolled."""
    cam.reload()
    expect(cam.get_by_test_id("enrollment-rate")).to_have_text("50%")
    expect(cam.get_by_test_id("program-figures")).to_contain_text("1 of 2")
    expect(cam.get_by_test_id("history")).to_contain_text("accepted the terms · Alpha Partner Ltd")
    cam.select_option("#enrollment-status", "enrolled")
    expect(cam.locator("#enrollment-results tbody tr")).to_have_count(1)
    expect(cam.locator("#enrollment-results")).to_contain_text("127.0.0.1")
    cam.screenshot(path=shots / "programs-05-rate.png", full_page=True)


def _edit_the_active_program(cam: Page, shots: Path) -> None:
    """The list shows the same figures; the form of the active program locks its nature."""
    cam.click("nav.mainnav >> text=Programs")
    row = cam.locator("tr", has_text="Gold switch SPIFF")
    expect(row).to_contain_text("50%")
    cam.screenshot(path=shots / "programs-06-list.png", full_page=True)
    row.locator("a").click()
    cam.click("text=Edit")
    expect(cam.locator("#id_kind")).to_be_disabled()
    expect(cam.locator("#id_name")).to_be_enabled()
    cam.fill("#id_budget", "30000.00")
    cam.screenshot(path=shots / "programs-07-edit-active.png", full_page=True)
    cam.click("text=Save changes")
    expect(cam.locator(".messages")).to_contain_text("Gold switch SPIFF saved.")
    expect(cam.locator(".facts")).to_contain_text("USD 30,000.00")


def test_a_program_for_gold_partners_from_creation_to_enrollment(
    live_server, transactional_db, celery_worker, browser, screenshots
):
    alpha = build_world("alpha")
    PartnerFactory(tenant=alpha.tenant, name="Gold Two Networks", tier=alpha.tier)
    PartnerFactory(tenant=alpha.tenant, name="Unranked Systems")
    cam, cam_errors = _sign_in(
        browser, live_server.url, alpha.user(Role.CHANNEL_MANAGER).email, r"/t/alpha/$"
    )
    _create_gold_program(cam, screenshots)
    _publish_activate_invite(cam, screenshots)
    admin, admin_errors = _sign_in(
        browser, live_server.url, alpha.user(Role.PARTNER_ADMIN).email, r"/t/alpha/portal/$"
    )
    _enroll_in_the_portal(admin, screenshots)
    _see_the_new_rate(cam, screenshots)
    _edit_the_active_program(cam, screenshots)

    with tenant_scope(alpha.tenant):
        program = Program.objects.get(name="Gold switch SPIFF")
        enrollment = Enrollment.objects.get(program=program, partner=alpha.partner)
    assert (enrollment.status, enrollment.accepted_from) == ("enrolled", "127.0.0.1")
    assert program.budget == Decimal("30000.00")
    assert cam_errors == []  # no blocked script or style: the CSP and the pages agree
    assert admin_errors == []
