"""Print the DDL that would distribute the schema over Citus (see `tenancy.db.citus`)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from tenancy.db.citus import citus_plan
from tenancy.db.keys import read_catalog
from tenancy.rls import tenant_owned_tables


class Command(BaseCommand):
    help = (
        "Print the SQL that would distribute the schema over Citus: reference tables for shared "
        "data, tenant-owned tables distributed by tenant_id. Reads the catalog; changes nothing."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--database", default="default")

    def handle(self, *args, database: str, **options) -> None:
        plan = citus_plan(read_catalog(database), set(tenant_owned_tables()))
        self.stdout.write(plan.sql(), ending="")
        if plan.problems:
            raise CommandError(f"{len(plan.problems)} keys Citus would refuse (listed above).")
