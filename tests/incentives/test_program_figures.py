"""Lists of programs read each program's figures from a stored row that domain events keep
fresh; the program's own page computes them live."""

from __future__ import annotations

import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from incentives.models import ProgramFigures
from incentives.selectors import program_figures
from incentives.services.enrollments import enrollment_withdraw
from incentives.services.figures import program_figures_refresh
from partners.models import Partner
from partners.services import partner_create
from tenancy.context import tenant_scope
from tenancy.roles import Role
from tests.conftest import build_world, client_for
from tests.factories.incentives import ProgramFactory

URL = "/api/v1/t/alpha/programs/"


def stored(world, program) -> ProgramFigures | None:
    with tenant_scope(world.tenant):
        return ProgramFigures.objects.filter(program=program).first()


def test_the_refresh_stores_the_live_figures_and_a_repeat_changes_nothing(worlds):
    alpha, bravo = worlds
    with tenant_scope(alpha.tenant):
        assert program_figures_refresh() == 1
        assert program_figures_refresh() == 1
        row = ProgramFigures.objects.get(program=alpha.program)
        live = program_figures([alpha.program])[alpha.program.pk]
    assert (row.eligible, row.enrolled, row.required, row.required_enrolled) == (
        live.eligible,
        live.enrolled,
        live.required,
        live.required_enrolled,
    )
    assert row.enrolled == 1
    with tenant_scope(bravo.tenant):
        assert not ProgramFigures.objects.exists()


@pytest.mark.parametrize("programs", [2, 40])
def test_the_program_list_reads_stored_figures_without_aggregates(
    alpha, django_assert_max_num_queries, programs
):
    for _ in range(programs):
        ProgramFactory(tenant=alpha.tenant, eligibility={"types": ["var"]})
    with tenant_scope(alpha.tenant):
        program_figures_refresh()
    client = client_for(alpha.user(Role.CHANNEL_MANAGER))
    with (
        django_assert_max_num_queries(11),
        CaptureQueriesContext(connection) as queries,
    ):
        response = client.get(f"{URL}?page_size=50")
    assert response.status_code == 200
    sql = [q["sql"] for q in queries.captured_queries]
    assert not [s for s in sql if '"incentives_enrollment"' in s], sql
    assert not [s for s in sql if 'FROM "partners_partner"' in s], sql
    figures = {row["id"]: row["figures"] for row in response.json()["results"]}
    assert figures[alpha.program.pk]["enrolled"] == 1


def test_a_program_without_a_row_yet_is_computed_live_on_the_list(alpha):
    client = client_for(alpha.user(Role.CHANNEL_MANAGER))
    [row] = client.get(URL).json()["results"]
    assert row["figures"]["enrolled"] == 1


@pytest.mark.worker
def test_a_withdrawal_reaches_the_figures_row_through_the_worker(transactional_db, celery_worker):
    alpha, _ = build_world("alpha"), build_world("bravo")
    with tenant_scope(alpha.tenant):
        program_figures_refresh()
    assert stored(alpha, alpha.program).enrolled == 1
    with tenant_scope(alpha.tenant):
        enrollment_withdraw(actor=alpha.member(Role.PARTNER_ADMIN), program=alpha.program)
    deadline = time.monotonic() + 60
    while stored(alpha, alpha.program).enrolled != 0 and time.monotonic() < deadline:
        time.sleep(0.3)
    assert stored(alpha, alpha.program).enrolled == 0, celery_worker.log_text()[-4000:]


@pytest.mark.worker
def test_a_new_partner_reaches_every_programs_eligible_count(transactional_db, celery_worker):
    alpha, _ = build_world("alpha"), build_world("bravo")
    with tenant_scope(alpha.tenant):
        program_figures_refresh()
    before = stored(alpha, alpha.program).eligible
    with tenant_scope(alpha.tenant):
        partner_create(actor=alpha.member(Role.CHANNEL_MANAGER), name="Newly Signed Ltd")
        assert Partner.objects.filter(name="Newly Signed Ltd").exists()
    deadline = time.monotonic() + 60
    while stored(alpha, alpha.program).eligible == before and time.monotonic() < deadline:
        time.sleep(0.3)
    assert stored(alpha, alpha.program).eligible == before + 1, celery_worker.log_text()[-4000:]


def _partner_events(world, count: int) -> list:
    from tenancy.models import DomainEvent

    return [
        DomainEvent(tenant=world.tenant, kind="partner.changed", aggregate_id=n + 1)
        for n in range(count)
    ]


def test_batches_of_partner_events_come_to_one_pending_pass(
    worlds, django_capture_on_commit_callbacks
):
    from incentives.models import FiguresRequest
    from incentives.subscribers import program_changes_refresh_figures

    alpha, bravo = worlds
    with tenant_scope(alpha.tenant):
        program_figures_refresh()
        computed = ProgramFigures.objects.get(program=alpha.program).computed_at
        with django_capture_on_commit_callbacks() as queued:
            for _ in range(5):  # an import's events, delivered a batch at a time
                program_changes_refresh_figures(_partner_events(alpha, 1000))
        assert FiguresRequest.objects.count() == 1
        # No pass over the programs during delivery: the one pass is the task's.
        assert ProgramFigures.objects.get(program=alpha.program).computed_at == computed
    assert len(queued) == 1  # one task for the five batches
    with tenant_scope(bravo.tenant):
        assert not FiguresRequest.objects.exists()


def test_a_program_event_refreshes_its_row_at_once_beside_a_pending_pass(worlds):
    from incentives.services.figures import figures_refresh_request
    from incentives.subscribers import program_changes_refresh_figures
    from tenancy.models import DomainEvent

    alpha, _ = worlds
    with tenant_scope(alpha.tenant):
        figures_refresh_request()
        event = DomainEvent(
            tenant=alpha.tenant, kind="program.enrollments_changed", aggregate_id=alpha.program.pk
        )
        program_changes_refresh_figures([*_partner_events(alpha, 3), event])
        assert ProgramFigures.objects.filter(program=alpha.program).exists()


@pytest.mark.django_db(transaction=True, databases=["default", "unscoped"])
def test_a_request_whose_task_was_lost_is_found_by_the_sweeper(worlds):
    from datetime import timedelta

    from django.utils import timezone

    from incentives.models import FiguresRequest
    from incentives.services.figures import (
        figures_refresh_request,
        figures_refresh_taken,
        stale_figures_requests,
    )
    from tenancy.context import all_tenants

    alpha, bravo = worlds
    with tenant_scope(alpha.tenant):
        assert figures_refresh_request() is True
        assert figures_refresh_request() is False  # pending: adds nothing
    with all_tenants(reason="test: the sweeper's read"):
        assert stale_figures_requests() == []
        FiguresRequest.objects.update(requested_at=timezone.now() - timedelta(minutes=10))
        assert stale_figures_requests() == [alpha.tenant.pk]
    with tenant_scope(alpha.tenant):
        figures_refresh_taken()
        assert figures_refresh_request() is True  # taken: the next change asks again
    with tenant_scope(bravo.tenant):
        assert figures_refresh_request() is True
