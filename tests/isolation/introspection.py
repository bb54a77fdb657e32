"""Which request fields carry ids, found by introspection rather than a hand list.

For every route the resolver knows, the views' own declarations are read:
- API views: the DRF serializers their handlers validate with (related fields, `*_id`
  integers, lists of ids), their django-filter FilterSet (model choice filters, id-named number
  and list filters) and the query parameters they document for the OpenAPI schema;
- pages: the Django forms their code uses (model choice fields, id lists, int-typed choices of
  a tenant-owned model); a page whose code reads its query string gets every id parameter the
  API's lists declare, since lists on both sides read the same parameters.

Each field names the model its ids point at: from the field itself (a queryset), else from its
name (a model's name or the name of a foreign key to it), else the view's own model.
"""

from __future__ import annotations

import dis
import functools
import inspect
import re
from dataclasses import dataclass
from types import CodeType, FunctionType

from django import forms
from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django_filters import filters as django_filters
from django_filters.filterset import BaseFilterSet
from rest_framework import serializers
from rest_framework.serializers import BaseSerializer

from tenancy.models import TenantOwned, User

OUR_APPS = ("tenancy", "partners", "incentives", "config")
BODY_METHODS = ("POST", "PUT", "PATCH")
PAGE_BODY_METHODS = ("POST",)  # a page's form posts; PUT reaches a FormView with no body


@dataclass(frozen=True)
class IdField:
    """A request field that carries the id of a row of `model`."""

    location: str  # "body" or "query"
    name: str
    model: type[models.Model]
    many: bool

    def value(self, object_id: int) -> object:
        return [object_id] if self.many else object_id


# --- which model a name points at -------------------------------------------------------------


def tenant_models() -> list[type[TenantOwned]]:
    return [m for m in apps.get_models() if issubclass(m, TenantOwned)]


@functools.cache
def _models_by_name() -> dict[str, set[type[models.Model]]]:
    """Lower-case name -> tenant-owned models it may mean: the model's own name, and the name of
    every foreign key pointing at it from a tenant-owned model."""
    names: dict[str, set[type[models.Model]]] = {}
    owned = tenant_models()
    for model in owned:
        names.setdefault(model._meta.model_name, set()).add(model)
        for fk in model._meta.concrete_fields:
            if fk.is_relation and fk.related_model in owned:
                names.setdefault(fk.name, set()).add(fk.related_model)
    return names


def model_named(name: str) -> type[models.Model] | None:
    """The tenant-owned model `name` means (`partner`, `partner_ids`, `eligibility_tiers`,
    `channel_manager` -> Membership), or None when it means none or several."""
    name = re.sub(r"__id$|_ids?$", "", name.lower())
    parts = name.split("_")
    for start in range(len(parts)):
        candidate = "_".join(parts[start:])
        for word in (candidate, candidate.removesuffix("s")):
            found = _models_by_name().get(word, set())
            if len(found) == 1:
                return next(iter(found))
    return None


def _id_named(name: str) -> bool:
    return bool(re.search(r"(^|_)ids?$", name))


# --- what a view's code uses ------------------------------------------------------------------


def _codes(code: CodeType):
    yield code
    for const in code.co_consts:
        if isinstance(const, CodeType):
            yield from _codes(const)


def _names_used(function) -> set[str]:
    """Global and attribute names the function's code (and its nested code) refers to."""
    function = inspect.unwrap(function)
    if not isinstance(function, FunctionType):
        return set()
    names: set[str] = set()
    for code in _codes(function.__code__):
        names |= set(code.co_names)
        names |= {i.argval for i in dis.get_instructions(code) if i.opname == "LOAD_GLOBAL"}
    return names


def _ours(cls) -> bool:
    return cls.__module__.split(".")[0] in OUR_APPS


def classes_used(function, base: type) -> list[type]:
    """Subclasses of `base` that `function` names in its code, looked up in its module."""
    function = inspect.unwrap(function)
    namespace = getattr(function, "__globals__", {})
    found = []
    for name in sorted(_names_used(function)):
        value = namespace.get(name)
        if isinstance(value, type) and issubclass(value, base) and value not in found:
            found.append(value)
    return found


def _methods_of(view_class) -> list:
    """The view's own functions and those of its ancestors in our apps."""
    functions = []
    for cls in view_class.__mro__:
        if _ours(cls):
            functions += [v for v in vars(cls).values() if isinstance(v, FunctionType)]
    return functions


# --- id fields of serializers, forms and filtersets -------------------------------------------


def _fallback_model(view_class) -> type[models.Model] | None:
    serializer = getattr(view_class, "serializer_class", None)
    model = getattr(getattr(serializer, "Meta", None), "model", None)
    return model if model is not None and issubclass(model, TenantOwned) else None


def _resolved(owner: type, name: str, model, fallback) -> type[models.Model]:
    """The model an id field points at. A field that takes ids and names no model the sweep can
    tell fails the sweep: the field is then to be named after its model, or given a queryset."""
    if model is not None and issubclass(model, TenantOwned | User):
        return model
    found = model_named(name) or fallback
    if found is None:
        raise LookupError(f"{owner.__name__}.{name}: which model do its ids point at?")
    return found


def serializer_id_fields(serializer_class, fallback=None) -> list[IdField]:
    """The writable fields of `serializer_class` that take ids."""
    found = []
    for name, f in serializer_class().fields.items():
        if f.read_only:
            continue
        model, many = None, False
        if isinstance(f, serializers.ManyRelatedField):
            model, many = _queryset_model(f.child_relation), True
        elif isinstance(f, serializers.RelatedField):
            model = _queryset_model(f)
        elif isinstance(f, serializers.ListField) and isinstance(f.child, serializers.IntegerField):
            many = True
        elif not (isinstance(f, serializers.IntegerField) and _id_named(name)):
            continue
        found.append(
            IdField("body", name, _resolved(serializer_class, name, model, fallback), many)
        )
    return found


def _queryset_model(related) -> type[models.Model] | None:
    queryset = related.queryset if related.queryset is not None else related.get_queryset()
    return queryset.model  # a queryset is lazy: naming its model runs no query


def form_id_fields(form_class, fallback=None) -> list[IdField]:
    """The fields of `form_class` that take ids."""
    found = []
    for name, f in form_class.base_fields.items():
        queryset = getattr(f, "queryset", None)
        model = queryset.model if queryset is not None else None
        if isinstance(f, forms.ModelMultipleChoiceField):
            many = True
        elif isinstance(f, forms.ModelChoiceField):
            many = False
        elif isinstance(f, forms.TypedMultipleChoiceField | forms.TypedChoiceField) and (
            f.coerce is int
        ):
            many = isinstance(f, forms.MultipleChoiceField)
            if model_named(name) is None and not _id_named(name):
                continue
        elif _id_named(name) and not isinstance(f, forms.CharField):  # not an outside id
            many = name.endswith("ids") or isinstance(f.widget, forms.MultipleHiddenInput)
        else:
            continue
        found.append(IdField("body", name, _resolved(form_class, name, model, fallback), many))
    return found


def filterset_id_fields(filterset_class, fallback=None) -> list[IdField]:
    """The filters of `filterset_class` that take ids."""
    found = []
    for name, f in filterset_class.base_filters.items():
        queryset = f.extra.get("queryset")
        model = getattr(queryset, "model", None)
        if isinstance(f, django_filters.ModelMultipleChoiceFilter):
            many = True
            model = model or _field_model(filterset_class, f)
        elif isinstance(f, django_filters.ModelChoiceFilter):
            many = False
            model = model or _field_model(filterset_class, f)
        elif isinstance(f, django_filters.NumberFilter | django_filters.MultipleChoiceFilter):
            many = isinstance(f, django_filters.MultipleChoiceFilter)
            model = model_named(name) or model_named(f.field_name or "")
            if model is None and not _id_named(name):
                continue
        else:
            continue
        model = _resolved(filterset_class, name, model, fallback)
        found.append(IdField("query", name, model, many))
    return found


def _field_model(filterset_class, f):
    model = filterset_class._meta.model
    try:
        return model._meta.get_field(f.field_name).related_model
    except FieldDoesNotExist:  # a filter over a path, not a field: the name decides
        return None


def schema_query_id_fields(path: str, method: str) -> list[IdField]:
    """The integer query parameters the OpenAPI schema documents for `path` that name ids."""
    operation = _schema().get(path, {}).get(method.lower(), {})
    found = []
    for parameter in operation.get("parameters", []):
        schema = parameter.get("schema", {})
        many = schema.get("type") == "array"
        kind = schema.get("items", {}).get("type") if many else schema.get("type")
        name = parameter["name"]
        model = model_named(name)
        if parameter["in"] == "query" and kind == "integer" and model is not None:
            found.append(IdField("query", name, model, many))
    return found


@functools.cache
def _schema() -> dict:
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)["paths"]


def _openapi_path(pattern: str) -> str:
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", pattern)


# --- per route and method ---------------------------------------------------------------------


def api_id_fields(route, method: str) -> list[IdField]:
    """Id fields of a DRF route: its handler's serializers (body) and its FilterSet and
    documented parameters (query string)."""
    view_class = route.view_class
    fallback = _fallback_model(view_class)
    actions = getattr(route.callback, "actions", None) or {}
    handler = getattr(view_class, actions.get(method.lower(), method.lower()), None)
    if handler is None:
        return []
    fields: list[IdField] = []
    if method in BODY_METHODS:
        used = classes_used(handler, BaseSerializer)
        names = _names_used(handler)
        # The view's own serializer reads the body when the handler validates through it (or is
        # DRF's own create/update); otherwise it only renders the answer.
        if ("get_serializer" in names and "is_valid" in names) or not _ours(
            inspect.unwrap(handler)
        ):
            used.append(view_class.serializer_class)
        for serializer_class in dict.fromkeys(used):
            fields += serializer_id_fields(serializer_class, fallback)
    elif method == "GET" and not route.kwargs[1:]:  # a list: the only GET a filter applies to
        filterset = _filterset_class(view_class)
        if filterset is not None:
            fields += filterset_id_fields(filterset, fallback)
        fields += schema_query_id_fields(_openapi_path(route.pattern), method)
    return _unique(fields)


def _filterset_class(view_class):
    from django_filters.rest_framework import DjangoFilterBackend

    backends = getattr(view_class, "filter_backends", None) or []
    if not any(issubclass(b, DjangoFilterBackend) for b in backends):
        return None
    model = _fallback_model(view_class)
    if model is None:
        return None
    filterset = DjangoFilterBackend().get_filterset_class(view_class(), model._base_manager.none())
    return filterset if filterset and issubclass(filterset, BaseFilterSet) else None


def page_id_fields(route, method: str, routes: tuple) -> list[IdField]:
    """Id fields of a page: the forms its code uses (body); for GET, when its code reads the
    query string, the API's query ids."""
    view_class = route.view_class
    if method in PAGE_BODY_METHODS:
        form_classes = [getattr(view_class, "form_class", None)]
        for function in _methods_of(view_class):
            form_classes += classes_used(function, forms.BaseForm)
        fields = []
        for form_class in dict.fromkeys(c for c in form_classes if c is not None):
            fields += form_id_fields(form_class)
        return _unique(fields)
    # The page mixin's own query-string check reads every parameter alike and no id: not counted.
    own = [f for f in _methods_of(view_class) if f.__qualname__.split(".")[0] != "TenantPageMixin"]
    if method == "GET" and any("GET" in _names_used(f) for f in own):
        # A page that reads its query string by hand gets every id parameter the API's lists
        # declare: both sides of a list read the same parameters.
        return list(api_query_vocabulary(routes))
    return []


@functools.cache
def api_query_vocabulary(routes: tuple) -> tuple[IdField, ...]:
    """Every query-string id parameter any API list declares."""
    found = []
    for route in routes:
        if route.is_tenant_route and route.is_api and route.view_class is not None:
            found += api_id_fields(route, "GET")
    return tuple(_unique(found))


def _unique(fields: list[IdField]) -> list[IdField]:
    return list(dict.fromkeys(fields))
