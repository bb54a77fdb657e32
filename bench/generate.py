"""Build a benchmark database: one large tenant and a small second one, with set-based SQL.

    .venv/bin/python -m bench.generate --partners 50000 --programs 1000 --enrollments 200000

Recreates the database (default `uplift_bench`), migrates it as the owner (the post-migrate hook
enables row-level security and grants the application role), then fills it with one
`INSERT … SELECT … generate_series` statement a table. Values come from a hash of the row number,
so every run builds the same rows. Writes an API token of the large tenant's vendor admin to
`bench/out/token` and a summary to `bench/out/data.json`. Later benchmarks call `generate()`.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys

from psycopg2 import sql

from bench.db import (
    DEFAULT_DATABASE,
    DEFAULT_TENANT,
    OUT,
    ROOT,
    app_url,
    configured_databases,
    connect,
    owner_url,
    secret_key,
    token_path,
    unscoped_url,
)
from bench.fill import Steps, TenantSpec, fill_tenant, require_superuser
from bench.sql import HELPERS_SQL

STAFF_PASSWORD = "uplift-bench"  # noqa: S105  (every generated account shares it; bench data only)


# --- database and schema -------------------------------------------------------------------------


def manage(args: list[str], database: str, *, as_owner: bool = True) -> None:
    """Runs `manage.py` on `database`, connected as its owner unless told otherwise; prints its
    output only when it fails."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "DATABASE_URL": owner_url(database) if as_owner else app_url(database),
        "DATABASE_OWNER_URL": owner_url(database),
        "DATABASE_UNSCOPED_URL": unscoped_url(database),
        "SECRET_KEY": secret_key(),
        "LOG_LEVEL": "WARNING",
    }
    result = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"manage.py {' '.join(args)} failed:\n{result.stdout}{result.stderr}")


# As docker-compose.yml starts PostgreSQL.
RANDOM_PAGE_COST = "1.1"


def recreate_database(database: str) -> None:
    """Drops (disconnecting any leftover session) and creates `database`, owned by the owner."""
    if database in configured_databases():
        raise SystemExit(f"Refusing to recreate {database}: the project's own settings use it.")
    conn = connect(owner_url("postgres"), autocommit=True)
    try:
        with conn.cursor() as cursor:
            name = sql.Identifier(database)
            cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(name))
            # The planner costs of the production server (docker-compose.yml): data in memory
            # or on SSD, where a random read costs about what a sequential one does.
            cursor.execute(
                sql.SQL("ALTER DATABASE {} SET random_page_cost = {}").format(
                    name, sql.Literal(RANDOM_PAGE_COST)
                )
            )
    finally:
        conn.close()


# --- the run -------------------------------------------------------------------------------------


def django_helpers():
    """The project's own password hasher and secret hash (Django is set up on first use)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    import django

    django.setup()
    from django.contrib.auth.hashers import make_password

    from tenancy.models import hash_secret

    return make_password, hash_secret


def insert_token(conn, user_id: int, tenant_id: int, hash_secret) -> str:
    """An API token row for one tenant as `tenancy.services.api_token_create` writes it;
    returns the key."""
    key = "upl_" + secrets.token_urlsafe(32)
    with conn.cursor() as cursor:
        cursor.execute(
            "INSERT INTO tenancy_apitoken"
            " (user_id, tenant_id, name, prefix, key_hash, read_only, created_at)"
            " VALUES (%s, %s, 'bench', %s, %s, false, now())",
            [user_id, tenant_id, key[:12], hash_secret(key)],
        )
    conn.commit()
    return key


def counts(conn, tenant_id: int) -> dict[str, int]:
    tables = {
        "partners": "partners_partner",
        "programs": "incentives_program",
        "terms": "incentives_programterms",
        "required_partners": "incentives_requiredpartner",
        "enrollments": "incentives_enrollment",
        "memberships": "tenancy_membership",
    }
    found = {}
    with conn.cursor() as cursor:
        for key, table in tables.items():
            query = sql.SQL("SELECT count(*) FROM {} WHERE tenant_id = %s")
            cursor.execute(query.format(sql.Identifier(table)), [tenant_id])
            found[key] = cursor.fetchone()[0]
    return found


def vacuum_analyze(conn) -> None:
    """Vacuums and analyzes every table, as autovacuum would have on a running system: the
    visibility map lets counts and index-only scans skip the heap, so the benchmarks measure
    what production does. VACUUM cannot run inside a transaction."""
    conn.autocommit = True
    with conn.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE)")
    conn.autocommit = False


def write_outputs(summary: dict, key: str) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    path = token_path()
    path.write_text(key + "\n")
    path.chmod(0o600)
    (OUT / "data.json").write_text(json.dumps(summary, indent=2) + "\n")


def generate(
    database: str = DEFAULT_DATABASE,
    partners: int = 50_000,
    programs: int = 1_000,
    enrollments: int = 200_000,
    tenant: str = DEFAULT_TENANT,
) -> dict:
    """Builds the benchmark database and returns what later benchmarks need: the database and
    its URLs, the tenant's slug and id, the tier ids, the API token, row counts and step times."""
    steps = Steps()
    print(f"Building {database}: tenant {tenant!r} with {partners} partners, {programs} programs,")
    print(f"{enrollments} enrollments, and a small second tenant.", flush=True)
    with steps.step("application role"):
        # It reads the application role's password, if any, from DATABASE_URL.
        manage(["create_app_role"], database, as_owner=False)
    with steps.step("database"):
        recreate_database(database)
    with steps.step("migrations"):
        manage(["migrate", "--noinput"], database)
    with steps.step("password hash"):
        make_password, hash_secret = django_helpers()
        password = make_password(STAFF_PASSWORD)
    large = TenantSpec(tenant, "Bench Networks", partners, programs, enrollments, 20)
    small = TenantSpec(f"{tenant}-other", "Bench Other", 300, 20, 1_000, 3)
    conn = connect(owner_url(database))
    try:
        with conn.cursor() as cursor:
            require_superuser(cursor)
            cursor.execute(HELPERS_SQL)
        main = fill_tenant(conn, large, password, steps)
        with steps.step("second tenant"):
            other = fill_tenant(conn, small, password, Steps(quiet=True))
        with steps.step("API token"):
            key = insert_token(conn, main["admin_user_id"], main["tenant_id"], hash_secret)
        with steps.step("program figures"):
            # The bulk load writes no events: the stored figures are computed once here, as
            # the application role, the way the events would have kept them.
            manage(["refresh_program_figures"], database, as_owner=False)
        with steps.step("vacuum analyze"):
            vacuum_analyze(conn)
        summary = {
            "database": database,
            "owner_url": owner_url(database),
            "app_url": app_url(database),
            "tenant": tenant,
            "tenant_id": main["tenant_id"],
            "tiers": main["tiers"],
            "other_tenant": small.slug,
            "other_tenant_id": other["tenant_id"],
            "staff_password": STAFF_PASSWORD,
            "counts": counts(conn, main["tenant_id"]),
            "steps": steps.seconds,
            "total_seconds": steps.total,
        }
    finally:
        conn.close()
    write_outputs(summary, key)
    return {**summary, "token": key}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--partners", type=int, default=50_000)
    parser.add_argument("--programs", type=int, default=1_000)
    parser.add_argument("--enrollments", type=int, default=200_000)
    parser.add_argument("--database", default=DEFAULT_DATABASE)
    parser.add_argument("--tenant", default=DEFAULT_TENANT)
    args = parser.parse_args(argv)
    result = generate(args.database, args.partners, args.programs, args.enrollments, args.tenant)
    print("  " + ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in result["counts"].items()))
    print(f"Total {result['total_seconds']:.2f} s (target: under 120 s).")
    print(f"API token of admin@{args.tenant}.example written to {token_path().relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
