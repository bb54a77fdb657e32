"""System checks that refuse to start when a model escapes the tenancy convention."""

from __future__ import annotations

from django.apps import apps
from django.core import checks
from django.db import models

from tenancy.models import Tenant, TenantManager, TenantOwned


def _points_at_tenant(model: type[models.Model]) -> bool:
    return any(
        field.is_relation and field.many_to_one and field.related_model is Tenant
        for field in model._meta.get_fields()
        if field.concrete
    )


def _referenced_fields(expression) -> set[str]:
    if isinstance(expression, models.F):
        return {expression.name}
    found: set[str] = set()
    for source in getattr(expression, "get_source_expressions", list)():
        found |= _referenced_fields(source)
    return found


def _unique_sets(model: type[models.Model]) -> list[tuple[str, set[str]]]:
    found: list[tuple[str, set[str]]] = []
    for constraint in model._meta.constraints:
        if isinstance(constraint, models.UniqueConstraint):
            names = set(constraint.fields)
            for expression in constraint.expressions:
                names |= _referenced_fields(expression)
            found.append((constraint.name, names))
    for together in model._meta.unique_together:
        found.append(("unique_together " + ",".join(together), set(together)))
    for field in model._meta.local_fields:
        if field.unique and not field.primary_key:
            found.append((f"{field.name} (unique=True)", {field.name}))
    return found


@checks.register(checks.Tags.models)
def check_tenant_owned_models(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    errors: list[checks.CheckMessage] = []
    for model in apps.get_models():
        if model._meta.proxy:
            continue
        label = model._meta.label
        if _points_at_tenant(model) and not issubclass(model, TenantOwned):
            errors.append(
                checks.Error(
                    f"{label} points at Tenant but does not inherit TenantOwned.",
                    hint="Inherit TenantOwned: the scoped manager and RLS come with it.",
                    obj=model,
                    id="tenancy.E001",
                )
            )
        if not issubclass(model, TenantOwned):
            continue
        if not isinstance(model._default_manager, TenantManager):
            errors.append(
                checks.Error(
                    f"{label}'s default manager is not a TenantManager.",
                    hint="Declare other managers after `objects`, or subclass TenantManager.",
                    obj=model,
                    id="tenancy.E002",
                )
            )
        for name, fields in _unique_sets(model):
            if "tenant" not in fields and "tenant_id" not in fields:
                errors.append(
                    checks.Error(
                        f"{label}: unique constraint {name} does not include tenant.",
                        hint="Unique keys of tenant-owned rows are per tenant (Citus needs it).",
                        obj=model,
                        id="tenancy.E003",
                    )
                )
    return errors
