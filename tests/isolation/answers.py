"""What an answer tells the caller, and what of one tenant another tenant's rows point at."""

from __future__ import annotations

import json
import re

from django import forms
from django.contrib.messages import get_messages
from django.db import models

from tenancy.context import tenant_scope
from tenancy.models import Membership, Tenant, User
from tests.isolation.introspection import tenant_models

# --- answers ----------------------------------------------------------------------------------


def _masked(text: str, sent: object) -> str:
    return re.sub(rf"(?<![\w.-]){re.escape(str(sent))}(?![\w-]|\.\w)", "{id}", text)


def _masked_json(value, sent):
    if isinstance(value, dict):
        return {k: _masked_json(v, sent) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked_json(v, sent) for v in value]
    if isinstance(value, str):
        return _masked(value, sent)
    if value == sent and not isinstance(value, bool):
        return "{id}"
    return value


def answer(response, sent: object) -> tuple:
    """What a response tells the caller, with the id it was sent written as `{id}`: status,
    redirect, and the JSON body (API) or the form errors and flash messages (pages)."""
    location = _masked(response.get("Location", ""), sent)
    if response.get("Content-Type", "").startswith("application/json"):
        return response.status_code, location, _masked_json(json.loads(response.content), sent)
    errors = {}
    for context in response.context or []:
        for name, value in context.flatten().items():
            if isinstance(value, forms.BaseForm) and value.is_bound:
                errors[name] = {
                    f: [_masked(str(m), sent) for m in msgs] for f, msgs in value.errors.items()
                }
    notes = [(m.level, _masked(str(m), sent)) for m in get_messages(response.wsgi_request)]
    return response.status_code, location, errors, notes


def reached(response) -> bool:
    """The request got past the route's permission check and object lookup."""
    location = response.get("Location", "")
    return response.status_code not in (401, 403, 404, 405) and "login" not in location


# --- A's rows, and references to them ---------------------------------------------------------


def first_ids(tenant: Tenant) -> dict[type[models.Model], int]:
    """One row id per tenant-owned model of `tenant` (the lowest), plus its first user."""
    ids = {}
    with tenant_scope(tenant):
        for model in tenant_models():
            pk = model.objects.order_by("pk").values_list("pk", flat=True).first()
            if pk is not None:
                ids[model] = pk
        ids[User] = Membership.objects.order_by("pk").values_list("user_id", flat=True)[0]
    return ids


def references(*, owner: Tenant, other: Tenant) -> list[str]:
    """Rows of `owner` whose foreign keys point at a row of `other` (its tenant row, its
    tenant-owned rows, or a person who belongs to `other` and not to `owner`)."""
    targets: dict[type[models.Model], set[int]] = {Tenant: {other.pk}}
    with tenant_scope(other):
        for model in tenant_models():
            targets[model] = set(model.objects.values_list("pk", flat=True))
        other_people = set(Membership.objects.values_list("user_id", flat=True))
    found = []
    with tenant_scope(owner):
        targets[User] = other_people - set(Membership.objects.values_list("user_id", flat=True))
        for model in tenant_models():
            for fk in model._meta.concrete_fields:
                ids = targets.get(fk.related_model) if fk.is_relation else None
                if not ids:
                    continue
                rows = model.objects.filter(**{f"{fk.attname}__in": ids})
                found += [
                    f"{model._meta.label}.{fk.attname}: row {pk}"
                    for pk in rows.values_list("pk", flat=True)
                ]
    return found
