"""What a newcomer hit on the program pages: the new-program form reports every error at once
and marks what is required; the required-partner picker lists only search matches and the
required partners, whatever the number of partners; a new terms version starts from the current
text; enrollments waiting to re-accept are counted beside the rate; automatic enrollments read
"automatically"."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from incentives.models import Enrollment, Program, ProgramTerms, RequiredPartner
from incentives.services.enrollments import auto_enroll
from incentives.services.programs import terms_publish
from partners.models import Partner
from tenancy.context import tenant_scope
from tenancy.roles import Role
from tests.factories.incentives import EnrollmentFactory, ProgramFactory, ProgramTermsFactory
from tests.factories.partners import PartnerFactory


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _url(name: str, *args) -> str:
    return reverse(name, args=["alpha", *args])


# 3. The new-program form.


def test_an_end_before_the_start_is_reported_with_the_other_field_errors(worlds):
    alpha, _ = worlds
    client = _client(alpha.user(Role.CHANNEL_MANAGER))
    response = client.post(
        _url("program_create"),
        {
            "name": "",
            "kind": "spiff",
            "starts_on": "2026-10-01",
            "ends_on": "2026-09-01",
            "claim_window_days": "30",
            "currency": "EUR",
            "budget": "",
            "enrollment_mode": "open",
        },
    )
    errors = response.context["form"].errors
    assert set(errors) >= {"name", "budget", "ends_on"}
    assert errors["ends_on"] == ["The program ends on or after the day it starts."]
    with tenant_scope(alpha.tenant):
        assert not Program.objects.filter(starts_on="2026-10-01").exists()


def test_required_fields_are_marked_visibly_and_for_assistive_technology(worlds):
    alpha, _ = worlds
    html = _client(alpha.user(Role.CHANNEL_MANAGER)).get(_url("program_create")).content.decode()
    for name in ("name", "kind", "starts_on", "ends_on", "budget", "currency"):
        tag = re.search(rf'<(?:input|select)[^>]*name="{name}"[^>]*>', html).group(0)
        if tag.startswith("<input"):  # a select with no empty choice cannot be left empty
            assert " required" in tag
        assert 'aria-required="true"' in tag
        label = re.search(rf'<label for="id_{name}">(.*?)</label>', html, re.S).group(1)
        assert 'class="required-mark"' in label
    description = re.search(r'<label for="id_description">(.*?)</label>', html, re.S).group(1)
    assert "required-mark" not in description


# 4. The required-partner picker.


def _many_partners(alpha, count: int) -> None:
    with tenant_scope(alpha.tenant):
        Partner.objects.bulk_create(
            [Partner(name=f"Bulk partner {i:05}", type="var") for i in range(count)]
        )


PICKER_LIMIT = 20


@pytest.mark.parametrize("partners", [10, 3000])
def test_the_picker_lists_only_required_partners_and_search_matches(
    worlds, django_assert_max_num_queries, partners
):
    alpha, _ = worlds
    _many_partners(alpha, partners)
    with tenant_scope(alpha.tenant):
        RequiredPartner.objects.create(program=alpha.program, partner=alpha.other_partner)
    client = _client(alpha.user(Role.CHANNEL_MANAGER))
    with django_assert_max_num_queries(23):
        page = client.get(_url("program_detail", alpha.program.pk))
    assert [p.name for p in page.context["picker_partners"]] == ["Alpha Other Partner"]
    assert len(page.content) < 40_000  # the same small page with 10 or 3,000 partners
    found = client.get(_url("program_detail", alpha.program.pk), {"pq": "bulk"})
    names = [p.name for p in found.context["picker_partners"]]
    assert names[0] == "Alpha Other Partner"  # the required ones stay listed, ticked
    assert len(names) == 1 + min(partners, PICKER_LIMIT)
    assert all(name.startswith("Bulk partner") for name in names[1:])


def test_saving_the_picker_changes_only_the_partners_it_showed(worlds):
    alpha, _ = worlds
    with tenant_scope(alpha.tenant):
        kept = PartnerFactory(tenant=alpha.tenant, name="Kept, not shown")
        RequiredPartner.objects.create(program=alpha.program, partner=kept)
        RequiredPartner.objects.create(program=alpha.program, partner=alpha.other_partner)
    client = _client(alpha.user(Role.CHANNEL_MANAGER))
    # The page showed the other partner (ticked, now unticked) and alpha.partner (now ticked).
    client.post(
        _url("program_required", alpha.program.pk),
        {
            "shown_partner_ids": [alpha.other_partner.pk, alpha.partner.pk],
            "partner_ids": [alpha.partner.pk],
        },
    )
    with tenant_scope(alpha.tenant):
        required = set(alpha.program.required_partners.values_list("name", flat=True))
    assert required == {"Kept, not shown", "Alpha Partner Ltd"}


# 6. A new terms version starts from the current text.


def test_the_terms_box_starts_from_the_current_version(worlds):
    alpha, _ = worlds
    client = _client(alpha.user(Role.CHANNEL_MANAGER))
    page = client.get(_url("program_detail", alpha.program.pk))
    with tenant_scope(alpha.tenant):
        body = ProgramTerms.objects.get(program=alpha.program).body
    assert page.context["terms_form"]["body"].value() == body
    textarea = re.search(
        r'<textarea name="body"[^>]*>(.*?)</textarea>', page.content.decode(), re.S
    )
    assert "stacking with other programs" in textarea.group(1)
    fresh = ProgramFactory(tenant=alpha.tenant, status="draft")
    page = client.get(_url("program_detail", fresh.pk))
    assert not page.context["terms_form"]["body"].value()


# 8. Enrollments waiting to re-accept new terms.


def test_enrollments_to_re_accept_are_counted_beside_the_rate(worlds):
    alpha, _ = worlds
    with tenant_scope(alpha.tenant):
        terms_publish(actor=alpha.member(Role.CHANNEL_MANAGER), program=alpha.program, body="v2")
    client = _client(alpha.user(Role.CHANNEL_MANAGER))
    detail = client.get(_url("program_detail", alpha.program.pk)).content.decode()
    rate = detail.split('data-testid="enrollment-rate"')[1].split("</div></div>")[0]
    assert "1 to re-accept" in rate
    listing = client.get(_url("programs")).content.decode()
    row = listing.split("Alpha Q3 SPIFF")[1].split("</tr>")[0]
    assert "1 to re-accept" in row
    other = ProgramFactory(tenant=alpha.tenant, name="Nothing to re-accept")
    row = client.get(_url("programs")).content.decode().split(other.name)[1].split("</tr>")[0]
    assert "re-accept" not in row


# 9. Automatic enrollments on the program page.


def test_an_automatic_enrollment_reads_automatically_on_the_program_page(worlds):
    alpha, _ = worlds
    with tenant_scope(alpha.tenant):
        program = ProgramFactory(
            tenant=alpha.tenant, name="Everyone in", enrollment_mode="automatic", eligibility={}
        )
        auto_enroll(program_id=program.pk)
        assert Enrollment.objects.filter(program=program, automatic=True).exists()
    page = _client(alpha.user(Role.VENDOR_ADMIN)).get(_url("program_detail", program.pk))
    table = page.content.decode().split('id="enrollment-results"')[1].split("</table>")[0]
    row = table.split("Alpha Partner Ltd")[1].split("</tr>")[0]
    assert "automatically" in row
    assert " by " not in row


def test_an_accepted_enrollment_still_names_its_terms_and_who_accepted(worlds):
    alpha, _ = worlds
    with tenant_scope(alpha.tenant):
        program = ProgramFactory(tenant=alpha.tenant, name="Accepted")
        terms = ProgramTermsFactory(program=program)
        EnrollmentFactory(
            program=program,
            partner=alpha.partner,
            terms=terms,
            accepted_by=alpha.user(Role.PARTNER_ADMIN),
            accepted_at="2026-12-01T10:00:00Z",
        )
    page = _client(alpha.user(Role.VENDOR_ADMIN)).get(_url("program_detail", program.pk))
    row = page.content.decode().split('id="enrollment-results"')[1].split("</tr>")[1]
    assert "v1" in row
    assert "automatically" not in row
