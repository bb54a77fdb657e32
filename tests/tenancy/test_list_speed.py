"""What keeps every list fast: the cached membership check, capped and cached counts, plain
rows, and the rate limits of the API."""

from __future__ import annotations

import pytest
import redis
from django.db import connection
from django.test.utils import CaptureQueriesContext, override_settings
from rest_framework.test import APIClient

from incentives.actions import program_actions_for
from incentives.api.serializers import EnrollmentSerializer, ProgramSerializer
from incentives.api.views import ProgramViewSet
from incentives.models import Enrollment, Program
from incentives.services.figures import program_figures_refresh
from partners.api.serializers import PartnerSerializer
from partners.models import Partner
from tenancy import services
from tenancy.api import pagination
from tenancy.api.serializers import MemberSerializer
from tenancy.context import tenant_scope
from tenancy.models import Membership
from tenancy.roles import Role
from tests.conftest import client_for
from tests.factories.incentives import EnrollmentFactory, ProgramFactory

PARTNERS = "/api/v1/t/alpha/partners/"


def statements(client, url):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    return response, [q["sql"] for q in queries.captured_queries]


def test_list_reads_no_membership_row_once_the_membership_is_cached(worlds):
    alpha, _ = worlds
    client = client_for(alpha.user(Role.VENDOR_ADMIN))
    assert client.get(PARTNERS).status_code == 200
    response, sql = statements(client, PARTNERS)
    assert response.status_code == 200
    assert not [s for s in sql if 'FROM "tenancy_membership"' in s], sql


def test_a_removed_member_loses_access_at_once(worlds):
    alpha, _ = worlds
    admin, cam = alpha.member(Role.VENDOR_ADMIN), alpha.member(Role.CHANNEL_MANAGER)
    client = client_for(cam.user)
    assert client.get(PARTNERS).status_code == 200  # the membership is cached now
    with tenant_scope(alpha.tenant):
        services.membership_deactivate(actor=admin, membership=cam)
    assert client.get(PARTNERS).status_code == 404


def test_a_changed_role_applies_at_once(worlds):
    alpha, _ = worlds
    admin, cam = alpha.member(Role.VENDOR_ADMIN), alpha.member(Role.CHANNEL_MANAGER)
    client = client_for(cam.user)
    assert client.get("/api/v1/t/alpha/members/").status_code == 200
    with tenant_scope(alpha.tenant):
        services.membership_update(actor=admin, membership=cam, role=Role.CLAIMS_REVIEWER)
    assert client.get("/api/v1/t/alpha/members/").status_code == 403


def test_a_deactivated_tenant_closes_at_once(worlds):
    alpha, _ = worlds
    client = client_for(alpha.user(Role.VENDOR_ADMIN))
    assert client.get(PARTNERS).status_code == 200
    alpha.tenant.is_active = False
    alpha.tenant.save(update_fields=["is_active"])
    assert client.get(PARTNERS).status_code == 404


def test_a_long_list_is_counted_in_full_once_then_from_the_cache(worlds, monkeypatch, settings):
    settings.PREPARED_STATEMENTS = False  # the SQL sent is read here
    alpha, _ = worlds
    monkeypatch.setattr(pagination, "COUNT_CAP", 5)
    with tenant_scope(alpha.tenant):
        Partner.objects.bulk_create([Partner(name=f"Many {n}") for n in range(8)])
        expected = Partner.objects.count()
    client = client_for(alpha.user(Role.VENDOR_ADMIN))
    url = f"{PARTNERS}?page_size=3"  # a full first page: the count is needed
    first, sql = statements(client, url)
    assert first.json()["count"] == expected
    assert any("COUNT(*)" in s and "LIMIT" not in s for s in sql), sql
    second, sql = statements(client, url)
    assert second.json()["count"] == expected
    assert not [s for s in sql if "COUNT(*)" in s], sql


def test_a_short_list_is_counted_exactly_on_every_request(worlds):
    alpha, _ = worlds
    client = client_for(alpha.user(Role.VENDOR_ADMIN))
    before = client.get(PARTNERS).json()["count"]
    with tenant_scope(alpha.tenant):
        Partner.objects.create(name="Newcomer")
    assert client.get(PARTNERS).json()["count"] == before + 1


def test_the_partner_list_rows_equal_the_serializers(worlds):
    alpha, _ = worlds
    client = client_for(alpha.user(Role.VENDOR_ADMIN))
    rows = client.get(PARTNERS).json()["results"]
    with tenant_scope(alpha.tenant):
        partners = Partner.objects.filter(pk__in=[r["id"] for r in rows])
        context = {"membership": alpha.member(Role.VENDOR_ADMIN)}
        data = PartnerSerializer(partners, many=True, context=context).data
    expected = {p["id"]: p for p in data}
    assert rows
    assert all(row == expected[row["id"]] for row in rows)


def serialized(alpha, serializer, model, rows, **context) -> dict[int, dict]:
    with tenant_scope(alpha.tenant):
        objects = model.objects.filter(pk__in=[r["id"] for r in rows])
        data = serializer(objects, many=True, context=context).data
    return {item["id"]: item for item in data}


def test_the_enrollment_list_rows_equal_the_serializers(worlds):
    alpha, _ = worlds
    # One with every optional value empty next to the accepted one of the fixture.
    EnrollmentFactory(program=alpha.program, partner=alpha.other_partner, status="invited")
    client = client_for(alpha.user(Role.VENDOR_ADMIN))
    rows = client.get("/api/v1/t/alpha/enrollments/").json()["results"]
    expected = serialized(alpha, EnrollmentSerializer, Enrollment, rows)
    assert len(rows) == 2
    assert [row == expected[row["id"]] for row in rows] == [True, True], (rows, expected)


def test_the_member_list_rows_equal_the_serializers(worlds):
    alpha, _ = worlds
    client = client_for(alpha.user(Role.VENDOR_ADMIN))
    rows = client.get("/api/v1/t/alpha/members/").json()["results"]
    expected = serialized(alpha, MemberSerializer, Membership, rows)
    assert len(rows) == len(alpha.members)
    assert all(row == expected[row["id"]] for row in rows), (rows, expected)


@pytest.mark.parametrize("role", [Role.VENDOR_ADMIN, Role.PARTNER_ADMIN])
def test_the_program_list_rows_equal_the_serializers(worlds, role):
    alpha, _ = worlds
    ProgramFactory(tenant=alpha.tenant, name="Alpha draft", status="draft")
    ProgramFactory(tenant=alpha.tenant, name="Alpha auto", enrollment_mode="automatic")
    ProgramFactory(tenant=alpha.tenant, name="Alpha paused", status="paused")
    with tenant_scope(alpha.tenant):  # one program's figures stored, the others' computed live
        program_figures_refresh(program_ids=[alpha.program.pk])
    client = client_for(alpha.user(role))
    rows = client.get("/api/v1/t/alpha/programs/").json()["results"]
    view = ProgramViewSet(action="list", membership=alpha.member(role))
    with tenant_scope(alpha.tenant):
        programs = list(Program.objects.filter(pk__in=[r["id"] for r in rows]))
        actor = alpha.member(role)
        actions = view._actions(programs)
        if role == Role.VENDOR_ADMIN:  # each program's own actions, its terms looked up
            actions = {p.pk: program_actions_for(actor, p) for p in programs}
        context = {"figures": view._figures(programs), "actions": actions}
        data = ProgramSerializer(programs, many=True, context=context).data
    expected = {item["id"]: item for item in data}
    assert rows
    if role == Role.VENDOR_ADMIN:  # programs of different kinds offer different actions
        assert len({tuple(row["actions"]) for row in rows}) > 1
    assert all(row == expected[row["id"]] for row in rows), (rows, expected)


def token_client(user, tenant) -> tuple[APIClient, int]:
    token, key = services.api_token_create(user=user, tenant=tenant, name="script")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client, token.pk


@override_settings(API_THROTTLE_RATES={"token": "3/minute", "tenant": None})
def test_a_token_over_its_rate_gets_429_with_retry_after(worlds):
    alpha, _ = worlds
    client, _ = token_client(alpha.user(Role.VENDOR_ADMIN), alpha.tenant)
    answers = [client.get(PARTNERS) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert 1 <= int(answers[-1]["Retry-After"]) <= 60
    assert answers[-1].json()["code"] == "throttled"
    # Another token of the same person has its own allowance.
    other, _ = token_client(alpha.user(Role.VENDOR_ADMIN), alpha.tenant)
    assert other.get(PARTNERS).status_code == 200


@override_settings(API_THROTTLE_RATES={"token": None, "tenant": "4/minute"})
def test_a_tenant_over_its_rate_gets_429_for_everyone_in_it(worlds):
    alpha, _ = worlds
    admin, _ = token_client(alpha.user(Role.VENDOR_ADMIN), alpha.tenant)
    cam, _ = token_client(alpha.user(Role.CHANNEL_MANAGER), alpha.tenant)
    codes = [c.get(PARTNERS).status_code for c in (admin, cam, admin, cam, admin, cam)]
    assert codes == [200, 200, 200, 200, 429, 429]
    # Another tenant is not held back.
    bravo, _ = token_client(worlds[1].user(Role.VENDOR_ADMIN), worlds[1].tenant)
    assert bravo.get("/api/v1/t/bravo/partners/").status_code == 200


@pytest.mark.parametrize("rate", ["3/minute"])
def test_a_session_is_limited_per_user(worlds, rate):
    alpha, _ = worlds
    client = client_for(alpha.user(Role.VENDOR_ADMIN))
    with override_settings(API_THROTTLE_RATES={"token": rate, "tenant": None}):
        codes = [client.get(PARTNERS).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]


def test_a_first_page_that_is_not_full_is_counted_without_a_count(worlds):
    alpha, _ = worlds
    client = client_for(alpha.user(Role.VENDOR_ADMIN))
    response, sql = statements(client, f"{PARTNERS}?q=Alpha")
    assert response.json()["count"] == len(response.json()["results"]) == 2
    assert not [s for s in sql if "COUNT(" in s], sql


@pytest.mark.parametrize("cap", [1000, 5])
def test_a_count_read_with_the_rows_is_exact_and_a_longer_list_counted_apart(
    worlds, monkeypatch, cap
):
    alpha, _ = worlds
    monkeypatch.setattr(pagination, "COUNT_CAP", cap)
    with tenant_scope(alpha.tenant):
        Partner.objects.bulk_create([Partner(name=f"Many {n}") for n in range(8)])
        expected = Partner.objects.count()
        partners = Partner.objects.order_by("name")
        paginator = pagination.ListPaginator(
            partners.values("id", "name"), 3, count_with_rows=partners
        )
        with CaptureQueriesContext(connection) as queries:
            page = paginator.get_page(1)
            count = paginator.count
        first_three = [p["name"] for p in partners.values("name")[:3]]
    sql = [q["sql"] for q in queries.captured_queries]
    assert count == expected
    assert [row["name"] for row in page] == first_three
    assert "LIMIT 1001" in sql[0] if cap == 1000 else "LIMIT 6" in sql[0]
    # Up to the cap the count comes with the rows; beyond it, a count of its own.
    assert len(sql) == (1 if expected <= cap else 2), sql


def test_the_token_and_tenant_limits_cost_one_redis_round_trip(worlds, monkeypatch):
    """Both windows are counted in one pipeline, not an INCR (and an ADD) a limit."""
    alpha, _ = worlds
    client, _ = token_client(alpha.user(Role.VENDOR_ADMIN), alpha.tenant)
    trips = []
    command, execute = redis.Redis.execute_command, redis.client.Pipeline.execute

    def spy_command(self, *args, **options):
        if any("throttle:" in str(arg) for arg in args):
            trips.append(args[0])
        return command(self, *args, **options)

    def spy_execute(self, *args, **options):
        if any("throttle:" in str(arg) for c in self.command_stack for arg in c[0]):
            trips.append("pipeline")
        return execute(self, *args, **options)

    monkeypatch.setattr(redis.Redis, "execute_command", spy_command)
    monkeypatch.setattr(redis.client.Pipeline, "execute", spy_execute)
    with override_settings(API_THROTTLE_RATES={"token": "100/minute", "tenant": "100/minute"}):
        for _ in range(3):
            assert client.get(PARTNERS).status_code == 200
    assert trips == ["pipeline"] * 3


@override_settings(API_THROTTLE_RATES={"token": "100/minute", "tenant": "2/minute"})
def test_the_tenant_limit_still_holds_when_the_token_has_room(worlds):
    alpha, _ = worlds
    client, _ = token_client(alpha.user(Role.VENDOR_ADMIN), alpha.tenant)
    answers = [client.get(PARTNERS) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert int(answers[-1]["Retry-After"]) >= 1


def redis_trips(monkeypatch, *words) -> list:
    """The Redis commands (a pipeline as one) that name a key with one of `words`."""
    trips = []
    command = redis.Redis.execute_command

    def spy_command(self, *args, **options):
        if any(word in str(arg) for arg in args for word in words):
            trips.append(args[0])
        return command(self, *args, **options)

    monkeypatch.setattr(redis.Redis, "execute_command", spy_command)
    return trips


@override_settings(API_THROTTLE_RATES={"token": None, "tenant": None})
def test_a_known_token_and_its_members_memberships_cost_one_redis_round_trip(worlds, monkeypatch):
    alpha, _ = worlds
    client, _ = token_client(alpha.user(Role.VENDOR_ADMIN), alpha.tenant)
    assert client.get(PARTNERS).status_code == 200  # the token is read and cached
    trips = redis_trips(monkeypatch, "api-token", "memberships")
    for _ in range(3):
        assert client.get(PARTNERS).status_code == 200
    assert trips == ["MGET"] * 3


@override_settings(API_THROTTLE_RATES={"token": None, "tenant": None})
def test_a_token_of_a_removed_member_is_refused_at_once(worlds):
    alpha, _ = worlds
    admin, cam = alpha.member(Role.VENDOR_ADMIN), alpha.member(Role.CHANNEL_MANAGER)
    client, _ = token_client(cam.user, alpha.tenant)
    for _ in range(2):  # the token, then its memberships with it, from the cache
        assert client.get(PARTNERS).status_code == 200
    with tenant_scope(alpha.tenant):
        services.membership_deactivate(actor=admin, membership=cam)
    assert client.get(PARTNERS).status_code == 404
