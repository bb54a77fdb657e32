import factory

from partners.models import Partner, Tier
from tests.factories.tenancy import TenantFactory, TenantOwnedFactory


class PartnerFactory(TenantOwnedFactory):
    class Meta:
        model = Partner

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"Partner {n}")


class TierFactory(TenantOwnedFactory):
    class Meta:
        model = Tier

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"Tier {n}")
    rank = factory.Sequence(lambda n: n + 1)
