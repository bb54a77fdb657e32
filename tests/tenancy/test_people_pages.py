"""People is paginated like every other list page."""

from __future__ import annotations

from django.urls import reverse

from tenancy.roles import Role
from tests.factories.tenancy import MembershipFactory
from tests.tenancy.test_pages import _client


def test_people_come_fifty_a_page_with_links_that_keep_the_filters(worlds):
    alpha, _ = worlds
    MembershipFactory.create_batch(
        120, tenant=alpha.tenant, role="partner_rep", partner=alpha.partner
    )
    client = _client(alpha.user(Role.VENDOR_ADMIN))
    url = reverse("members", args=["alpha"])
    first = client.get(url, {"role": "partner_rep"})
    assert first.status_code == 200
    html = first.content.decode()
    assert "Page 1 of 3" in html
    assert html.count('class="member-row"') == 50
    assert "role=partner_rep&amp;page=2" in html
    last = client.get(url, {"role": "partner_rep", "page": 3})
    reps = 120 + 1  # the world's own partner rep
    assert last.content.decode().count('class="member-row"') == reps - 100


def test_the_invite_form_lists_no_partners_when_the_tenant_has_many(worlds, monkeypatch):
    from tenancy import forms

    alpha, _ = worlds
    monkeypatch.setattr(forms, "PARTNER_MENU_LIMIT", 1)
    client = _client(alpha.user(Role.VENDOR_ADMIN))
    url = reverse("members", args=["alpha"])
    html = client.get(url).content.decode()
    assert f'<option value="{alpha.other_partner.pk}"' not in html
    assert 'name="partner"' in html
    response = client.post(
        url, {"email": "new.rep@alpha.example", "role": "partner_rep", "partner": alpha.partner.pk}
    )
    assert response.status_code == 302
    refused = client.post(
        url, {"email": "other@alpha.example", "role": "partner_rep", "partner": 10**9}
    )
    assert "Select a valid choice" in refused.content.decode()


def test_the_invite_form_offers_a_menu_of_partners_in_a_small_tenant(worlds):
    alpha, _ = worlds
    client = _client(alpha.user(Role.VENDOR_ADMIN))
    html = client.get(reverse("members", args=["alpha"])).content.decode()
    assert f'<option value="{alpha.other_partner.pk}"' in html
