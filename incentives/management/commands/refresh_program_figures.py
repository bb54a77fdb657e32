"""Recompute every program's stored figures (`ProgramFigures`), tenant by tenant.

Events keep the rows fresh; this fills them where no event has yet (after the migration that
adds them, after a bulk load that wrote no events) and repairs them if ever needed. Safe to run
at any time: a run writes what the events would.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.db import transaction

from incentives.services.figures import program_figures_refresh
from tenancy.context import all_tenants, tenant_scope
from tenancy.models import Tenant


class Command(BaseCommand):
    help = "Recompute the stored figures of every program of every active tenant."

    def handle(self, *args, **options):
        with all_tenants(reason="list the tenants whose program figures to recompute"):
            tenant_ids = list(Tenant.objects.filter(is_active=True).values_list("pk", flat=True))
        total = 0
        for tenant_id in tenant_ids:
            with tenant_scope(tenant_id), transaction.atomic():
                total += program_figures_refresh()
        self.stdout.write(f"{total} programs in {len(tenant_ids)} tenants.")
