"""The isolation sweep: every URL pattern and API route, found through the resolver (not a
hand-kept list), called by every role of tenant B against tenant A's objects.

For each tenant route it asserts that A's object reads exactly like an object that does not exist
(same status, same body), that lists show none of A's rows, and, at the end, that nothing of A
changed. A route the sweep does not know how to exercise fails the test: a new URL keyword must be
added to OBJECT_KWARGS, a new non-tenant route to NON_TENANT_ROUTES, with the reason it is safe.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from django.apps import apps
from django.forms.models import model_to_dict
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from tenancy.context import tenant_scope
from tenancy.models import ApiToken, Tenant, TenantOwned
from tenancy.roles import Role
from tenancy.services import api_token_create
from tests.conftest import World

MISSING_ID = 987654321

# URL keyword -> tenant A's object of that kind.
OBJECT_KWARGS: dict[str, Callable[[World], int]] = {
    "member_id": lambda a: a.member(Role.PARTNER_REP).pk,
    "invitation_id": lambda a: a.invitation.pk,
    "partner_id": lambda a: a.partner.pk,
    "tier_id": lambda a: a.tier.pk,
    "import_id": lambda a: a.partner_import.pk,
    "program_id": lambda a: a.program.pk,
    "enrollment_id": lambda a: a.enrollment.pk,
}

# Routes outside /t/<tenant_slug>/ and /api/v1/t/<tenant_slug>/: each says how it is covered.
NON_TENANT_ROUTES: dict[str, str] = {
    "": "exercise: the tenant switcher lists the caller's own memberships only",
    "healthz": "exercise: no data",
    "invitations/<str:token>/": "exercise: a link's token is its credential; a wrong one is 404",
    "account/tokens/": "exercise: the caller's own API tokens",
    "account/tokens/<int:token_id>/revoke/": "exercise: revoking another user's token is a no-op",
    "api/v1/me/": "exercise: the caller's own memberships",
    "api/v1/schema/": "exercise: the public API description",
    "api/v1/docs/": "exercise: the public API description",
    "accounts/": "prefix: django-allauth, the signed-in user's own account; holds no tenant row",
    "admin/": "prefix: platform admin, staff only (tests/tenancy/test_admin.py)",
}


@dataclass(frozen=True)
class Route:
    pattern: str
    callback: Callable
    kwargs: tuple[str, ...]

    @property
    def is_tenant_route(self) -> bool:
        return "tenant_slug" in self.kwargs

    def methods(self) -> list[str]:
        actions = getattr(self.callback, "actions", None)
        if actions:  # a DRF viewset route
            return sorted(m.upper() for m in actions)
        view_class = getattr(self.callback, "view_class", None) or getattr(
            self.callback, "cls", None
        )
        if view_class is None:
            return ["GET"]
        return sorted(
            m.upper() for m in ("get", "post", "put", "patch", "delete") if hasattr(view_class, m)
        )

    def url(self, **values) -> str:
        path = self.pattern
        for name, value in values.items():
            path = re.sub(rf"<(?:\w+:)?{name}>", str(value), path)
        assert "<" not in path, f"unfilled keyword in {self.pattern}"
        return "/" + path


def _walk(patterns, prefix: str = "") -> Iterator[Route]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            pattern = prefix + str(entry.pattern)
            if pattern.startswith("^") or "(?P<format>" in pattern:
                continue  # regex routes: none are mounted (the router uses path converters)
            names = tuple(re.findall(r"<(?:\w+:)?(\w+)>", pattern))
            yield Route(pattern, entry.callback, names)


def all_routes() -> list[Route]:
    return list(_walk(get_resolver().url_patterns))


def _non_tenant_rule(route: Route) -> str | None:
    if route.pattern in NON_TENANT_ROUTES:
        return NON_TENANT_ROUTES[route.pattern]
    for prefix, rule in NON_TENANT_ROUTES.items():
        if rule.startswith("prefix:") and route.pattern.startswith(prefix):
            return rule
    return None


def snapshot(tenant: Tenant) -> dict:
    """Every row tenant A owns, plus its tenant row and its people's API tokens."""
    state: dict = {"tenant": model_to_dict(tenant.__class__.objects.get(pk=tenant.pk))}
    with tenant_scope(tenant):
        for model in apps.get_models():
            if issubclass(model, TenantOwned):
                rows = model.objects.order_by("pk")
                state[model._meta.label] = [model_to_dict(row) for row in rows]
        user_ids = [row["user"] for row in state["tenancy.Membership"]]
    state["tokens"] = [model_to_dict(t) for t in ApiToken.objects.filter(user_id__in=user_ids)]
    return state


def body_of(response) -> str:
    """The whole body, streamed (CSV exports) or not."""
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode(errors="replace")
    return response.content.decode(errors="replace")


_CSRF = re.compile(r'(csrfmiddlewaretoken" value="|X-CSRFToken": ")[^"]+')


def normalised(response) -> tuple[int, bytes]:
    body = _CSRF.sub(r"\1-", body_of(response))
    return response.status_code, body.encode()


def assert_same(first, second, context) -> None:
    """The two responses are the same to a byte, but for CSRF tokens (masked anew each render)."""
    (status_a, body_a), (status_b, body_b) = normalised(first), normalised(second)
    diff = "\n".join(
        difflib.unified_diff(
            body_a.decode().splitlines(), body_b.decode().splitlines(), lineterm="", n=0
        )
    )
    assert (status_a, diff) == (status_b, ""), context


def alpha_markers(alpha: World) -> list[str]:
    return [
        alpha.tenant.name,
        alpha.partner.name,
        alpha.other_partner.name,
        alpha.tier.name,
        alpha.program.name,
        alpha.partner_import.file_name,
        "@alpha.example",
    ]


def call(client: Client, method: str, url: str, payload: dict) -> object:
    client.cookies.pop("messages", None)  # flash messages of B's own earlier writes
    if method in ("GET", "DELETE"):
        return getattr(client, method.lower())(url)
    if url.startswith("/api/"):
        return getattr(client, method.lower())(url, payload, content_type="application/json")
    return getattr(client, method.lower())(url, payload)


def test_every_route_is_known_to_the_sweep():
    unknown = []
    for route in all_routes():
        if route.is_tenant_route:
            unknown += [
                f"{route.pattern}: <{k}>"
                for k in route.kwargs
                if k != "tenant_slug" and k not in OBJECT_KWARGS
            ]
        elif _non_tenant_rule(route) is None:
            unknown.append(route.pattern)
    assert unknown == [], "routes the isolation sweep cannot exercise: " + ", ".join(unknown)


@pytest.mark.parametrize("role", Role.values)
def test_tenant_b_reaches_nothing_of_tenant_a(worlds, role):
    alpha, bravo = worlds
    before = snapshot(alpha.tenant)
    client = Client()
    client.force_login(bravo.user(role))
    payload = {
        "name": "Changed by B",
        "role": Role.CHANNEL_MANAGER,
        "email": "intruder@bravo.example",
        "partner": alpha.partner.pk,
    }
    markers = alpha_markers(alpha)
    exercised = 0
    for route in all_routes():
        if not route.is_tenant_route:
            continue
        object_kwargs = [k for k in route.kwargs if k != "tenant_slug"]
        for method in route.methods():
            # Tenant A's own slug: B is not a member, so every route is a 404 like a made-up slug.
            a_ids = {k: OBJECT_KWARGS[k](alpha) for k in object_kwargs}
            foreign = call(
                client, method, route.url(tenant_slug=alpha.tenant.slug, **a_ids), payload
            )
            made_up = call(
                client, method, route.url(tenant_slug="no-such-tenant", **a_ids), payload
            )
            assert foreign.status_code == 404, (method, route.pattern)
            assert_same(foreign, made_up, (method, route.pattern))

            # B's own slug with A's object ids: reads exactly like an id that does not exist.
            own = call(client, method, route.url(tenant_slug=bravo.tenant.slug, **a_ids), payload)
            body = body_of(own)
            leaked = [m for m in markers if m in body]
            assert leaked == [], (method, route.pattern, own.status_code, leaked)
            if object_kwargs:
                missing = {k: MISSING_ID for k in object_kwargs}
                absent = call(
                    client, method, route.url(tenant_slug=bravo.tenant.slug, **missing), payload
                )
                assert own.status_code in (403, 404, 405), (method, route.pattern, own.status_code)
                assert_same(own, absent, (method, route.pattern))
            exercised += 1
    assert exercised > 20
    assert snapshot(alpha.tenant) == before


@pytest.mark.parametrize("role", Role.values)
def test_non_tenant_routes_show_b_nothing_of_a(worlds, role):
    alpha, bravo = worlds
    api_token_create(user=alpha.user(Role.VENDOR_ADMIN), name="Alpha CRM sync")
    alpha_token = ApiToken.objects.get(name="Alpha CRM sync")
    before = snapshot(alpha.tenant)
    client = Client()
    client.force_login(bravo.user(role))
    markers = [*alpha_markers(alpha), "Alpha CRM sync"]
    for route in all_routes():
        rule = _non_tenant_rule(route)
        if route.is_tenant_route or rule is None or not rule.startswith("exercise"):
            continue
        values = {}
        if "token" in route.kwargs:
            values["token"] = "not-a-real-token"
        if "token_id" in route.kwargs:
            values["token_id"] = alpha_token.pk
        for method in route.methods():
            response = call(client, method, route.url(**values), {"name": "x"})
            body = body_of(response)
            assert [m for m in markers if m in body] == [], (method, route.pattern)
            if "token" in values:
                assert response.status_code == 404
    assert snapshot(alpha.tenant) == before
    alpha_token.refresh_from_db()
    assert alpha_token.revoked_at is None
