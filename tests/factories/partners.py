import factory

from partners.models import Partner
from tests.factories.tenancy import TenantFactory, TenantOwnedFactory


class PartnerFactory(TenantOwnedFactory):
    class Meta:
        model = Partner

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"Partner {n}")
