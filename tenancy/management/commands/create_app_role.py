"""Create (or check) the PostgreSQL role the application connects as.

The role logs in, owns nothing, and is neither superuser nor BYPASSRLS, so row-level security
holds for every query it makes. Its name is APP_DB_ROLE; its password APP_DB_PASSWORD, or the
one in DATABASE_URL when that URL names the role. The command connects with DATABASE_OWNER_URL (a
role allowed to create roles); migrations grant the role its data privileges.
"""

from __future__ import annotations

import os

import dj_database_url
import psycopg2
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from psycopg2 import sql


class Command(BaseCommand):
    help = "Create the non-superuser, non-BYPASSRLS role the application connects as."

    def handle(self, *args, **options) -> None:
        app = dj_database_url.parse(settings.DATABASE_URL)
        owner = dj_database_url.parse(settings.DATABASE_OWNER_URL)
        role = settings.APP_DB_ROLE
        password = os.environ.get("APP_DB_PASSWORD") or (
            app.get("PASSWORD") if app.get("USER") == role else None
        )
        if role == owner["USER"]:
            raise CommandError("APP_DB_ROLE must be a role of its own, not the owner's.")
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
                cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
                verb = "ALTER" if cursor.fetchone() else "CREATE"
                statement = sql.SQL(
                    "{} ROLE {} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEROLE NOCREATEDB NOINHERIT"
                ).format(sql.SQL(verb), sql.Identifier(role))
                if password:
                    statement += sql.SQL(" PASSWORD {}").format(sql.Literal(password))
                cursor.execute(statement)
                cursor.execute(
                    "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = %s", [role]
                )
                superuser, bypass = cursor.fetchone()
        finally:
            conn.close()
        if superuser or bypass:
            raise CommandError(f"role {role} must be neither superuser nor BYPASSRLS")
        done = "created" if verb == "CREATE" else "updated"
        self.stdout.write(f"{done} role {role}: login, no superuser, no BYPASSRLS")
