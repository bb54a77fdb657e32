"""System checks that refuse to start when a model escapes the tenancy convention."""

from __future__ import annotations

from django.apps import apps
from django.conf import settings
from django.core import checks
from django.db import models

from tenancy.models import Tenant, TenantManager, TenantOwned

# Platform models a tenant-owned model may point at: shared by every tenant, so a single-column
# foreign key to them is right (they become Citus reference tables, see `citus_plan`).
PLATFORM_MODELS = frozenset({"tenancy.tenant", settings.AUTH_USER_MODEL.lower()})

# Platform models that name a tenant without belonging to it: an API token is a credential of a
# user, read by its hash before any tenant is bound, whose tenant says where it may act. No row
# of a tenant points at them, and they hold no tenant's data.
TENANT_NAMING_MODELS = frozenset({"tenancy.apitoken"})


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


def _relation_errors(model: type[models.Model]) -> list[checks.CheckMessage]:
    """Foreign keys the database can give tenant keys: between tenant-owned models by `id`
    (then composite, see `tenancy.db.keys`), or to a platform model."""
    errors: list[checks.CheckMessage] = []
    label = model._meta.label
    owned = issubclass(model, TenantOwned)
    for field in model._meta.get_fields():
        if not field.is_relation or field.auto_created or field.related_model is None:
            continue
        target = field.related_model
        if isinstance(target, str):  # an unresolved lazy reference: Django reports it itself
            continue
        target_owned = issubclass(target, TenantOwned)
        if field.many_to_many:
            through = field.remote_field.through
            if owned and through._meta.auto_created:
                errors.append(
                    checks.Error(
                        f"{label}.{field.name} is a many-to-many field without a through model.",
                        hint="Declare a through model that inherits TenantOwned, so its rows "
                        "carry the tenant and its foreign keys can be composite.",
                        obj=field,
                        id="tenancy.E006",
                    )
                )
            continue
        if not field.concrete:
            continue
        if owned and not target_owned and target._meta.label_lower not in PLATFORM_MODELS:
            errors.append(
                checks.Error(
                    f"{label}.{field.name} points at {target._meta.label}, which is neither "
                    "tenant-owned nor a platform model.",
                    hint="Make the target tenant-owned, or add it to "
                    "tenancy.checks.PLATFORM_MODELS if every tenant shares it.",
                    obj=field,
                    id="tenancy.E004",
                )
            )
        if not owned and target_owned:
            errors.append(
                checks.Error(
                    f"{label}.{field.name} points at tenant-owned {target._meta.label} from a "
                    "model without a tenant.",
                    hint="Inherit TenantOwned: a foreign key to a tenant-owned row must carry "
                    "the tenant (and Citus refuses one from a shared table).",
                    obj=field,
                    id="tenancy.E005",
                )
            )
        if owned and target_owned and field.target_field is not target._meta.pk:
            errors.append(
                checks.Error(
                    f"{label}.{field.name} points at {target._meta.label}."
                    f"{field.target_field.name}, not at its id.",
                    hint="Foreign keys between tenant-owned models reference (tenant_id, id).",
                    obj=field,
                    id="tenancy.E007",
                )
            )
    return errors


@checks.register(checks.Tags.models)
def check_tenant_owned_models(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    errors: list[checks.CheckMessage] = []
    for model in apps.get_models():
        if model._meta.proxy:
            continue
        label = model._meta.label
        errors += _relation_errors(model)
        if (
            _points_at_tenant(model)
            and not issubclass(model, TenantOwned)
            and model._meta.label_lower not in TENANT_NAMING_MODELS
        ):
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
