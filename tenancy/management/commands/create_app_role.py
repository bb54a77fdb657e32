"""Create (or check) the two PostgreSQL roles the application connects as.

- APP_DB_ROLE (`uplift_app`, DATABASE_URL): every request and task. Its row-level security
  policies see the bound tenant only.
- UNSCOPED_DB_ROLE (`uplift_unscoped`, DATABASE_UNSCOPED_URL): `all_tenants()`, the platform
  admin and fan-out jobs. A policy of its own opens every tenant to it.

Both log in, own nothing, and are neither superuser nor BYPASSRLS, and neither is a member of the
other. A role's password is APP_DB_PASSWORD / UNSCOPED_DB_PASSWORD, or the one in its URL when
that URL names the role. The command connects with DATABASE_OWNER_URL (a role allowed to create
roles); migrations grant the roles their data privileges and write the policies.
"""

from __future__ import annotations

import os

import dj_database_url
import psycopg2
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from psycopg2 import sql


def _password(url: str, role: str, variable: str) -> str | None:
    parsed = dj_database_url.parse(url)
    return os.environ.get(variable) or (
        parsed.get("PASSWORD") if parsed.get("USER") == role else None
    )


class Command(BaseCommand):
    help = "Create the application's two roles: neither superuser nor BYPASSRLS."

    def handle(self, *args, **options) -> None:
        owner = dj_database_url.parse(settings.DATABASE_OWNER_URL)
        roles = [
            (
                settings.APP_DB_ROLE,
                _password(settings.DATABASE_URL, settings.APP_DB_ROLE, "APP_DB_PASSWORD"),
            ),
            (
                settings.UNSCOPED_DB_ROLE,
                _password(
                    settings.DATABASE_UNSCOPED_URL,
                    settings.UNSCOPED_DB_ROLE,
                    "UNSCOPED_DB_PASSWORD",
                ),
            ),
        ]
        names = [role for role, _ in roles]
        if owner["USER"] in names or len(set(names)) != len(names):
            raise CommandError("APP_DB_ROLE and UNSCOPED_DB_ROLE must be two roles of their own.")
        conn = psycopg2.connect(
            dbname="postgres",
            user=owner["USER"],
            password=owner.get("PASSWORD") or None,
            host=owner.get("HOST") or None,
            port=owner.get("PORT") or None,
        )
        conn.autocommit = True
        try:
            with conn.cursor() as cursor:
                for role, password in roles:
                    self._ensure(cursor, role, password)
        finally:
            conn.close()

    def _ensure(self, cursor, role: str, password: str | None) -> None:
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
        verb = "ALTER" if cursor.fetchone() else "CREATE"
        statement = sql.SQL(
            "{} ROLE {} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEROLE NOCREATEDB NOINHERIT"
        ).format(sql.SQL(verb), sql.Identifier(role))
        if password:
            statement += sql.SQL(" PASSWORD {}").format(sql.Literal(password))
        cursor.execute(statement)
        cursor.execute("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = %s", [role])
        superuser, bypass = cursor.fetchone()
        if superuser or bypass:
            raise CommandError(f"role {role} must be neither superuser nor BYPASSRLS")
        done = "created" if verb == "CREATE" else "updated"
        self.stdout.write(f"{done} role {role}: login, no superuser, no BYPASSRLS")
