"""Sends the ORM work of `all_tenants()` to the connection of the unscoped role."""

from __future__ import annotations

from django.db import DEFAULT_DB_ALIAS

from tenancy.context import UNSCOPED_ALIAS, unscoped_reason


class UnscopedRouter:
    """Inside `all_tenants(reason=...)` every model reads and writes on `UNSCOPED_ALIAS`, whose
    role has the one policy that opens every tenant; everywhere else, the application's
    connection, even for an object that was loaded inside `all_tenants()`. Migrations run on the
    default alias (as the owner)."""

    def db_for_read(self, model, **hints):
        return UNSCOPED_ALIAS if unscoped_reason() is not None else DEFAULT_DB_ALIAS

    db_for_write = db_for_read

    def allow_relation(self, obj1, obj2, **hints):
        return True

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db != UNSCOPED_ALIAS
