"""Fills one tenant of the benchmark database: one `INSERT … SELECT` a table (`bench.sql`),
its values spread as `bench.spread` describes."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from psycopg2 import sql

from bench import spread
from bench.sql import (
    ENROLLMENTS_SQL,
    PARTNER_PEOPLE_SQL,
    PARTNERS_SQL,
    PROGRAMS_SQL,
    REQUIRED_SQL,
    STAFF_SQL,
    TERMS_SQL,
)

PARTNER_PEOPLE = 100  # partners that get an admin and a rep, for portal benchmarks


@dataclass(frozen=True)
class TenantSpec:
    slug: str
    name: str
    partners: int
    programs: int
    enrollments: int
    channel_managers: int


class Steps:
    """Times each step, prints it as it ends, and keeps the figures for the summary."""

    def __init__(self, *, quiet: bool = False) -> None:
        self.seconds: dict[str, float] = {}
        self.started = time.perf_counter()
        self.quiet = quiet

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        yield
        self.seconds[name] = round(time.perf_counter() - started, 2)
        if not self.quiet:
            print(f"  {name:<28} {self.seconds[name]:7.2f} s", flush=True)

    @property
    def total(self) -> float:
        return round(time.perf_counter() - self.started, 2)


# --- SQL building blocks -------------------------------------------------------------------------


def weighted(uniform: str, choices: list[tuple[object, float]]) -> sql.Composable:
    """A CASE expression picking each value for its share of [0, 1) of `uniform`."""
    total = sum(weight for _, weight in choices)
    branches, upper = [], 0.0
    for value, weight in choices[:-1]:
        upper += weight / total
        branches.append(
            sql.SQL("WHEN {} < {} THEN {}").format(
                sql.SQL(uniform), sql.Literal(round(upper, 6)), sql.Literal(value)
            )
        )
    return sql.SQL("CASE {} ELSE {} END").format(
        sql.SQL(" ").join(branches), sql.Literal(choices[-1][0])
    )


def text_array(values: list[str]) -> sql.Composable:
    return sql.SQL("ARRAY[{}]::text[]").format(sql.SQL(", ").join(map(sql.Literal, values)))


def coprime_stride(n: int, start: int = 7919) -> int:
    """A step that visits every residue modulo `n` before repeating (distinct rows by design)."""
    stride = start
    while math.gcd(stride, n) != 1:
        stride += 1
    return stride


def run(cursor, statement: sql.Composable, params: dict) -> int:
    cursor.execute(statement, params)
    return cursor.rowcount


# --- one tenant ----------------------------------------------------------------------------------


def insert_tenant(cursor, spec: TenantSpec) -> int:
    cursor.execute(
        "INSERT INTO tenancy_tenant (name, slug, default_currency, time_zone, require_staff_mfa,"
        " is_active, created_at) VALUES (%s, %s, 'USD', 'UTC', false, true, now())"
        " RETURNING id",
        [spec.name, spec.slug],
    )
    return cursor.fetchone()[0]


def insert_staff(cursor, tenant_id: int, spec: TenantSpec, password: str) -> int:
    """The vendor admin, the channel managers and a claims reviewer, with verified emails."""
    people = [(f"admin@{spec.slug}.example", "Vendor Admin", "vendor_admin")]
    people += [
        (f"cam{n:02d}@{spec.slug}.example", f"Channel Manager {n:02d}", "channel_manager")
        for n in range(1, spec.channel_managers + 1)
    ]
    people.append((f"reviewer@{spec.slug}.example", "Claims Reviewer", "claims_reviewer"))
    cursor.execute(
        STAFF_SQL,
        {
            "tenant": tenant_id,
            "password": password,
            "age": 400,
            "emails": [p[0] for p in people],
            "names": [p[1] for p in people],
            "roles": [p[2] for p in people],
        },
    )
    cursor.execute(
        "SELECT u.id FROM tenancy_user u JOIN tenancy_membership m ON m.user_id = u.id"
        " WHERE m.tenant_id = %s AND m.role = 'vendor_admin'",
        [tenant_id],
    )
    return cursor.fetchone()[0]


def insert_tiers(cursor, tenant_id: int) -> dict[str, int]:
    cursor.execute(
        "INSERT INTO partners_tier (tenant_id, name, rank)"
        " SELECT %s, name, rank FROM unnest(%s::text[]) WITH ORDINALITY AS t(name, rank)"
        " RETURNING name, id",
        [tenant_id, spread.TIERS],
    )
    return dict(cursor.fetchall())


def insert_partners(cursor, tenant_id: int, count: int) -> int:
    geography = sql.SQL(", ").join(
        sql.SQL("({})").format(sql.SQL(", ").join(map(sql.Literal, row)))
        for row in spread.geography_rows()
    )
    names = len(spread.NAME_FIRST) * len(spread.NAME_SECOND) * len(spread.NAME_LAST)
    statement = sql.SQL(PARTNERS_SQL).format(
        geography=geography,
        first=text_array(spread.NAME_FIRST),
        second=text_array(spread.NAME_SECOND),
        last=text_array(spread.NAME_LAST),
        type=weighted("pg_temp.u(g, 1)", spread.PARTNER_TYPES),
        tier=weighted("pg_temp.u(g, 2)", spread.TIER_WEIGHTS),
        stage=weighted("pg_temp.u(g, 4)", spread.STAGES),
        segment=weighted("pg_temp.u(g, 5)", spread.SEGMENTS),
        status=weighted("pg_temp.u(g, 6)", spread.STATUSES),
    )
    params = {
        "tenant": tenant_id,
        "count": count,
        "names": names,
        "stride": coprime_stride(names),
        "per_first": len(spread.NAME_SECOND) * len(spread.NAME_LAST),
        "per_second": len(spread.NAME_LAST),
    }
    return run(cursor, statement, params)


def insert_partner_people(cursor, tenant_id: int, spec: TenantSpec, password: str) -> int:
    """An admin and a rep for the first partners, so portal benchmarks have someone to be."""
    params = {
        "tenant": tenant_id,
        "slug": spec.slug,
        "count": min(PARTNER_PEOPLE, spec.partners),
        "password": password,
        "age": 200,
    }
    return run(cursor, sql.SQL(PARTNER_PEOPLE_SQL), params)


def insert_programs(cursor, tenant_id: int, spec: TenantSpec, tiers: dict, admin: int) -> int:
    # Each rule repeated by its weight: a uniform index then picks rules in proportion.
    variants = [
        json.dumps(rule)
        for rule, weight in spread.eligibility_variants(tiers)
        for _ in range(weight)
    ]
    statement = sql.SQL(PROGRAMS_SQL).format(
        kind=weighted("pg_temp.u(g, 11)", spread.PROGRAM_KINDS),
        status=weighted("pg_temp.u(g, 12)", spread.PROGRAM_STATUSES),
        mode=weighted("pg_temp.u(g, 13)", spread.ENROLLMENT_MODES),
        label=sql.SQL("CASE kind {} END").format(
            sql.SQL(" ").join(
                sql.SQL("WHEN {} THEN {}").format(sql.Literal(k), sql.Literal(v))
                for k, v in spread.KIND_LABELS.items()
            )
        ),
        products=text_array(spread.PRODUCTS),
    )
    params = {
        "tenant": tenant_id,
        "count": spec.programs,
        "admin": admin,
        "variants": variants,
        "variant_count": len(variants),
        "product_count": len(spread.PRODUCTS),
        "description": "%s program (%s enrollment): earn on every qualifying sale or activity.",
    }
    return run(cursor, statement, params)


def insert_terms(cursor, tenant_id: int, admin: int) -> int:
    """Version 1 for every program and a version 2 for about one in seven."""
    body = (
        "# %s: program terms, version %s\n\n"
        "1. The program runs from %s to %s.\n"
        "2. Claims are accepted up to **%s days** after the sale or activity.\n"
        "3. Rewards are paid in %s after the claim is approved.\n"
        "4. The vendor may audit any claim and reverse rewards obtained by misrepresentation.\n"
    )
    return run(cursor, sql.SQL(TERMS_SQL), {"tenant": tenant_id, "admin": admin, "body": body})


def insert_required(cursor, tenant_id: int) -> int:
    return run(cursor, sql.SQL(REQUIRED_SQL), {"tenant": tenant_id})


def insert_enrollments(cursor, tenant_id: int, spec: TenantSpec, admin: int) -> int:
    """`count` distinct (program, partner) pairs over the programs past draft: each program takes
    partners at a fixed stride from its own offset, so no pair repeats."""
    cursor.execute(
        "SELECT count(*) FROM incentives_program WHERE tenant_id = %s AND status <> 'draft'",
        [tenant_id],
    )
    programs = cursor.fetchone()[0]
    if programs == 0 or spec.enrollments > programs * spec.partners:
        raise SystemExit(f"{spec.enrollments} enrollments do not fit {programs} programs")
    statement = sql.SQL(ENROLLMENTS_SQL).format(
        status=weighted("pg_temp.u(g, 41)", spread.ENROLLMENT_STATUSES)
    )
    params = {
        "tenant": tenant_id,
        "count": spec.enrollments,
        "programs": programs,
        "partners": spec.partners,
        "stride": coprime_stride(spec.partners),
        "admin": admin,
    }
    return run(cursor, statement, params)


def require_superuser(cursor) -> None:
    """The bulk load writes every tenant's rows in plain INSERTs with no tenant setting, which
    row-level security (forced on every tenant-owned table) lets through only for a superuser."""
    cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
    if not cursor.fetchone()[0]:
        raise SystemExit("DATABASE_OWNER_URL must name a superuser for the bulk load.")


def fill_tenant(conn, spec: TenantSpec, password: str, steps: Steps) -> dict:
    """Writes one tenant, committing after each step so that each step's time includes its
    deferred foreign-key checks. The connection is the owner's, a superuser here, so row-level
    security does not get in the way of the bulk load: no tenant setting is needed."""
    with conn.cursor() as cursor:
        with steps.step("tenant, staff, tiers"):
            tenant_id = insert_tenant(cursor, spec)
            admin = insert_staff(cursor, tenant_id, spec, password)
            tiers = insert_tiers(cursor, tenant_id)
            conn.commit()
        for name, write in (
            ("partners", lambda: insert_partners(cursor, tenant_id, spec.partners)),
            ("partner people", lambda: insert_partner_people(cursor, tenant_id, spec, password)),
            ("programs", lambda: insert_programs(cursor, tenant_id, spec, tiers, admin)),
            ("terms", lambda: insert_terms(cursor, tenant_id, admin)),
            ("required partners", lambda: insert_required(cursor, tenant_id)),
            ("enrollments", lambda: insert_enrollments(cursor, tenant_id, spec, admin)),
        ):
            with steps.step(name):
                write()
                conn.commit()
    return {"tenant_id": tenant_id, "admin_user_id": admin, "tiers": tiers}
