"""The demo data behind `make demo`: realistic, complete and idempotent."""

from io import StringIO

from django.core.management import call_command

from incentives.models import Claim, Enrollment, Program
from partners.models import Partner, Tier
from tenancy.context import tenant_scope
from tenancy.models import Tenant


def test_seed_builds_a_realistic_channel_once(db):
    out = StringIO()
    call_command("seed_demo", stdout=out)
    northwind = Tenant.objects.get(slug="northwind")
    with tenant_scope(northwind):
        partners = Partner.objects.all()
        assert partners.count() == 300
        assert partners.values("type").distinct().count() >= 5
        assert partners.values("region").distinct().count() == 4
        assert partners.values("stage").distinct().count() == 3
        assert list(Tier.objects.values_list("name", flat=True)) == [
            "Registered",
            "Silver",
            "Gold",
            "Platinum",
        ]
        programs = Program.objects.all()
        assert programs.count() == 3
        assert programs.values("kind").distinct().count() == 3
        assert programs.values("enrollment_mode").distinct().count() == 3
        statuses = set(Enrollment.objects.values_list("status", flat=True))
        claims = set(Claim.objects.values_list("status", flat=True))
        invoices = Claim.objects.filter(invoice_number="INV-40001")
        duplicates = set(invoices.values_list("status", flat=True))
        appealed = Claim.objects.filter(appealed_at__isnull=False).count()
    assert statuses == {"invited", "enrolled", "reaccept", "declined", "withdrawn"}
    assert claims == {"draft", "approved", "rejected", "needs_review"}
    assert duplicates == {"approved", "rejected"}
    assert appealed == 1
    assert "admin@northwind.example" in out.getvalue() or "Northwind" in out.getvalue()

    again = StringIO()
    call_command("seed_demo", stdout=again)
    assert "nothing to do" in again.getvalue()
