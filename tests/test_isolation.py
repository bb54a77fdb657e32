"""The isolation sweep: every URL pattern and API route, found through the resolver (not a
hand-kept list), called by every role of tenant B against tenant A's objects.

For each tenant route it asserts that A's object reads exactly like an object that does not exist
(same status, same body), that lists show none of A's rows, and, at the end, that nothing of A
changed. A route the sweep does not know how to exercise fails the test: a new URL keyword must be
added to OBJECT_KWARGS, a new non-tenant route to NON_TENANT_ROUTES, with the reason it is safe.

The second generation puts A's ids into every id field of request bodies and query strings (found
by introspecting serializers, forms and filtersets: tests/isolation/introspection.py), on B's own
objects, and asserts the same answer as for an id that does not exist, nothing of A changed and no
row of B pointing at a row of A. The count of fields tried per role is printed at the end of the
run. The admin and account routes are swept in tests/test_isolation_accounts.py.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.apps import apps
from django.db import connection, transaction
from django.forms.models import model_to_dict
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from tenancy.context import UNSCOPED_ALIAS, tenant_scope
from tenancy.models import ApiToken, Tenant, TenantOwned, User
from tenancy.roles import Role
from tenancy.services import api_token_create
from tests.conftest import World
from tests.isolation import answers, introspection

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
    "claim_id": lambda a: a.claim.pk,
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
    # django-allauth: the signed-in user's own account. Each is called with A's people's
    # addresses in its form's email fields and A's user ids in its keys (accounts test below).
    "accounts/login/": "account: signs in; B is already signed in",
    "accounts/logout/": "account: signs the caller out",
    "accounts/inactive/": "account: a static page",
    "accounts/signup/": "account: an existing address is not revealed",
    "accounts/reauthenticate/": "account: the caller's own password",
    "accounts/email/": "account: the caller's own addresses",
    "accounts/confirm-email/": "account: a static page",
    "accounts/password/change/": "account: the caller's own password",
    "accounts/password/set/": "account: the caller's own password",
    "accounts/password/reset/": "account: the same answer for any address",
    "accounts/login/code/confirm/": "account: the caller's own login code",
    "accounts/^confirm-email/(?P<key>[-:\\w]+)/$": "account: a key is its credential",
    "accounts/password/reset/key/done/": "account: a static page",
    "accounts/^password/reset/key/(?P<uidb36>[0-9A-Za-z]+)-(?P<key>.+)/$": (
        "account: a key is its credential; A's user id with a wrong key changes nothing"
    ),
    "accounts/password/reset/done/": "account: a static page",
    "accounts/2fa/": "account: the caller's own second factors",
    "accounts/2fa/authenticate/": "account: the pending login's own second factor",
    "accounts/2fa/reauthenticate/": "account: the caller's own second factor",
    "accounts/2fa/totp/activate/": "account: the caller's own second factor",
    "accounts/2fa/totp/deactivate/": "account: the caller's own second factor",
    "accounts/2fa/recovery-codes/": "account: the caller's own recovery codes",
    "accounts/2fa/recovery-codes/generate/": "account: the caller's own recovery codes",
    "accounts/2fa/recovery-codes/download/": "account: the caller's own recovery codes",
}

# The platform admin: every route under admin/, with A's ids in these keywords, sends tenant
# people to the admin login (admin test below).
ADMIN_PREFIX = "admin/"
ADMIN_KWARGS = {"object_id", "content_type_id", "id", "app_label", "url"}


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
        view_class = self.view_class
        if view_class is None:
            return ["GET"]
        return sorted(
            m.upper() for m in ("get", "post", "put", "patch", "delete") if hasattr(view_class, m)
        )

    @property
    def is_api(self) -> bool:
        return self.pattern.startswith("api/")

    @property
    def view_class(self) -> type | None:
        return getattr(self.callback, "view_class", None) or getattr(self.callback, "cls", None)

    def url(self, **values) -> str:
        path = self.pattern
        if _REGEX_GROUP.search(path):  # a regex route (admin, allauth): fill its named groups
            path = path.replace("^", "").replace("$", "")
            path = _REGEX_GROUP.sub(lambda m: str(values[m.group(1)]), path)
        for name, value in values.items():
            path = re.sub(rf"<(?:\w+:)?{name}>", str(value), path)
        assert "<" not in path, f"unfilled keyword in {self.pattern}"
        return "/" + path


_REGEX_GROUP = re.compile(r"\(\?P<(\w+)>(?:[^()]|\([^()]*\))*\)")


def _walk(patterns, prefix: str = "") -> Iterator[Route]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            pattern = prefix + str(entry.pattern)
            if pattern.startswith("^") or "(?P<format>" in pattern:
                continue  # format-suffix routes: none are mounted (the router uses converters)
            names = tuple(re.findall(r"<(?:\w+:)?(\w+)>", pattern))
            yield Route(pattern, entry.callback, names)


def all_routes() -> list[Route]:
    return list(_walk(get_resolver().url_patterns))


def _non_tenant_rule(route: Route) -> str | None:
    if route.pattern in NON_TENANT_ROUTES:
        return NON_TENANT_ROUTES[route.pattern]
    if route.pattern.startswith(ADMIN_PREFIX) and set(route.kwargs) <= ADMIN_KWARGS:
        return "admin: B's people are sent to the admin login"
    return None


def snapshot(tenant: Tenant) -> dict:
    """Every row the tenant owns, plus its tenant row and its people's accounts, addresses,
    second factors and API tokens. Read under the tenant's own scope, on the test's connection,
    so rows that are not committed are seen too."""
    state: dict = {"tenant": model_to_dict(tenant.__class__.objects.get(pk=tenant.pk))}
    with tenant_scope(tenant):
        for model in apps.get_models():
            if issubclass(model, TenantOwned):
                rows = model.objects.order_by("pk")
                state[model._meta.label] = [{"pk": r.pk, **model_to_dict(r)} for r in rows]
        user_ids = [row["user"] for row in state["tenancy.Membership"]]
    for model in (User, EmailAddress, Authenticator, ApiToken):
        key = "pk__in" if model is User else "user_id__in"
        rows = model.objects.filter(**{key: user_ids}).order_by("pk")
        state[model._meta.label] = [{"pk": r.pk, **model_to_dict(r)} for r in rows]
    return state


def body_of(response) -> str:
    """The whole body, streamed (CSV exports) or not."""
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode(errors="replace")
    return response.content.decode(errors="replace")


CSRF_VALUE = re.compile(r'(csrfmiddlewaretoken" value="|X-CSRFToken": ")[^"]+')


def normalised(response) -> tuple[int, bytes]:
    body = CSRF_VALUE.sub(r"\1-", body_of(response))
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
    api_token_create(user=alpha.user(Role.VENDOR_ADMIN), tenant=alpha.tenant, name="Alpha CRM sync")
    alpha_token = ApiToken.objects.get(name="Alpha CRM sync")
    before = snapshot(alpha.tenant)
    client = Client()
    client.force_login(bravo.user(role))
    markers = [*alpha_markers(alpha), "Alpha CRM sync"]
    for route in all_routes():
        rule = _non_tenant_rule(route)
        if route.is_tenant_route or rule is None or not rule.startswith("exercise"):
            continue
        # Each keyword: A's values first, then one that names nothing; all answer alike.
        tries: list[dict] = [{}]
        if "token" in route.kwargs:  # A's invitation by id or by its stored hash, or made up
            tokens = [alpha.invitation.pk, alpha.invitation.token_hash, "not-a-real-token"]
            tries = [{"token": token} for token in tokens]
        if "token_id" in route.kwargs:
            tries = [{"token_id": alpha_token.pk}, {"token_id": MISSING_ID}]
        for method in route.methods():
            answers = []
            for values in tries:
                # A body naming A's tenant: B's people cannot mint a token that acts in A.
                body = {"name": "x", "tenant": alpha.tenant.pk}
                response = call(client, method, route.url(**values), body)
                body = body_of(response)
                assert [m for m in markers if m in body] == [], (method, route.pattern)
                if "token" in values:
                    assert response.status_code == 404
                answers.append((response.status_code, response.get("Location")))
            assert len(set(answers)) == 1, (method, route.pattern, answers)
    assert snapshot(alpha.tenant) == before
    alpha_token.refresh_from_db()
    assert alpha_token.revoked_at is None
    assert list(ApiToken.objects.filter(tenant=alpha.tenant)) == [alpha_token]


# --- the second generation: A's ids in bodies and query strings -------------------------------


@dataclass(frozen=True)
class Probe:
    route: Route
    method: str
    field: introspection.IdField


@functools.cache
def probes() -> tuple[Probe, ...]:
    """Every (route, method, id field) of tenant routes, found by introspection."""
    routes = tuple(all_routes())
    found = []
    for route in routes:
        if not route.is_tenant_route or route.view_class is None:
            continue
        for method in route.methods():
            if route.is_api:
                fields = introspection.api_id_fields(route, method)
            else:
                fields = introspection.page_id_fields(route, method, routes)
            found += [Probe(route, method, f) for f in fields]
    return tuple(found)


def test_the_sweep_finds_id_fields_by_introspection():
    """The probes include fields of each kind the views declare: a serializer's related field,
    a list of ids, a form's model choice, a FilterSet's id filter, a documented parameter."""
    found = {
        (p.route.pattern.split("<slug:tenant_slug>/")[1], p.method, p.field.name) for p in probes()
    }
    for expected in [
        ("members/<int:member_id>/", "PATCH", "partner"),  # PrimaryKeyRelatedField
        ("partners/", "POST", "channel_manager"),
        ("tiers/reorder/", "POST", "order"),  # a list of ids, the view's own model
        ("programs/<int:program_id>/invite/", "POST", "partner_ids"),
        ("partners/new/", "POST", "tier"),  # ModelChoiceField
        ("programs/<int:program_id>/required/", "POST", "partner_ids"),  # a form used in code
        ("programs/new/", "POST", "eligibility_tiers"),
        ("partners/", "GET", "tier"),  # FilterSet
        ("members/", "GET", "partner"),  # filterset_fields
        ("enrollments/", "GET", "program"),  # a documented query parameter
    ]:
        assert expected in found, expected


def _bravo_url(route: Route, bravo: World) -> str:
    own = {k: OBJECT_KWARGS[k](bravo) for k in route.kwargs if k != "tenant_slug"}
    return route.url(tenant_slug=bravo.tenant.slug, **own)


def _send(client: Client, probe: Probe, url: str, value: object, *, keep: bool):
    """One request in its own transaction (a savepoint of the test's), rolled back unless
    `keep`: both requests of a pair then meet the same state."""
    data = {probe.field.name: probe.field.value(value)}
    with transaction.atomic():
        client.cookies.pop("messages", None)
        if probe.field.location == "query":
            response = client.get(url, data)
        elif probe.route.is_api:
            response = getattr(client, probe.method.lower())(
                url, data, content_type="application/json"
            )
        else:
            response = getattr(client, probe.method.lower())(url, data)
        body = body_of(response)
        if not keep:
            transaction.set_rollback(True)
    return response, body


@pytest.mark.django_db(transaction=True, databases=["default", UNSCOPED_ALIAS])
@pytest.mark.parametrize("role", Role.values)
def test_tenant_a_ids_in_bodies_and_query_strings_read_as_missing(worlds, role, sweep_tally):
    """On committed worlds, with the unscoped connection open to the code under test: a leak
    through that path (its own connection, which reads committed rows only) shows as a leak."""
    alpha, bravo = worlds
    assert not connection.in_atomic_block  # the worlds are committed
    before = snapshot(alpha.tenant)
    a_ids = answers.first_ids(alpha.tenant)
    markers = alpha_markers(alpha)
    client = Client()
    client.force_login(bravo.user(role))
    for probe in probes():
        url = _bravo_url(probe.route, bravo)
        a_id = a_ids[probe.field.model]
        absent, _ = _send(client, probe, url, MISSING_ID, keep=False)
        foreign, body = _send(client, probe, url, a_id, keep=True)
        context = (probe.method, probe.route.pattern, probe.field.name)
        leaked = [m for m in markers if m in body]
        assert leaked == [], (*context, foreign.status_code, leaked)
        assert answers.answer(foreign, a_id) == answers.answer(absent, MISSING_ID), context
        sweep_tally.add(role, probe.field.location, got_through=answers.reached(foreign))
    row = sweep_tally.counts[role]
    assert row["query_reached"] > 0, row
    if _has_body_id_routes(role):
        assert row["body_reached"] > 0, row
    assert snapshot(alpha.tenant) == before
    assert answers.references(owner=bravo.tenant, other=alpha.tenant) == []


def _has_body_id_routes(role: str) -> bool:
    """Whether some route with an id field in its body lets `role` write."""
    for probe in probes():
        if probe.field.location != "body":
            continue
        view = probe.route.view_class()
        actions = getattr(probe.route.callback, "actions", None) or {}
        view.action = actions.get(probe.method.lower())
        if role in view.allowed_roles(probe.method):
            return True
    return False
