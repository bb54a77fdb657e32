"""Cache invalidation on changes of memberships and tenants (see `selectors.memberships_of`).

Signals rather than the services alone: a membership or tenant saved anywhere (the admin, a
shell, a data migration) must drop the cached copy too, or a removed member would keep access
until the cache expires."""

from __future__ import annotations

from django.db.models.signals import post_delete, post_save

from tenancy.models import Membership, Tenant
from tenancy.selectors import forget_all_memberships, forget_memberships


def _membership_changed(sender, instance: Membership, **kwargs) -> None:
    forget_memberships([instance.user_id])


def _tenant_changed(sender, instance: Tenant, **kwargs) -> None:
    forget_all_memberships()


def connect() -> None:
    post_save.connect(_membership_changed, sender=Membership, dispatch_uid="memberships.saved")
    post_delete.connect(_membership_changed, sender=Membership, dispatch_uid="memberships.gone")
    post_save.connect(_tenant_changed, sender=Tenant, dispatch_uid="tenant.saved")
    post_delete.connect(_tenant_changed, sender=Tenant, dispatch_uid="tenant.gone")
