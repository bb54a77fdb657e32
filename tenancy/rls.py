"""Wall 2: PostgreSQL row-level security on every tenant-owned table.

Applied after every `migrate` by the owner of the tables, for every concrete `TenantOwned` model,
so a new model cannot be forgotten. `FORCE` makes the policy hold for the table owner as well;
only a superuser or a BYPASSRLS role passes it, and the application connects as neither.
A session with no tenant set matches no row (`current_setting(..., true)` is NULL, not an error).

The application role's policy has no branch that opens every tenant; the unscoped role
(`all_tenants()`) has a policy of its own, granted to it alone.
"""

from __future__ import annotations

import json

from django.apps import apps
from django.db import connection

from tenancy.models import TenantOwned

POLICY = "tenant_isolation"
UNSCOPED_POLICY = "unscoped_access"
# Each setting is read in a scalar subquery, which PostgreSQL evaluates once a statement (an
# InitPlan) instead of once a row: measured on 50,000 partners, COUNT(*) under the policy takes
# half the time.
PREDICATE = "tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::bigint)"

# The two narrow reads that come before a tenant is known (tenancy.context): read-only, one table
# each, and neither opens anything but the rows it names.
READ_GRANTS = {
    "tenancy_membership": (
        "own_memberships",
        "user_id = (SELECT tenancy_claimed_user())",
    ),
    "tenancy_invitation": (
        "invitation_link",
        "token_hash = (SELECT NULLIF(current_setting('app.invitation_token_hash', true), ''))",
    ),
}

CLAIM_KEY_TABLE = "tenancy_claim_key"
# `app.user_claim` is "<user id>.<hex HMAC-SHA256 of the id>"; the key sits in a table only the
# owner reads, behind this security-definer function, so the application role can present a
# claim the web process signed but cannot make one up.
CLAIM_FUNCTION = """
CREATE OR REPLACE FUNCTION tenancy_claimed_user() RETURNS bigint
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
  SELECT CASE
    WHEN c.parts[2] = encode(
      sha256(k.outer_key || sha256(k.inner_key || convert_to(c.parts[1], 'UTF8'))), 'hex')
    THEN c.parts[1]::bigint
  END
  FROM tenancy_claim_key k,
       (SELECT string_to_array(NULLIF(current_setting('app.user_claim', true), ''), '.')
          AS parts) c
  WHERE k.purpose = 'own-memberships' AND c.parts[1] ~ '^[0-9]{1,18}$'
$$
"""


def tenant_owned_tables() -> list[str]:
    return sorted(
        model._meta.db_table
        for model in apps.get_models()
        if issubclass(model, TenantOwned) and not model._meta.proxy and model._meta.managed
    )


def apply_row_level_security(using: str = "default") -> list[str]:
    """Enable, force and (re)create the policies on each tenant-owned table, write the claim key
    and grant the two application roles their data privileges. Returns the tables it secured."""
    from django.conf import settings
    from django.db import connections

    conn = connections[using]
    tables = tenant_owned_tables()
    with conn.cursor() as cursor:
        _install_claim_function(cursor)
        unscoped_role = _existing_role(cursor, settings.UNSCOPED_DB_ROLE)
        for table in tables:
            quoted = conn.ops.quote_name(table)
            cursor.execute(f"ALTER TABLE {quoted} ENABLE ROW LEVEL SECURITY")
            cursor.execute(f"ALTER TABLE {quoted} FORCE ROW LEVEL SECURITY")
            cursor.execute(
                "SELECT policyname FROM pg_policies WHERE schemaname = 'public' AND tablename = %s",
                [table],
            )
            for (name,) in cursor.fetchall():
                cursor.execute(f"DROP POLICY {conn.ops.quote_name(name)} ON {quoted}")
            cursor.execute(
                f"CREATE POLICY {POLICY} ON {quoted} USING ({PREDICATE}) WITH CHECK ({PREDICATE})"
            )
            if table in READ_GRANTS:
                name, predicate = READ_GRANTS[table]
                cursor.execute(f"CREATE POLICY {name} ON {quoted} FOR SELECT USING ({predicate})")
            if unscoped_role:
                cursor.execute(
                    f"CREATE POLICY {UNSCOPED_POLICY} ON {quoted} TO {unscoped_role}"
                    " USING (true) WITH CHECK (true)"
                )
        for role in (settings.APP_DB_ROLE, settings.UNSCOPED_DB_ROLE):
            grant_app_role(cursor, role)
    return tables


def _existing_role(cursor, role: str) -> str | None:
    cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
    return connection.ops.quote_name(role) if cursor.fetchone() else None


def _install_claim_function(cursor) -> None:
    from tenancy.context import own_memberships_key

    key = own_memberships_key().ljust(64, b"\0")
    inner = bytes(byte ^ 0x36 for byte in key)
    outer = bytes(byte ^ 0x5C for byte in key)
    cursor.execute(
        f"CREATE TABLE IF NOT EXISTS {CLAIM_KEY_TABLE} ("
        " purpose text PRIMARY KEY, inner_key bytea NOT NULL, outer_key bytea NOT NULL)"
    )
    cursor.execute(f"REVOKE ALL ON {CLAIM_KEY_TABLE} FROM PUBLIC")
    cursor.execute(
        "INSERT INTO tenancy_claim_key (purpose, inner_key, outer_key)"
        " VALUES ('own-memberships', %s, %s) ON CONFLICT (purpose)"
        " DO UPDATE SET inner_key = EXCLUDED.inner_key, outer_key = EXCLUDED.outer_key",
        [inner, outer],
    )
    cursor.execute(CLAIM_FUNCTION)
    cursor.execute("REVOKE ALL ON FUNCTION tenancy_claimed_user() FROM PUBLIC")


def grant_app_role(cursor, role: str) -> None:
    """Data privileges only: the role owns nothing, so it can neither alter a table nor turn its
    row-level security off, and it never reads the claim key."""
    quoted = _existing_role(cursor, role)
    if quoted is None:
        return
    cursor.execute(f"GRANT USAGE ON SCHEMA public TO {quoted}")
    cursor.execute(
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {quoted}"
    )
    cursor.execute(f"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {quoted}")
    cursor.execute(f"REVOKE ALL ON {CLAIM_KEY_TABLE} FROM {quoted}")
    cursor.execute(f"GRANT EXECUTE ON FUNCTION tenancy_claimed_user() TO {quoted}")


def connected_as_table_owner(using: str = "default") -> bool:
    """True when this connection may change table definitions (migrations run as the owner)."""
    from django.db import connections

    with connections[using].cursor() as cursor:
        cursor.execute(
            "SELECT rolsuper OR NOT EXISTS ("
            "  SELECT 1 FROM pg_tables WHERE schemaname = 'public'"
            "  AND tableowner <> current_user) FROM pg_roles WHERE rolname = current_user"
        )
        return bool(cursor.fetchone()[0])


def row_level_security_status(
    using: str = "default",
) -> dict[str, tuple[bool, bool, dict[str, list[str]]]]:
    """(enabled, forced, {policy name: roles it applies to}) for each tenant-owned table."""
    from django.db import connections

    tables = tenant_owned_tables()
    with connections[using].cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,"
            " coalesce((SELECT jsonb_object_agg(p.policyname, p.roles) FROM pg_policies p"
            "           WHERE p.schemaname = 'public' AND p.tablename = c.relname), '{}')"
            " FROM pg_class c WHERE c.relname = ANY(%s) AND c.relkind = 'r'",
            [tables],
        )
        return {
            name: (enabled, forced, json.loads(policies) if isinstance(policies, str) else policies)
            for name, enabled, forced, policies in cursor
        }
