"""The partner CSV import before and after it read its file once a run, on the same file in the
same run.

    .venv/bin/python -m bench.partner_import [--rows 200000] [--database uplift_bench_import]

Recreates a database of its own (as `bench.generate` does: `create_app_role`, `migrate` as the
owner), creates two fresh tenants with the application role, so row-level security is in every
query, and generates one CSV of `--rows` partners (one row in 200 names a tier that does not
exist, so row errors are exercised too). Then imports it into one tenant with the application's
`partner_import_run`, one call a task with the production time budget (`BULK_TASK_SECONDS`),
and into the other with the old algorithm (`bench.import_baseline`: a task a chunk of 500 rows,
each parsing the file from row 1), each call in `tenant_scope` as the task wrapper
runs it, under production settings. Both run in this process with the queueing of continuations
switched off: the calls are made one after another here, as a worker would run the chain.
Prints both times and the ratio, checks that both tenants got the same partners and counts, and
writes `bench/out/partner_import.json`.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
import time

from bench.db import OUT, ROOT, app_url, owner_url

DEFAULT_DATABASE = "uplift_bench_import"
TYPES = ("reseller", "var", "msp", "distributor", "referral")
TIERS = ("Registered", "Silver", "Gold", "Platinum")
REGIONS = (("EMEA", "DE"), ("North America", "US"), ("APAC", "JP"), ("LATAM", "BR"))


def prepare_database(database: str) -> None:
    from bench.generate import manage, recreate_database

    manage(["create_app_role"], database, as_owner=False)
    recreate_database(database)
    manage(["migrate", "--noinput"], database)


def setup_django(database: str) -> None:
    # Production settings (DEBUG off: no query log growing in memory), as bench.lists serves.
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    os.environ["DATABASE_URL"] = app_url(database)
    os.environ["DATABASE_OWNER_URL"] = owner_url(database)
    os.environ["SECRET_KEY"] = secrets.token_urlsafe(50)
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    # Every module a run imports lazily is imported now: a run takes long enough for the code on
    # disk to change under it.
    import incentives.tasks  # noqa: F401
    import partners.tasks  # noqa: F401
    from partners import csv_io

    # No broker: this process runs the chain of tasks itself, one call after another.
    csv_io.enqueue_on_commit = lambda task, **kwargs: None


def csv_text(rows: int) -> str:
    lines = ["external_id,name,type,tier,region,country"]
    for n in range(1, rows + 1):
        region, country = REGIONS[n % len(REGIONS)]
        tier = "Nope" if n % 200 == 0 else TIERS[n % len(TIERS)]
        lines.append(f"P{n:07d},Partner {n},{TYPES[n % len(TYPES)]},{tier},{region},{country}")
    return "\n".join(lines) + "\n"


def fresh_tenant(owner, name: str):
    from django.db import transaction

    from partners.models import Tier
    from tenancy.context import tenant_scope
    from tenancy.models import Membership
    from tenancy.services import tenant_create

    tenant = tenant_create(name=name, owner=owner)
    with tenant_scope(tenant), transaction.atomic():
        for rank, tier in enumerate(TIERS, start=1):
            Tier.objects.create(name=tier, rank=rank)
        actor = Membership.objects.get(user=owner)
    return tenant, actor


def timed_import(tenant, actor, data: bytes, run_one) -> dict:
    """Upload, then call `run_one(import_id)` under the tenant until the import is finished."""
    from partners import csv_io
    from tenancy.context import tenant_scope

    started = time.perf_counter()
    with tenant_scope(tenant):
        job = csv_io.partner_import_start(actor=actor, file_name="bench.csv", data=data)
    uploaded = time.perf_counter()
    calls = 0
    while job.status not in csv_io.FINISHED:
        with tenant_scope(tenant):
            job = run_one(job.pk)
        calls += 1
    finished = time.perf_counter()
    return {
        "upload_seconds": round(uploaded - started, 2),
        "seconds": round(finished - uploaded, 2),
        "tasks": calls,
        "status": job.status,
        "processed_rows": job.processed_rows,
        "created": job.created_count,
        "errors": job.error_count,
    }


def partner_count(tenant) -> int:
    from partners.models import Partner
    from tenancy.context import tenant_scope

    with tenant_scope(tenant):
        return Partner.objects.count()


def run(rows: int, database: str) -> dict:
    print(f"Database {database}: recreating and migrating…", flush=True)
    prepare_database(database)
    setup_django(database)
    from django.conf import settings

    from bench import import_baseline
    from partners import csv_io
    from tenancy.models import User

    owner = User.objects.create_user(f"bench-import-{int(time.time())}@bench.example")
    before_tenant, before_actor = fresh_tenant(owner, "Import Before")
    after_tenant, after_actor = fresh_tenant(owner, "Import After")
    data = csv_text(rows).encode()
    print(f"CSV: {rows:,} rows, {len(data) / 1024 / 1024:.1f} MB", flush=True)

    budget = settings.BULK_TASK_SECONDS
    print(f"After (reads the file once a task, {budget:g} s a task)…", flush=True)
    after = timed_import(
        after_tenant,
        after_actor,
        data,
        lambda pk: csv_io.partner_import_run(import_id=pk, seconds=budget),
    )
    print(f"  {after['seconds']:.2f} s in {after['tasks']} tasks", flush=True)
    print("Before (a task a chunk, parsing from row 1)…", flush=True)
    before = timed_import(
        before_tenant,
        before_actor,
        data,
        lambda pk: import_baseline.partner_import_run(import_id=pk),
    )
    print(f"  {before['seconds']:.2f} s in {before['tasks']} tasks", flush=True)

    same = {k: v for k, v in before.items() if k in ("processed_rows", "created", "errors")}
    if same != {k: after[k] for k in same} or partner_count(before_tenant) != partner_count(
        after_tenant
    ):
        raise SystemExit(f"The two imports disagree: before {before}, after {after}")
    return {
        "rows": rows,
        "before_seconds": before["seconds"],
        "after_seconds": after["seconds"],
        "speedup": round(before["seconds"] / after["seconds"], 1),
        "bytes": len(data),
        "bulk_task_seconds": budget,
        "before": before,
        "after": after,
        "partners_each": partner_count(after_tenant),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--database", default=DEFAULT_DATABASE)
    args = parser.parse_args(argv)
    result = run(args.rows, args.database)
    print(
        f"{result['rows']:,} rows: before {result['before_seconds']:.2f} s, "
        f"after {result['after_seconds']:.2f} s, {result['speedup']}x faster"
    )
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / "partner_import.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"Written to {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
