"""Cache invalidation of the partner list's filter menus (`selectors.filter_values`).

Model signals rather than the services alone: a tier, membership or person saved anywhere (the
admin, a shell, a data migration) must drop the cached menus too."""

from __future__ import annotations

from django.db.models.signals import post_delete, post_save

from partners.models import Tier
from partners.selectors import forget_all_filter_menus, forget_filter_menus
from tenancy.models import Membership, User


def _tenant_menus_changed(sender, instance, **kwargs) -> None:
    forget_filter_menus(instance.tenant_id)


def _person_changed(sender, instance: User, update_fields=None, **kwargs) -> None:
    """A person's name shows in the channel-manager menus of each of their tenants; a sign-in
    (which writes only `last_login`) changes nothing shown."""
    if update_fields is not None and set(update_fields) <= {"last_login"}:
        return
    forget_all_filter_menus()


def connect() -> None:
    for model in (Tier, Membership):
        label = model._meta.label_lower
        post_save.connect(_tenant_menus_changed, sender=model, dispatch_uid=f"menus.{label}.saved")
        post_delete.connect(_tenant_menus_changed, sender=model, dispatch_uid=f"menus.{label}.gone")
    post_save.connect(_person_changed, sender=User, dispatch_uid="menus.person.saved")
