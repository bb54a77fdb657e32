from datetime import date
from decimal import Decimal

import factory

from incentives.claims.types import default_claim_kinds
from incentives.models import Enrollment, Program, ProgramTerms
from tests.factories.tenancy import TenantFactory, TenantOwnedFactory


class ProgramFactory(TenantOwnedFactory):
    class Meta:
        model = Program

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"Program {n}")
    kind = "spiff"
    status = "active"
    starts_on = date(2026, 1, 1)
    ends_on = date(2026, 12, 31)
    currency = "USD"
    budget = Decimal("50000.00")
    enrollment_mode = "open"
    claim_kinds = factory.LazyAttribute(lambda program: default_claim_kinds(program.kind))


class ProgramTermsFactory(TenantOwnedFactory):
    class Meta:
        model = ProgramTerms

    tenant = factory.SelfAttribute("program.tenant")
    program = factory.SubFactory(ProgramFactory)
    version = 1
    body = "Claims within 30 days of the sale. **No** stacking with other programs."


class EnrollmentFactory(TenantOwnedFactory):
    class Meta:
        model = Enrollment

    tenant = factory.SelfAttribute("program.tenant")
    program = factory.SubFactory(ProgramFactory)
    status = "enrolled"
