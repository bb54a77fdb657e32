"""The partner list's filter menus come from the tenant's known values, not a DISTINCT scan of
the partners on every request, and follow partner changes at once."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from partners.selectors import tier_list
from partners.services import partner_create, partner_update
from tenancy.context import tenant_scope
from tenancy.roles import Role
from tests.tenancy.test_pages import _client


def page(client, url):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return response.content.decode(), [q["sql"] for q in queries.captured_queries]


def test_the_partner_page_scans_no_distinct_values_once_they_are_known(worlds):
    alpha, _ = worlds
    client = _client(alpha.user(Role.VENDOR_ADMIN))
    url = reverse("partners", args=["alpha"])
    page(client, url)
    _, sql = page(client, url)
    assert not [s for s in sql if "DISTINCT" in s], sql


def test_a_new_or_changed_region_is_in_the_menu_at_once(worlds):
    alpha, bravo = worlds
    cam = alpha.member(Role.CHANNEL_MANAGER)
    client = _client(alpha.user(Role.VENDOR_ADMIN))
    url = reverse("partners", args=["alpha"])
    html, _ = page(client, url)
    assert "Oceania" not in html
    with tenant_scope(alpha.tenant):
        partner = partner_create(actor=cam, name="Kiwi Systems", region="Oceania")
    html, _ = page(client, url)
    assert '<option value="Oceania"' in html
    with tenant_scope(alpha.tenant):
        partner_update(actor=cam, partner=partner, region="Antarctica", country="AQ")
    html, _ = page(client, url)
    assert '<option value="Antarctica"' in html
    assert '<option value="Oceania"' not in html
    other = _client(bravo.user(Role.VENDOR_ADMIN))
    assert "Antarctica" not in page(other, reverse("partners", args=["bravo"]))[0]


def test_the_rows_written_in_python_read_as_the_template_wrote_them(worlds):
    alpha, _ = worlds
    cam = alpha.member(Role.CHANNEL_MANAGER)
    with tenant_scope(alpha.tenant):
        partner = partner_create(
            actor=cam,
            name="<b>Bold</b> & Co",
            external_id="CRM-<1>",
            region="EMEA",
            territory="DACH",
            country="DE",
            tier=alpha.tier,
            channel_manager=cam,
        )
    client = _client(alpha.user(Role.VENDOR_ADMIN))
    html, _ = page(client, reverse("partners", args=["alpha"]))
    detail = reverse("partner_detail", args=["alpha", partner.pk])
    edit = reverse("partner_edit", args=["alpha", partner.pk])
    assert f'<a href="{detail}">&lt;b&gt;Bold&lt;/b&gt; &amp; Co</a>' in html
    assert "<br><small>CRM-&lt;1&gt;</small>" in html
    assert "<td>EMEA · DACH<br><small>DE</small></td>" in html
    assert f"<td>{alpha.tier.name}</td>" in html
    assert f"<td>{cam.user}</td>" in html
    assert f'<a href="{edit}" aria-label="Edit &lt;b&gt;Bold&lt;/b&gt; &amp; Co">Edit</a>' in html
    assert "<b>Bold</b>" not in html


def test_the_tier_and_manager_menus_are_read_once_then_from_the_cache(worlds):
    alpha, _ = worlds
    client = _client(alpha.user(Role.VENDOR_ADMIN))
    url = reverse("partners", args=["alpha"])
    page(client, url)
    _, sql = page(client, url)
    assert not [s for s in sql if '"partners_tier"' in s and "JOIN" not in s], sql
    assert not [s for s in sql if "tenancy_membership" in s and '"role" IN' in s], sql


def test_tier_and_manager_changes_are_in_the_menus_at_once(worlds):
    from partners.services import tier_create, tier_reorder, tier_update
    from tenancy.services import membership_deactivate

    alpha, bravo = worlds
    admin = alpha.member(Role.VENDOR_ADMIN)
    cam = alpha.member(Role.CHANNEL_MANAGER)
    client = _client(alpha.user(Role.VENDOR_ADMIN))
    url = reverse("partners", args=["alpha"])
    html, _ = page(client, url)
    assert f'<option value="{cam.pk}"' in html
    with tenant_scope(alpha.tenant):
        tier = tier_create(actor=admin, name="Titanium")
    assert ">Titanium</option>" in page(client, url)[0]
    with tenant_scope(alpha.tenant):
        tier_update(actor=admin, tier=tier, name="Iridium")
    html, _ = page(client, url)
    assert ">Iridium</option>" in html
    assert "Titanium" not in html
    with tenant_scope(alpha.tenant):
        ids = [t.pk for t in tier_list()]
        tier_reorder(actor=admin, tier_ids=[ids[-1], *ids[:-1]])
    html, _ = page(client, url)
    assert html.index(">Iridium</option>") < html.index(f">{alpha.tier.name}</option>")
    # A person renamed: their name in the manager menu of every tenant.
    cam.user.full_name = "Renamed Manager"
    cam.user.save()
    assert ">Renamed Manager</option>" in page(client, url)[0]
    # A manager who leaves is no longer a choice.
    with tenant_scope(alpha.tenant):
        membership_deactivate(actor=admin, membership=cam)
    assert f'<option value="{cam.pk}"' not in page(client, url)[0]
    other = _client(bravo.user(Role.VENDOR_ADMIN))
    assert "Iridium" not in page(other, reverse("partners", args=["bravo"]))[0]
