"""One error body for the whole API:

    {"detail": "Human sentence.", "code": "machine_code", "errors": {"field": ["reason", ...]}}

`errors` is empty when no single field is to blame. A `Conflict` (the record changed first, or
its state refuses the action, or the thing to create exists already) answers 409, any other
refusal 400. (The base view rolls back the request's
transaction for every error response.)
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from tenancy.errors import ApplicationError, Conflict, NotPermitted, Unprocessable


def _flatten(detail, prefix: str = "") -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            for field, messages in _flatten(value, name).items():
                out.setdefault(field, []).extend(messages)
    elif isinstance(detail, list):
        if all(not isinstance(item, dict | list) for item in detail):
            out[prefix or "non_field_errors"] = [str(item) for item in detail]
        else:
            for index, item in enumerate(detail):
                name = f"{prefix}[{index}]" if prefix else f"[{index}]"
                for field, messages in _flatten(item, name).items():
                    out.setdefault(field, []).extend(messages)
    else:
        out[prefix or "non_field_errors"] = [str(detail)]
    return out


def _body(detail: str, code: str, errors: dict[str, list[str]] | None = None) -> dict:
    return {"detail": detail, "code": code, "errors": errors or {}}


def exception_handler(exc, context):
    if isinstance(exc, NotPermitted):
        exc = exceptions.PermissionDenied(exc.message)
    elif isinstance(exc, ApplicationError):
        if isinstance(exc, Conflict):
            answer = status.HTTP_409_CONFLICT
        elif isinstance(exc, Unprocessable):
            answer = status.HTTP_422_UNPROCESSABLE_ENTITY
        else:
            answer = status.HTTP_400_BAD_REQUEST
        return Response(_body(exc.message, exc.code, exc.errors), status=answer)
    elif isinstance(exc, DjangoValidationError):
        errors = _flatten(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
        exc = exceptions.ValidationError(errors)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        errors = _flatten(exc.detail)
        first_field, first = next(iter(errors.items()), ("", ["Invalid input."]))
        label = "" if first_field == "non_field_errors" else f"{first_field}: "
        response.data = _body(f"{label}{first[0]}", "invalid", errors)
    else:
        detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
        codes = exc.get_codes() if isinstance(exc, exceptions.APIException) else "error"
        response.data = _body(str(detail), codes if isinstance(codes, str) else "error")
    return response
