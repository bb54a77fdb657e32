"""Filter backends of the API whose documented parameters are exactly the ones they read."""

from __future__ import annotations

from rest_framework import filters

from tenancy.query import BadQuery


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
