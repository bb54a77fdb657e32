"""The per-page writers of list rows write what DRF's fields and the `date` filter write, as the
API's renderer writes it."""

from __future__ import annotations

import html
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from django.template.defaultfilters import date as date_filter
from django.utils import timezone as django_timezone
from django.utils.html import escape as django_escape
from rest_framework import serializers

from tenancy.api.renderers import JSONRenderer
from tenancy.formats import decimal_writer, escape, iso_datetime_writer, short_date_writer

MOMENTS = [
    datetime(2026, 12, 2, 4, 5, 6, tzinfo=UTC),
    datetime(2026, 12, 2, 4, 5, 6, 789123, tzinfo=UTC),
    datetime(2026, 1, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=-5))),
    datetime(2026, 6, 1, 0, 0, tzinfo=timezone(timedelta(hours=5, minutes=30))),
]


@pytest.mark.parametrize("zone", ["UTC", "Europe/Berlin", "Asia/Kolkata"])
def test_the_datetime_writer_writes_what_drf_writes(zone):
    with django_timezone.override(zone):
        field = serializers.DateTimeField()
        write = iso_datetime_writer()
        render = JSONRenderer().render
        for moment in MOMENTS:
            assert render([write(moment)]) == render([field.to_representation(moment)])
        assert write(None) is None


def test_the_datetime_writer_leaves_the_renderer_only_utc_datetimes_in_utc():
    write = iso_datetime_writer()
    assert write(MOMENTS[1]) is MOMENTS[1]
    assert isinstance(write(MOMENTS[2]), str)
    with django_timezone.override("Europe/Berlin"):
        assert isinstance(iso_datetime_writer()(MOMENTS[1]), str)


@pytest.mark.parametrize("zone", ["UTC", "America/New_York"])
def test_the_short_date_writer_writes_what_the_date_filter_writes(zone):
    with django_timezone.override(zone):
        write = short_date_writer()
        for moment in MOMENTS:
            assert write(moment) == date_filter(django_timezone.localtime(moment), "j M Y")
        for day in (date(2026, 1, 1), date(2026, 9, 30), date(2026, 12, 31)):
            assert write(day) == date_filter(day, "j M Y")


def test_the_decimal_writer_writes_what_drf_writes():
    field = serializers.DecimalField(max_digits=14, decimal_places=2)
    write = decimal_writer(2)
    for value in ("0", "0.00", "1", "12.5", "1000.00", "999999999999.99", "-3.10", "0E-2"):
        assert write(Decimal(value)) == field.to_representation(Decimal(value))
    assert write(None) is None


@pytest.mark.parametrize(
    "value",
    ["Meridian Cloud", "O'Brien & Söhne", '<script>"x"</script>', "", "ΣΟΦΙΑ", 42, None, "a>b"],
)
def test_escape_writes_what_django_and_html_escape_write(value):
    assert escape(value) == html.escape(str(value)) == str(django_escape(value))
