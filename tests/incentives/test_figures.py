"""Live program figures (DESIGN.md §4), for a page of programs in a fixed number of queries."""

from __future__ import annotations

import pytest

from incentives.models import Enrollment, RequiredPartner
from incentives.selectors import program_figures
from partners.models import Partner
from tenancy.context import tenant_scope
from tests.factories.incentives import ProgramFactory
from tests.factories.partners import PartnerFactory


def test_enrollment_rate_counts_eligible_and_enrolled_only(alpha):
    with tenant_scope(alpha.tenant):
        program = ProgramFactory(tenant=alpha.tenant, eligibility={"regions": ["EMEA"]})
        emea = PartnerFactory.create_batch(4, tenant=alpha.tenant, region="EMEA")
        apac = PartnerFactory(tenant=alpha.tenant, region="APAC")
        Enrollment.objects.bulk_create(
            [
                Enrollment(program=program, partner=emea[0], status="enrolled"),
                Enrollment(program=program, partner=emea[1], status="reaccept"),
                Enrollment(program=program, partner=emea[2], status="invited"),
                # enrolled but not eligible: outside the numerator, as the formula says
                Enrollment(program=program, partner=apac, status="enrolled"),
            ]
        )
        RequiredPartner.objects.bulk_create(
            [RequiredPartner(program=program, partner=p) for p in (emea[0], emea[3])]
        )
        figures = program_figures([program])[program.pk]
    assert (figures.eligible, figures.enrolled) == (4, 1)
    assert figures.enrollment_rate == 0.25
    assert (figures.required, figures.required_enrolled, figures.required_rate) == (2, 1, 0.5)


def test_rates_with_nothing_eligible_or_required_are_null(alpha):
    with tenant_scope(alpha.tenant):
        program = ProgramFactory(tenant=alpha.tenant, eligibility={"countries": ["IS"]})
        figures = program_figures([program])[program.pk]
    assert (figures.eligible, figures.enrollment_rate) == (0, None)
    assert (figures.required, figures.required_rate) == (0, None)


def test_inactive_partners_are_not_eligible(alpha):
    with tenant_scope(alpha.tenant):
        Partner.objects.filter(pk=alpha.other_partner.pk).update(status="inactive")
        figures = program_figures([alpha.program])[alpha.program.pk]
    assert (figures.eligible, figures.enrolled, figures.enrollment_rate) == (1, 1, 1.0)


def test_figures_never_count_another_tenant(worlds):
    alpha, _ = worlds
    with tenant_scope(alpha.tenant):
        figures = program_figures([alpha.program])[alpha.program.pk]
    assert (figures.eligible, figures.enrolled) == (2, 1)


@pytest.mark.parametrize(("programs", "partners"), [(3, 10), (30, 1000)])
def test_a_page_of_figures_is_three_queries(alpha, django_assert_num_queries, programs, partners):
    with tenant_scope(alpha.tenant):
        Partner.objects.bulk_create(
            [
                Partner(tenant=alpha.tenant, name=f"P{i}", region="EMEA" if i % 2 else "APAC")
                for i in range(partners)
            ]
        )
        page = [
            ProgramFactory(tenant=alpha.tenant, eligibility={"regions": ["EMEA"]} if i % 2 else {})
            for i in range(programs)
        ]
        with django_assert_num_queries(3):
            figures = program_figures(page)
    assert figures[page[1].pk].eligible == partners // 2
    assert figures[page[0].pk].eligible == partners + 2
