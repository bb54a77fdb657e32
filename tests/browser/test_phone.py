"""Every dashboard and portal page fits a phone: at 390 by 844 no page is wider than the
viewport (tables scroll inside their own box, buttons wrap instead of being cut) and the header
takes one compact row.

The pages are found in the URLconf: every named route under /t/<tenant_slug>/ whose view
answers GET. A route that is not an HTML page (a CSV, a polled fragment) is listed in
NOT_PAGES with the reason; a new URL keyword must be given an object in `_object_ids`."""

from __future__ import annotations

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from incentives.models import EnrollmentStatus
from tenancy.context import tenant_scope
from tenancy.roles import Role
from tests.conftest import build_world
from tests.factories.incentives import EnrollmentFactory, ProgramFactory
from tests.factories.partners import PartnerFactory
from tests.factories.tenancy import PASSWORD, InvitationFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.browser

WIDTH, HEIGHT = 390, 844
HEADER_SHARE = 0.12  # of the viewport's height
NOT_PAGES = {
    "partner_import_template": "a CSV download",
    "partner_export": "a CSV download",
    "program_invite_progress": "a fragment the program page polls",
}
# Pages outside a tenant that people reach from the header.
ACCOUNT_PAGES = ["home", "api_tokens"]
LONG_NAME = "Northwind Traders International Holdings GmbH & Co. KG"
LONG_EMAIL = "maximiliane.schmidt-hoffmann@northwind-traders-international.example"


def tenant_page_routes() -> list[tuple[str, list[str]]]:
    """(name, keywords) of every named route under /t/<tenant_slug>/ that answers GET."""
    found = []

    def walk(patterns, prefix: str) -> None:
        for entry in patterns:
            route = prefix + str(entry.pattern)
            if isinstance(entry, URLResolver):
                walk(entry.url_patterns, route)
            elif (
                isinstance(entry, URLPattern)
                and entry.name
                and route.startswith("t/<slug:tenant_slug>/")
            ):
                view = getattr(entry.callback, "view_class", None)
                answers_get = view is None or (
                    hasattr(view, "get") and "get" in view.http_method_names
                )
                if answers_get and entry.name not in NOT_PAGES:
                    keywords = re.findall(r"<(?:\w+:)?(\w+)>", route)
                    found.append((entry.name, [k for k in keywords if k != "tenant_slug"]))

    walk(get_resolver().url_patterns, "")
    return found


def _object_ids(world) -> dict[str, int]:
    return {
        "program_id": world.program.pk,
        "partner_id": world.partner.pk,
        "import_id": world.partner_import.pk,
    }


def _crowd(world) -> None:
    """Long names and addresses, many rows, a finished import with errors: what makes a
    narrow screen overflow."""
    tenant = world.tenant
    with tenant_scope(tenant):
        long_partner = PartnerFactory(
            tenant=tenant, name=LONG_NAME, region="EMEA", territory="DACH"
        )
        for n in range(3):
            MembershipFactory(
                tenant=tenant,
                role=Role.PARTNER_ADMIN if n == 0 else Role.PARTNER_REP,
                partner=world.partner,
                user=UserFactory(email=f"{n}.{LONG_EMAIL}", full_name=f"Maximiliane {n} Hoffmann"),
            )
        MembershipFactory(
            tenant=tenant,
            role=Role.PARTNER_REP,
            partner=long_partner,
            user=UserFactory(email=LONG_EMAIL),
        )
        InvitationFactory(
            tenant=tenant,
            email=f"invited.{LONG_EMAIL}",
            role=Role.PARTNER_REP,
            partner=world.partner,
            invited_by=world.user(Role.VENDOR_ADMIN),
        )
        program = ProgramFactory(tenant=tenant, name="A program with a rather long name " * 2)
        EnrollmentFactory(program=program, partner=long_partner, status=EnrollmentStatus.INVITED)
        EnrollmentFactory(program=world.program, partner=long_partner)
        job = world.partner_import
        job.file_name = "northwind-traders-international-crm-export-2026-12-01.csv"
        job.total_rows = job.processed_rows = 3
        job.error_count = 2
        job.errors = [
            {
                "row": 2,
                "column": "channel_manager_email",
                "message": f"No vendor staff member {LONG_EMAIL} in this workspace.",
            },
            {"row": 3, "column": "tier", "message": "No tier called 'Platinumplusultimate'."},
        ]
        job.save()


def _sign_in(browser, base_url: str, email: str):
    page = browser.new_context(
        base_url=base_url, viewport={"width": WIDTH, "height": HEIGHT}
    ).new_page()
    page.goto("/accounts/login/")
    page.fill("#id_login", email)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    return page


MEASURE = """
() => {
  const header = document.querySelector("header.topbar");
  const wide = [...document.querySelectorAll("body *")]
    .filter((el) => el.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
    .filter((el) => !el.closest(".table-wrap, .scroll-x"))
    .slice(0, 5)
    .map((el) => el.tagName + "." + el.className + ": " + el.textContent.trim().slice(0, 40));
  // A control whose own text does not fit it is cut ("Remo" for "Remove").
  const cut = [...document.querySelectorAll("button, a.button, label.nav-toggle-label")]
    .filter((el) => el.offsetParent && el.scrollWidth > el.clientWidth + 1)
    .map((el) => el.textContent.trim());
  return {scrollWidth: document.documentElement.scrollWidth,
          header: header ? header.getBoundingClientRect().height : 0, wide, cut};
}
"""


def test_the_routes_walked_include_every_page_kind():
    names = {name for name, _ in tenant_page_routes()}
    assert {"dashboard", "members", "partner_import", "portal_team", "program_detail"} <= names
    assert not names & {"member_remove", "program_transition"}  # POST-only actions


def test_every_page_fits_a_phone(live_server, transactional_db, browser, screenshots):
    alpha = build_world("alpha")
    _crowd(alpha)
    ids = _object_ids(alpha)
    staff = _sign_in(browser, live_server.url, alpha.user(Role.VENDOR_ADMIN).email)
    partner = _sign_in(browser, live_server.url, alpha.user(Role.PARTNER_ADMIN).email)
    visits = [(staff, reverse(name)) for name in ACCOUNT_PAGES]
    for name, keywords in tenant_page_routes():
        unknown = [k for k in keywords if k not in ids]
        assert not unknown, f"{name}: give _object_ids an object for {unknown}"
        url = reverse(name, kwargs={"tenant_slug": "alpha", **{k: ids[k] for k in keywords}})
        visits.append((partner if name.startswith("portal") else staff, url))
    too_wide, too_tall = {}, {}
    for page, url in visits:
        response = page.goto(url)
        assert response.ok, f"{url}: {response.status}"
        got = page.evaluate(MEASURE)
        slug = url.strip("/").replace("/", "-") or "home"
        page.screenshot(path=screenshots / f"phone-{slug}.png", full_page=True)
        if got["scrollWidth"] > WIDTH or got["cut"]:
            too_wide[url] = (got["scrollWidth"], got["wide"], got["cut"])
        if got["header"] > HEADER_SHARE * HEIGHT:
            too_tall[url] = got["header"]
    assert not too_wide, "\n".join(f"{url}: {got}" for url, got in too_wide.items())
    assert not too_tall, f"headers taller than {HEADER_SHARE:.0%} of the screen: {too_tall}"


def test_people_and_team_buttons_are_on_screen_and_the_menu_opens(
    live_server, transactional_db, browser
):
    """On a phone the People and portal Team tables lay each person out as a block: every
    Remove button is inside the screen without scrolling sideways. The header's Menu opens the
    navigation."""
    alpha = build_world("alpha")
    _crowd(alpha)
    for role, url in (
        (Role.VENDOR_ADMIN, "/t/alpha/members/"),
        (Role.PARTNER_ADMIN, "/t/alpha/portal/team/"),
    ):
        page = _sign_in(browser, live_server.url, alpha.user(role).email)
        page.goto(url)
        buttons = page.locator("button:has-text('Remove')")
        assert buttons.count() >= 3
        for box in [b.bounding_box() for b in buttons.all()]:
            assert box["x"] >= 0
            assert box["x"] + box["width"] <= WIDTH
        assert not page.locator("nav.mainnav").is_visible()
        page.click("label.nav-toggle-label")
        page.locator("nav.mainnav a").first.wait_for(state="visible")
        assert page.locator("details.usermenu").is_visible()
