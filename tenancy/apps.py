from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.db.models.signals import post_migrate


def _secure_tables(sender, using: str = "default", **kwargs) -> None:
    from tenancy.db.keys import apply_tenant_keys
    from tenancy.rls import apply_row_level_security, connected_as_table_owner

    # `flush` (test teardown) emits post_migrate too, as the application role: nothing to do.
    if connected_as_table_owner(using):
        apply_tenant_keys(using)
        apply_row_level_security(using)


class TenancyConfig(AppConfig):
    default = True
    name = "tenancy"
    verbose_name = "Tenancy"

    def ready(self) -> None:
        from tenancy import (
            checks,  # noqa: F401  (registers the system checks)
            signals,  # connects allauth's receivers; model signals below
        )

        signals.connect()

        post_migrate.connect(_secure_tables, sender=self, dispatch_uid="tenancy.secure_tables")


class UpliftAdminConfig(admin_apps.AdminConfig):
    """The admin site, every view of which runs under the explicit unscoped path."""

    default = False
    default_site = "tenancy.admin_site.UpliftAdminSite"
