"""Every query-string parameter the API documents and every one a page reads answers a hostile
value with a 400 that names the parameter: never a 500, never a 200 that quietly matches
nothing.

The parameters are found, not listed: the API's from the OpenAPI schema (which carries each
list's FilterSet fields and the parameters its views document), a page's by loading it once and
recording the names its code asks the query string for.
"""

from __future__ import annotations

from urllib.parse import quote

import django.core.handlers.wsgi
import pytest
from django.http import QueryDict
from django.test import Client

from tenancy.roles import Role
from tests.isolation.introspection import _openapi_path, _schema
from tests.test_isolation import OBJECT_KWARGS, all_routes

HOSTILE = {
    "NUL": quote("\x00"),
    "superscript two": quote("²"),
    "lone surrogate": "%ED%A0%80",  # "\ud800" as a client encodes it
    "10,000 characters": "x" * 10_000,
}


class RecordingQueryDict(QueryDict):
    """A query string that remembers the names a view asked it for."""

    asked: set[str] = set()

    def __getitem__(self, key):
        self.asked.add(key)
        return super().__getitem__(key)

    def get(self, key, default=None):
        self.asked.add(key)
        return super().get(key, default)

    def getlist(self, key, default=None):
        self.asked.add(key)
        return super().getlist(key, default)

    def __contains__(self, key):
        self.asked.add(key)
        return super().__contains__(key)


def _get_routes(*, api: bool):
    return [
        route
        for route in all_routes()
        if route.is_tenant_route and route.is_api == api and "GET" in route.methods()
    ]


def _url(route, world) -> str:
    values = {name: OBJECT_KWARGS[name](world) for name in route.kwargs if name != "tenant_slug"}
    return route.url(tenant_slug=world.tenant.slug, **values)


def api_parameters(world) -> list[tuple[str, str]]:
    """(url, parameter) for every query parameter of every GET operation the schema documents."""
    found = []
    for route in _get_routes(api=True):
        operation = _schema().get(_openapi_path(route.pattern), {}).get("get", {})
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "query":
                found.append((_url(route, world), parameter["name"]))
    return found


def page_parameters(client: Client, world, monkeypatch) -> list[tuple[str, str]]:
    """(url, parameter) for every name a page's code reads from its query string."""
    monkeypatch.setattr(django.core.handlers.wsgi, "QueryDict", RecordingQueryDict)
    found = []
    for route in _get_routes(api=False):
        url = _url(route, world)
        RecordingQueryDict.asked = set()
        response = client.get(url)
        if response.status_code == 200:
            found += [(url, name) for name in sorted(RecordingQueryDict.asked)]
    monkeypatch.undo()
    return found


def _refusals(client: Client, targets, named_in) -> list[str]:
    wrong = []
    for url, name in targets:
        for label, value in HOSTILE.items():
            response = client.get(f"{url}?{name}={value}")
            if response.status_code != 400 or not named_in(response, name):
                wrong.append(f"{url}?{name}=<{label}>: {response.status_code}")
    return wrong


def _errors_name(response, name: str) -> bool:
    return name in response.json()["errors"]


def _page_names(response, name: str) -> bool:
    return f"<code>{name}</code>" in response.content.decode()


@pytest.mark.django_db
def test_every_api_query_parameter_refuses_hostile_values(alpha):
    client = Client(raise_request_exception=False)
    client.force_login(alpha.user(Role.VENDOR_ADMIN))
    targets = api_parameters(alpha)
    names = {name for _, name in targets}
    assert {"region", "tier", "channel_manager", "q", "status", "kind", "program"} <= names
    assert {"partner", "role"} <= names
    assert _refusals(client, targets, _errors_name) == []


@pytest.mark.django_db
def test_every_page_query_parameter_refuses_hostile_values(alpha, monkeypatch):
    client = Client(raise_request_exception=False)
    client.force_login(alpha.user(Role.VENDOR_ADMIN))
    targets = page_parameters(client, alpha, monkeypatch)
    names = {name for _, name in targets}
    assert {"region", "territory", "country", "type", "tier", "channel_manager"} <= names
    assert {"q", "status", "kind", "role", "pq", "page"} <= names
    assert any(url.endswith("/export.csv") for url, _ in targets), "the partner CSV export"
    assert _refusals(client, targets, _page_names) == []


@pytest.mark.django_db
def test_a_refused_parameter_answers_the_standard_error_body(alpha):
    client = Client()
    client.force_login(alpha.user(Role.VENDOR_ADMIN))
    response = client.get(f"/api/v1/t/{alpha.tenant.slug}/partners/?region=%00")
    assert response.status_code == 400
    assert response.json() == {
        "detail": "region: Contains a control character.",
        "code": "invalid_query",
        "errors": {"region": ["Contains a control character."]},
    }


@pytest.mark.django_db
def test_ids_written_in_other_characters_are_refused_by_name(alpha):
    client = Client()
    client.force_login(alpha.user(Role.VENDOR_ADMIN))
    response = client.get(f"/api/v1/t/{alpha.tenant.slug}/enrollments/?program=1x")
    assert response.status_code == 400
    assert response.json()["errors"] == {"program": ["“1x” is not a whole number."]}
    response = client.get(f"/t/{alpha.tenant.slug}/partners/?tier=abc")
    assert response.status_code == 400
    assert "<code>tier</code>" in response.content.decode()


@pytest.mark.django_db
def test_plain_values_still_filter(alpha):
    client = Client()
    client.force_login(alpha.user(Role.VENDOR_ADMIN))
    response = client.get(f"/api/v1/t/{alpha.tenant.slug}/partners/?q=Alpha&tier={alpha.tier.pk}")
    assert response.status_code == 200
    assert [p["name"] for p in response.json()["results"]] == ["Alpha Partner Ltd"]
