"""Filter backends of the API whose documented parameters are exactly the ones they read."""

from __future__ import annotations

from django_filters import utils
from django_filters.filters import QuerySetRequestMixin
from django_filters.rest_framework import DjangoFilterBackend
from django_filters.rest_framework import FilterSet as DjangoFilterSet
from rest_framework import filters

from tenancy.query import BadQuery


class Shared(dict):
    """A class's filters or form fields that every instance uses as they are: a deep copy of it
    is a new dict of the same objects (see `FilterSet`)."""

    def __deepcopy__(self, memo):
        return dict(self)


class FilterSet(DjangoFilterSet):
    """django-filter's FilterSet without its per-request copies. django-filter deep-copies
    every filter for each FilterSet and Django every form field for each form, about half a
    millisecond of a filtered list request; ours share them. That is safe because they hold
    no state of a request: a filter's `parent` (the one attribute a FilterSet sets on it) is
    read only by a filter with a `method` or a queryset built from the request, and a class
    with such a filter keeps django-filter's copies. Form fields only validate here (the API
    renders no filter form). The form class is built once for the FilterSet class."""

    @classmethod
    def get_filters(cls):
        filters = super().get_filters()
        if any(
            f.method is not None or isinstance(f, QuerySetRequestMixin) for f in filters.values()
        ):
            return filters
        return Shared(filters)

    def get_form_class(self):
        cls = type(self)
        if "_form_class" not in cls.__dict__:
            form_class = super().get_form_class()
            if isinstance(cls.base_filters, Shared):
                form_class.base_fields = Shared(form_class.base_fields)
            cls._form_class = form_class
        return cls._form_class


class FilterBackend(DjangoFilterBackend):
    """django-filter's backend with two shortcuts that change no answer: the FilterSet class a
    view's `filterset_fields` describe is built once for the view class, not once a request; and
    a request that names none of the FilterSet's parameters gets the view's list as it is,
    without building the FilterSet and its form (most list requests: a filter left out reads as
    no filter, so the FilterSet would return the same list)."""

    filterset_base = FilterSet
    _built: dict[type, type | None] = {}

    def get_filterset_class(self, view, queryset=None):
        if getattr(view, "filterset_class", None) is not None:
            return super().get_filterset_class(view, queryset)
        view_class = type(view)
        if view_class not in self._built:
            self._built[view_class] = super().get_filterset_class(view, queryset)
        return self._built[view_class]

    def validated_filterset(self, request, queryset, view):
        """The view's FilterSet bound to the request's parameters and valid (a 400 naming the
        parameter when it is not), or None when the request names none of them."""
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is None:
            return None
        params = request.query_params
        if not any(name in params for name in filterset_class.base_filters):
            return None
        filterset = self.get_filterset(request, queryset, view)
        if not filterset.is_valid() and self.raise_exception:
            raise utils.translate_validation(filterset.errors)
        return filterset

    def filter_queryset(self, request, queryset, view):
        filterset = self.validated_filterset(request, queryset, view)
        return queryset if filterset is None else filterset.qs


class OrderingFilter(filters.OrderingFilter):
    """`?ordering=` over the view's declared `ordering_fields` (`-` before one for descending).
    A view that declares none has no `ordering` parameter; a value naming
    anything else is a 400 naming the parameter, never a silently ignored sort."""

    def _choices(self, view) -> list[str]:
        fields = getattr(view, "ordering_fields", None)
        if not fields or fields == "__all__":
            return []
        return [value for field in fields for value in (field, f"-{field}")]

    def get_ordering(self, request, queryset, view):
        choices = self._choices(view)
        value = request.query_params.get(self.ordering_param)
        if not choices or not value:
            return self.get_default_ordering(view)
        if value not in choices:
            raise BadQuery(
                self.ordering_param,
                f"Unknown sort order “{value[:40]}”; choose from {', '.join(choices)}.",
            )
        return [value]

    def get_schema_operation_parameters(self, view):
        choices = self._choices(view)
        if not choices:
            return []
        return [
            {
                "name": self.ordering_param,
                "required": False,
                "in": "query",
                "description": "Sort order: a field, `-` before it for descending.",
                "schema": {"type": "string", "enum": choices},
            }
        ]
