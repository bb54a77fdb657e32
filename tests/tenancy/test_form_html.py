"""`tenancy.forms.form_as_p`: an unbound form's HTML is remembered by what it is made of, and
never stands in for a bound form or a menu read from the database."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext

from partners.models import Partner
from tenancy.context import tenant_scope
from tenancy.forms import InvitationForm, form_as_p
from tenancy.roles import Role
from tests.factories.partners import PartnerFactory

ROLES = [(Role.PARTNER_REP, "Partner rep"), (Role.PARTNER_ADMIN, "Partner admin")]


def test_an_unbound_form_renders_as_as_p_and_once(worlds):
    alpha, _ = worlds
    with tenant_scope(alpha.tenant):
        form = InvitationForm(roles=ROLES, partners=None)
        first = form_as_p(form)
        assert first == form.as_p()
        again = InvitationForm(roles=ROLES, partners=None)
        assert form_as_p(again) is first  # remembered, not rendered again
        other_roles = InvitationForm(roles=ROLES[:1], partners=None)
        assert "Partner admin" not in form_as_p(other_roles)


def test_a_bound_form_shows_its_values_and_errors(worlds):
    alpha, _ = worlds
    with tenant_scope(alpha.tenant):
        form_as_p(InvitationForm(roles=ROLES, partners=None))
        bound = InvitationForm(data={"email": "not-an-email"}, roles=ROLES, partners=None)
        bound.is_valid()
        html = form_as_p(bound)
    assert 'value="not-an-email"' in html
    assert "errorlist" in html


def test_a_menu_of_partners_is_read_every_time(worlds):
    alpha, _ = worlds
    with tenant_scope(alpha.tenant):
        partners = Partner.objects.order_by("name")
        form_as_p(InvitationForm(roles=ROLES, partners=partners))
        PartnerFactory(tenant=alpha.tenant, name="Brand New Reseller")
        with CaptureQueriesContext(connection) as queries:
            html = form_as_p(InvitationForm(roles=ROLES, partners=partners))
    assert "Brand New Reseller" in html
    assert queries.captured_queries
