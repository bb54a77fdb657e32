"""Irreversible actions ask first: dismissing the question leaves everything as it was,
accepting it acts. After an action that lands on a section of a long page, its message is on
screen, below the sticky header."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page

from incentives.models import Enrollment, InviteJob, Program, ProgramTerms
from tenancy.context import tenant_scope
from tenancy.models import Invitation, Membership
from tenancy.roles import Role
from tests.conftest import build_world
from tests.factories.incentives import ProgramFactory
from tests.factories.partners import PartnerFactory
from tests.factories.tenancy import PASSWORD

pytestmark = pytest.mark.browser

MESSAGE_ON_SCREEN = """
() => {
  const message = document.querySelector(".messages");
  if (!message) return null;
  const box = message.getBoundingClientRect();
  const header = document.querySelector("header.topbar").getBoundingClientRect();
  return {top: box.top, bottom: box.bottom, headerBottom: header.bottom, height: innerHeight,
          text: message.innerText};
}
"""


def _sign_in(browser, base_url: str, email: str) -> Page:
    page = browser.new_context(
        base_url=base_url, viewport={"width": 1280, "height": 720}
    ).new_page()
    page.goto("/accounts/login/")
    page.fill("#id_login", email)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    return page


def _answer(page: Page, selector: str, *, accept: bool) -> str:
    """Click `selector`, answer the confirmation it must raise, and return its question."""
    asked: list[str] = []

    def on_dialog(dialog) -> None:
        asked.append(dialog.message)
        dialog.accept() if accept else dialog.dismiss()

    page.once("dialog", on_dialog)
    if accept:
        with page.expect_navigation():
            page.click(selector)
    else:
        page.click(selector)
    assert asked, f"{selector} acted without asking"
    return asked[0]


def _assert_message_on_screen(page: Page, text: str) -> None:
    got = page.evaluate(MESSAGE_ON_SCREEN)
    assert got is not None
    assert text in got["text"]
    assert got["top"] >= got["headerBottom"] - 1, got  # not under the sticky header
    assert got["bottom"] <= got["height"], got  # not below the fold


def _count(tenant, model, **filters) -> int:
    with tenant_scope(tenant):
        return model.objects.filter(**filters).count()


def test_staff_actions_ask_first_and_show_their_message(live_server, transactional_db, browser):
    alpha = build_world("alpha")
    tenant = alpha.tenant
    for n in range(30):  # a long program page
        PartnerFactory(tenant=tenant, name=f"Gold partner {n:02}", tier=alpha.tier)
    with tenant_scope(tenant):
        invitational = ProgramFactory(
            tenant=tenant, name="By invitation", enrollment_mode="invitation", status="draft"
        )
    cam = _sign_in(browser, live_server.url, alpha.user(Role.VENDOR_ADMIN).email)

    # Publishing terms asks (everyone enrolled must accept again), then shows its message.
    cam.goto(f"/t/alpha/programs/{alpha.program.pk}/")
    cam.fill("#id_body", "New rules.")
    question = _answer(cam, "button:has-text('Publish version 2')", accept=False)
    assert "accept" in question
    assert _count(tenant, ProgramTerms, program=alpha.program) == 1
    _answer(cam, "button:has-text('Publish version 2')", accept=True)
    assert _count(tenant, ProgramTerms, program=alpha.program) == 2
    assert cam.url.endswith("#terms")
    _assert_message_on_screen(cam, "Terms version 2 published.")

    # Invite all eligible: asks, then queues the job and shows its message.
    program_url = f"/t/alpha/programs/{invitational.pk}/"
    cam.goto(program_url)
    cam.fill("#id_body", "Rules.")
    with cam.expect_navigation():  # the first version asks nobody to accept again
        cam.click("button:has-text('Publish version 1')")
    cam.click("button:has-text('Activate')")
    cam.wait_for_url(re.compile(r"/programs/\d+/$"))
    _answer(cam, "text=Invite all eligible partners", accept=False)
    assert _count(tenant, InviteJob, program=invitational) == 0
    _answer(cam, "text=Invite all eligible partners", accept=True)
    assert _count(tenant, InviteJob, program=invitational) == 1
    assert cam.url.endswith("#enrollments")
    _assert_message_on_screen(cam, "in the background")

    # Closing a program.
    _answer(cam, "button:has-text('Close')", accept=False)
    assert _count(tenant, Program, pk=invitational.pk, status="active") == 1
    _answer(cam, "button:has-text('Close')", accept=True)
    assert _count(tenant, Program, pk=invitational.pk, status="closed") == 1
    _assert_message_on_screen(cam, "closed")

    # Removing a person, withdrawing an invitation.
    rep = alpha.member(Role.PARTNER_REP)
    cam.goto("/t/alpha/members/")
    remove = f"form[action$='/members/{rep.pk}/remove/'] button"
    _answer(cam, remove, accept=False)
    assert _count(tenant, Membership, pk=rep.pk, is_active=True) == 1
    _answer(cam, remove, accept=True)
    assert _count(tenant, Membership, pk=rep.pk, is_active=True) == 0
    withdraw = f"form[action$='/invitations/{alpha.invitation.pk}/revoke/'] button"
    _answer(cam, withdraw, accept=False)
    assert _count(tenant, Invitation, pk=alpha.invitation.pk, status="pending") == 1
    _answer(cam, withdraw, accept=True)
    assert _count(tenant, Invitation, pk=alpha.invitation.pk, status="pending") == 0

    # Deleting a tier.
    cam.goto("/t/alpha/tiers/")
    spare = "form[action*='/tiers/'][action$='/delete/'] button"
    question = _answer(cam, spare, accept=False)
    assert "Delete" in question


def test_a_partner_admin_is_asked_before_withdrawing(live_server, transactional_db, browser):
    alpha = build_world("alpha")
    admin = _sign_in(browser, live_server.url, alpha.user(Role.PARTNER_ADMIN).email)
    admin.goto(f"/t/alpha/portal/programs/{alpha.program.pk}/")
    enrolled = {"program": alpha.program, "partner": alpha.partner, "status": "enrolled"}
    _answer(admin, "button:has-text('Withdraw')", accept=False)
    assert _count(alpha.tenant, Enrollment, **enrolled) == 1
    _answer(admin, "button:has-text('Withdraw')", accept=True)
    assert _count(alpha.tenant, Enrollment, **enrolled) == 0
    _assert_message_on_screen(admin, "")
