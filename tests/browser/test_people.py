"""The People page in a browser: each role in the role menus is read in full, even beside a
long address and a long partner name."""

from __future__ import annotations

import re

import pytest

from tenancy.context import tenant_scope
from tenancy.roles import Role
from tests.conftest import build_world
from tests.factories.partners import PartnerFactory
from tests.factories.tenancy import PASSWORD, MembershipFactory, UserFactory

pytestmark = pytest.mark.browser

# The width the text of each role menu's longest option needs, against the width it has inside the
# select's padding and drop-down arrow (ARROW). A cut select scrolls no more than a whole one,
# so its scrollWidth would not tell.
ARROW = 20
SELECT_WIDTHS = """
() => [...document.querySelectorAll("select[name=role]")].map((select) => {
  const style = getComputedStyle(select);
  const probe = document.createElement("span");
  probe.style.font = style.font;
  probe.style.whiteSpace = "pre";
  document.body.append(probe);
  const needed = Math.max(...[...select.options].map((option) => {
    probe.textContent = option.text;
    return probe.getBoundingClientRect().width;
  }));
  probe.remove();
  const padding = parseFloat(style.paddingLeft) + parseFloat(style.paddingRight);
  return {name: select.getAttribute("aria-label") || select.name,
          options: [...select.options].map((option) => option.text),
          needed, has: select.clientWidth - padding};
})
"""


def test_the_role_menus_show_each_role_in_full(live_server, transactional_db, browser):
    alpha = build_world("alpha")
    with tenant_scope(alpha.tenant):
        partner = PartnerFactory(
            tenant=alpha.tenant, name="Northwind Traders International Holdings GmbH"
        )
        MembershipFactory(
            tenant=alpha.tenant,
            role="partner_admin",
            partner=partner,
            user=UserFactory(email="maximiliane.schmidt-hoffmann@northwind-traders.example"),
        )
    page = browser.new_context(
        base_url=live_server.url, viewport={"width": 1280, "height": 800}
    ).new_page()
    page.goto("/accounts/login/")
    page.fill("#id_login", alpha.user(Role.VENDOR_ADMIN).email)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/t/alpha/$"))
    page.goto("/t/alpha/members/")
    widths = page.evaluate(SELECT_WIDTHS)
    assert any("Partner admin" in w["options"] for w in widths)
    cut = [w for w in widths if w["needed"] + ARROW > w["has"]]
    assert not cut
