"""The API's JSON renderer writes the text DRF's renderer writes."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal

import pytest
from django.utils.translation import gettext_lazy
from rest_framework import renderers
from rest_framework.utils.serializer_helpers import ReturnDict, ReturnList

from tenancy.api.renderers import JSONRenderer

DOCUMENTS = [
    {"count": 2, "next": None, "previous": "http://x/?page=1", "results": [{"id": 1}, {}]},
    {"name": "Söhne & Co ΣΟΦΙΑ 名前 😀", "quote": '"<script>"', "slash": "a/b\\c", "tab": "\t\n"},
    {"created_at": datetime(2026, 12, 2, 4, 5, 6, 789123, tzinfo=UTC)},
    {"at": datetime(2026, 1, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=-5)))},
    {
        "naive": datetime(2026, 6, 1, 1, 2, 3, 4),  # noqa: DTZ001 (a naive one too)
        "day": date(2026, 2, 28),
        "time": time(9, 30),
    },
    {"amount": Decimal("12.50"), "lazy": gettext_lazy("Partners"), "uuid": uuid.UUID(int=7)},
    {"span": timedelta(days=1, seconds=3), "bytes": b"raw", "tuple": (1, "a"), "set": {3}},
    {"separators": "line\u2028paragraph\u2029end"},
    {"big": 2**70, "negative": -(2**63), "float": 0.1, "true": True, "false": False},
    {1: "integer key", "nested": {"deep": [[[]], {}]}},
    ReturnDict({"field": ["This field is required."]}, serializer=None),
    ReturnList([{"id": 1}], serializer=None),
    [],
    "",
]


@pytest.mark.parametrize("data", DOCUMENTS)
def test_the_renderer_writes_what_drfs_writes(data):
    assert JSONRenderer().render(data) == renderers.JSONRenderer().render(data)


def test_an_indented_document_is_written_by_drf():
    media_type = "application/json; indent=2"
    data = {"a": [1, 2]}
    written = JSONRenderer().render(data, media_type)
    assert written == renderers.JSONRenderer().render(data, media_type)
    assert b"\n  " in written


def test_nothing_is_written_for_none():
    assert JSONRenderer().render(None) == b""


def test_what_no_encoder_knows_is_refused_as_drf_refuses_it():
    with pytest.raises(TypeError):
        renderers.JSONRenderer().render({"x": object()})
    with pytest.raises(TypeError):
        JSONRenderer().render({"x": object()})
