"""The OpenAPI schema of `/api/v1/`, as `drf_spectacular` builds it, with what its defaults miss:

- **Tags by resource.** An operation is filed under the resource its path names after
  `/t/{tenant_slug}/` (`partners`, `programs`, `people` ...), the tenant itself under `tenant`,
  anything outside a tenant under its first path segment (`me`).
- **Error answers.** Every operation documents the errors the API base view and the exception
  handler (`tenancy.api.errors`) can answer, each with the one error body `Error`: 400 (input,
  and the query-string rule every tenant view applies), 401 (no or bad credentials), 403 (role),
  404 (an unknown tenant or object, a page past the end), 409 (a change that conflicts), 415 (a
  change sent in a content type the operation does not read) and 429 (throttled, with
  `Retry-After`) where a throttle applies.
- **Nullable fields.** A read-only field declared with `default=None` (`source="tier.name"`
  through a relation that may be empty) answers `null`, so it is marked nullable.
- **Pages only for lists.** Only a view set's `list` is paginated; an action that answers a
  plain list (`programs/{id}/terms/`) is documented as one.
"""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

# A path segment -> the tag its operations are filed under, where the two differ.
TAG_NAMES = {"members": "people", "partner-imports": "imports"}


class ErrorSerializer(serializers.Serializer):
    """The one error body of the API."""

    detail = serializers.CharField(help_text="A sentence a person can read.")
    code = serializers.CharField(help_text="What went wrong, for programs: `invalid`, …")
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Reasons by field (`name`, `eligibility.tiers[3]`, a query parameter); "
        "empty when no single field is to blame.",
    )


ERROR_DESCRIPTIONS = {
    "400": "The input (body or query string) cannot be read or is refused; `errors` names "
    "each field.",
    "401": "No credentials, or a token that is invalid or revoked.",
    "403": "The caller's role does not allow this.",
    "404": "No such tenant for the caller, no such object in it, or no such page.",
    "409": "The record changed first, or its state does not allow this; `code` says which.",
    "415": "The body's content type is not one this operation reads.",
    "422": "The `Idempotency-Key` was sent before with another body.",
    "429": "Too many requests; retry after `Retry-After` seconds.",
}
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


class UpliftAutoSchema(AutoSchema):
    def get_tags(self) -> list[str]:
        parts = [part for part in self.path.strip("/").split("/") if part]
        if "{tenant_slug}" in parts:
            rest = parts[parts.index("{tenant_slug}") + 1 :]
            if not rest:
                return ["tenant"]
            return [TAG_NAMES.get(rest[0], rest[0])]
        rest = [part for part in parts if part not in ("api", "v1")]
        return [rest[0]] if rest else super().get_tags()

    def _get_serializer_field_meta(self, field, direction):
        meta = super()._get_serializer_field_meta(field, direction)
        if isinstance(field, serializers.Field) and field.default is None:
            meta["nullable"] = True
        return meta

    def _is_view_set_list(self) -> bool:
        """A view set's `list` (or a plain view): the one place pages and filters apply."""
        action = getattr(self.view, "action", None)
        return action is None or action == "list"

    def _get_paginator(self):
        return super()._get_paginator() if self._is_view_set_list() else None

    def get_filter_backends(self):
        return super().get_filter_backends() if self._is_view_set_list() else []

    def _error_codes(self) -> list[str]:
        in_tenant = "{tenant_slug}" in self.path
        codes = ["401"]
        if in_tenant or self.method in UNSAFE_METHODS:
            codes.append("400")
        if in_tenant:
            codes += ["403", "404"]
        if in_tenant and self.method in UNSAFE_METHODS:
            codes.append("409")
        if self.method in UNSAFE_METHODS:
            codes.append("415")
        if getattr(self.view, "action", None) in getattr(self.view, "idempotent_actions", ()):
            codes.append("422")
        if self.view.get_throttles():
            codes.append("429")
        return sorted(codes)

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for code in self._error_codes():
            if code in responses:
                continue
            responses[code] = self._get_response_for_code(
                OpenApiResponse(ErrorSerializer, description=ERROR_DESCRIPTIONS[code]),
                code,
                direction=direction,
            )
        return responses

    def _get_response_headers_for_code(self, status_code, direction="response"):
        headers = super()._get_response_headers_for_code(status_code, direction)
        if status_code == "429":
            headers["Retry-After"] = {
                "schema": {"type": "integer"},
                "description": "Seconds to wait before the next request.",
            }
        return headers
