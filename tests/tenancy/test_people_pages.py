"""People is paginated like every other list page."""

from __future__ import annotations

import re

import pytest
from django.http import QueryDict
from django.template import RequestContext, Template
from django.test import RequestFactory
from django.urls import reverse

from tenancy import selectors
from tenancy.actions import with_member_actions
from tenancy.context import tenant_scope
from tenancy.roles import Role
from tenancy.views import member_rows, people_page
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


# The People rows as the template wrote them before `tenancy.views.member_rows` took over.
TEMPLATE_ROWS = """{% for m in members %}
<tr class="member-row">
  <td>{{ m.user.full_name|default:"—" }}<br><small>{{ m.user.email }}</small></td>
  <td>{% include "_member_role.html" %}</td>
  <td data-label="Partner">{% if m.partner %}<a href="{% url 'partner_detail' tenant.slug m.partner_id %}">{{ m.partner.name }}</a>{% else %}—{% endif %}</td>
  <td>{% if "remove" in m.actions %}<form class="inline" method="post" action="{% url 'member_remove' tenant.slug m.pk %}" data-confirm="Remove {{ m.user.full_name|default:m.user.email }} from {{ tenant.name }}? They lose access at once.">{% csrf_token %}<button class="small danger">Remove</button></form>{% endif %}</td>
</tr>{% endfor %}"""  # noqa: E501


def normalized(html: str) -> str:
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', 'name="csrfmiddlewaretoken"', html)
    html = re.sub(r">\s+", ">", re.sub(r"\s+<", "<", html))
    return re.sub(r"\s+", " ", re.sub(r"\s+>", ">", html)).strip()


def _key(actor) -> tuple:
    return (actor.pk, actor.role, actor.partner_id, ())


@pytest.mark.parametrize("second_admin", [False, True])
@pytest.mark.parametrize("role", [Role.VENDOR_ADMIN, Role.CHANNEL_MANAGER, Role.CLAIMS_REVIEWER])
def test_the_people_rows_equal_what_the_template_wrote(worlds, role, second_admin):
    """The page's rows (`people_page`: values, light rows, the sole-admin rule read with them)
    against the template over model instances with `with_member_actions` asking on its own."""
    alpha, _ = worlds
    MembershipFactory(
        tenant=alpha.tenant,
        role="partner_rep",
        partner=alpha.partner,
        user__full_name='Ann <b>"Bold"</b> & Co',
        user__email="ann@alpha.example",
    )
    MembershipFactory(tenant=alpha.tenant, role="claims_reviewer", user__full_name="")
    if second_admin:
        MembershipFactory(tenant=alpha.tenant, role="vendor_admin")
    alpha.tenant.name = "Alpha {0} & <Co>"
    actor = alpha.member(role)
    with tenant_scope(alpha.tenant):
        people = people_page(actor, QueryDict(""), key=_key(actor), with_form=False)
        rows = member_rows(people.members, tenant=alpha.tenant, csrf_token="x")
        members = with_member_actions(actor, selectors.member_list_for(actor))
        request = RequestFactory().get("/")
        expected = Template("{% load static %}" + TEMPLATE_ROWS).render(
            RequestContext(request, {"members": members, "tenant": alpha.tenant})
        )
    assert len(people.members) == len(members)
    assert "&lt;b&gt;" in rows
    email = alpha.user(Role.VENDOR_ADMIN).email
    admin_row = next(row for row in rows.split("</tr>") if email in row)
    # The sole vendor admin keeps their role; with a second one either may be changed.
    assert ("/role/" in admin_row) is (role == Role.VENDOR_ADMIN and second_admin)
    assert normalized(rows) == normalized(expected)


def test_a_partner_admin_gets_the_same_actions_on_the_rows(worlds):
    alpha, _ = worlds
    MembershipFactory(tenant=alpha.tenant, role="partner_rep", partner=alpha.partner)
    actor = alpha.member(Role.PARTNER_ADMIN)
    with tenant_scope(alpha.tenant):
        rows = people_page(actor, QueryDict(""), key=_key(actor), with_form=False).members
        members = with_member_actions(actor, selectors.member_list_for(actor))
    assert [(m.pk, m.actions, m.role_choices) for m in rows] == [
        (m.pk, m.actions, m.role_choices) for m in members
    ]
    assert any(m.actions for m in rows)


def test_the_people_page_lists_its_rows_and_says_when_nobody_matches(worlds):
    alpha, _ = worlds
    client = _client(alpha.user(Role.VENDOR_ADMIN))
    url = reverse("members", args=["alpha"])
    html = client.get(url).content.decode()
    assert html.count('class="member-row"') == len(alpha.members)
    assert 'name="csrfmiddlewaretoken"' in html
    assert "Nobody matches." in client.get(url, {"q": "no-such-person"}).content.decode()


def test_the_people_statement_compiled_once_reads_the_tenant_of_each_request(worlds):
    alpha, bravo = worlds
    for world, other in ((alpha, bravo), (bravo, alpha), (alpha, bravo)):
        url = reverse("members", args=[world.tenant.slug])
        html = _client(world.user(Role.VENDOR_ADMIN)).get(url).content.decode()
        assert html.count('class="member-row"') == len(world.members)
        assert not [m for m in other.members.values() if m.user.email in html]


def test_the_people_statement_compiled_once_reads_the_rows_of_now(worlds):
    alpha, _ = worlds
    client = _client(alpha.user(Role.VENDOR_ADMIN))
    url = reverse("members", args=["alpha"])
    assert "late.joiner@alpha.example" not in client.get(url).content.decode()
    late = MembershipFactory(tenant=alpha.tenant, user__email="late.joiner@alpha.example")
    html = client.get(url).content.decode()
    assert "late.joiner@alpha.example" in html
    assert html.count('class="member-row"') == len(alpha.members) + 1
    with tenant_scope(alpha.tenant):
        late.is_active = False
        late.save()
    assert "late.joiner@alpha.example" not in client.get(url).content.decode()
