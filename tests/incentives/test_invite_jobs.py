"""Invitations to every eligible partner as background work: the job, its chunks, redelivery,
the progress on the program page and in the API, and the real worker."""

from __future__ import annotations

import time

import pytest
from django.test import Client
from django.urls import reverse

from incentives import selectors
from incentives.models import Enrollment, InviteJob, Program
from incentives.services import invite_jobs
from incentives.services.invite_jobs import invite_job_run, invite_job_start
from partners.models import Partner
from tenancy.context import tenant_scope
from tenancy.errors import ApplicationError, NotPermitted
from tenancy.roles import Role
from tests.conftest import build_world, client_for
from tests.factories.incentives import EnrollmentFactory, ProgramFactory
from tests.factories.partners import PartnerFactory
from tests.worker import settle


def _program(world, **fields) -> Program:
    fields = {"enrollment_mode": "invitation", "eligibility": {"types": ["msp"]}, **fields}
    with tenant_scope(world.tenant):
        return Program.objects.get(pk=ProgramFactory(tenant=world.tenant, **fields).pk)


def _msps(world, count: int) -> list[Partner]:
    with tenant_scope(world.tenant):
        return PartnerFactory.create_batch(count, tenant=world.tenant, type="msp")


def _start(world, program: Program, role: str = Role.CHANNEL_MANAGER) -> InviteJob:
    with tenant_scope(world.tenant):
        return invite_job_start(actor=world.member(role), program=program)


def _run(world, job: InviteJob, **kwargs) -> InviteJob:
    with tenant_scope(world.tenant):
        return invite_job_run(job_id=job.pk, **kwargs)


def _statuses(world, program: Program) -> dict[int, str]:
    with tenant_scope(world.tenant):
        return dict(Enrollment.objects.filter(program=program).values_list("partner", "status"))


def test_a_job_invites_in_chunks_committing_progress_and_queues_its_continuation(
    worlds, monkeypatch
):
    alpha, bravo = worlds
    monkeypatch.setattr(invite_jobs, "CHUNK_PARTNERS", 2)
    program = _program(alpha)
    msps = _msps(alpha, 5)
    _msps(bravo, 3)
    job = _start(alpha, program)
    assert (job.status, job.total, job.done) == ("pending", 5, 0)
    queued = []
    monkeypatch.setattr(invite_jobs, "enqueue_on_commit", lambda task, **kw: queued.append(kw))
    job = _run(alpha, job)  # no time budget: one chunk, then the continuation
    assert (job.status, job.done, job.invited, job.next_partner_id) == ("running", 2, 2, msps[1].pk)
    assert queued == [{"tenant_id": alpha.tenant.pk, "job_id": job.pk}]
    assert job.progress_percent == 40
    job = _run(alpha, job, seconds=60)
    assert (job.status, job.done, job.invited, job.unchanged, job.error_count) == (
        "done",
        5,
        5,
        0,
        0,
    )
    assert len(queued) == 1
    assert _statuses(alpha, program) == {p.pk: "invited" for p in msps}


def test_a_redelivered_message_skips_what_is_done_and_already_invited_partners(worlds, monkeypatch):
    alpha, _ = worlds
    monkeypatch.setattr(invite_jobs, "CHUNK_PARTNERS", 2)
    monkeypatch.setattr(invite_jobs, "enqueue_on_commit", lambda task, **kw: None)
    program = _program(alpha)
    msps = _msps(alpha, 4)
    EnrollmentFactory(program=program, partner=msps[3], status="enrolled")
    job = _start(alpha, program)
    job = _run(alpha, job)
    with tenant_scope(alpha.tenant):
        # A colleague invites the next partner by hand before the continuation runs.
        Enrollment.objects.create(program=program, partner=msps[2], status="invited")
    job = _run(alpha, job)  # the next chunk: both partners are skipped, not errors
    job = _run(alpha, job)  # no partner left: done
    finished_at = job.finished_at
    job = _run(alpha, job)  # the same message again: a finished job is left alone
    assert (job.status, job.done, job.invited, job.unchanged, job.error_count) == (
        "done",
        4,
        2,
        2,
        0,
    )
    assert job.finished_at == finished_at
    with tenant_scope(alpha.tenant):
        assert Enrollment.objects.filter(program=program).count() == 4


def test_asking_again_while_a_job_is_under_way_returns_that_job(worlds, monkeypatch):
    alpha, _ = worlds
    program = _program(alpha)
    _msps(alpha, 1)
    first = _start(alpha, program)
    assert _start(alpha, program, role=Role.VENDOR_ADMIN).pk == first.pk
    _run(alpha, first, seconds=60)
    assert _start(alpha, program).pk != first.pk


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"status": "closed"}, "this one is closed"),
        ({"enrollment_mode": "automatic"}, "enrolls eligible partners by itself"),
    ],
)
def test_a_program_that_takes_no_invitations_is_refused_at_the_request(worlds, fields, reason):
    alpha, _ = worlds
    program = _program(alpha, **fields)
    with pytest.raises(ApplicationError, match=reason):
        _start(alpha, program)
    with tenant_scope(alpha.tenant):
        assert not InviteJob.objects.exists()


@pytest.mark.parametrize("role", [Role.CLAIMS_REVIEWER, Role.PARTNER_ADMIN, Role.PARTNER_REP])
def test_only_program_editors_may_invite_everyone(worlds, role):
    alpha, _ = worlds
    with pytest.raises(NotPermitted):
        _start(alpha, _program(alpha), role=role)


def test_a_program_closed_mid_way_fails_the_job_and_keeps_what_was_invited(worlds, monkeypatch):
    alpha, _ = worlds
    monkeypatch.setattr(invite_jobs, "CHUNK_PARTNERS", 2)
    monkeypatch.setattr(invite_jobs, "enqueue_on_commit", lambda task, **kw: None)
    program = _program(alpha)
    _msps(alpha, 3)
    job = _run(alpha, _start(alpha, program))
    with tenant_scope(alpha.tenant):
        Program.objects.filter(pk=program.pk).update(status="closed")
    job = _run(alpha, job)
    assert job.status == "failed"
    assert job.failure.endswith("this one is closed.")
    assert (job.done, job.invited) == (2, 2)
    assert len(_statuses(alpha, program)) == 2


def test_the_program_page_polls_the_progress_fragment_until_the_job_is_done(worlds, monkeypatch):
    alpha, bravo = worlds
    monkeypatch.setattr(invite_jobs, "CHUNK_PARTNERS", 2)
    monkeypatch.setattr(invite_jobs, "enqueue_on_commit", lambda task, **kw: None)
    program = _program(alpha)
    _msps(alpha, 3)
    job = _run(alpha, _start(alpha, program))
    client = Client()
    client.force_login(alpha.user(Role.CLAIMS_REVIEWER))
    url = reverse("program_invite_progress", args=["alpha", program.pk])
    page = client.get(reverse("program_detail", args=["alpha", program.pk])).content.decode()
    assert f'hx-get="{url}" hx-trigger="every 2s"' in page
    fragment = client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert "2 of 3 partners gone through" in fragment
    assert 'value="66"' in fragment
    _run(alpha, job, seconds=60)
    fragment = client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert "3 of 3 partners gone through" in fragment
    assert "hx-trigger" not in fragment
    foreign = Client()
    foreign.force_login(bravo.user(Role.VENDOR_ADMIN))
    assert (
        foreign.get(reverse("program_invite_progress", args=["bravo", program.pk])).status_code
        == 404
    )


def test_api_answers_202_with_the_job_to_poll_and_404_before_any(worlds):
    alpha, bravo = worlds
    program = _program(alpha)
    _msps(alpha, 2)
    client = client_for(alpha.user(Role.CHANNEL_MANAGER))
    base = f"/api/v1/t/alpha/programs/{program.pk}/"
    assert client.get(f"{base}invite-job/").status_code == 404
    response = client.post(f"{base}invite/", {"partner_ids": None}, format="json")
    assert response.status_code == 202
    body = response.json()
    assert (body["status"], body["total"], body["program"]) == ("pending", 2, program.pk)
    assert response["Location"] == body["url"] == f"http://testserver{base}invite-job/"
    assert client.get(body["url"]).json()["id"] == body["id"]
    rep = client_for(alpha.user(Role.PARTNER_REP))
    assert rep.get(f"{base}invite-job/").status_code == 403
    foreign = client_for(bravo.user(Role.VENDOR_ADMIN))
    assert foreign.get(f"/api/v1/t/bravo/programs/{program.pk}/invite-job/").status_code == 404


@pytest.mark.django_db(transaction=True, databases=["default", "unscoped"])
def test_sweeper_requeues_jobs_whose_message_was_lost(worlds, monkeypatch):
    from datetime import timedelta

    from django.utils import timezone

    from incentives.tasks import invite_job_run_task, invite_jobs_sweep_task

    alpha, bravo = worlds
    sent = []
    monkeypatch.setattr(invite_job_run_task, "apply_async", lambda kwargs: sent.append(kwargs))
    lost = _start(alpha, _program(alpha))
    fresh = _start(bravo, _program(bravo))
    with tenant_scope(alpha.tenant):
        InviteJob.objects.filter(pk=lost.pk).update(
            created_at=timezone.now() - timedelta(minutes=10),
            heartbeat_at=timezone.now() - timedelta(minutes=10),
        )
    sent.clear()  # the messages of the two starts (committed at once: no transaction is open)
    assert invite_jobs_sweep_task() == 1
    assert sent == [{"tenant_id": alpha.tenant.pk, "job_id": lost.pk}]
    assert fresh.pk not in [kwargs["job_id"] for kwargs in sent]
    assert invite_job_run_task.uplift_queue == invite_jobs_sweep_task.uplift_queue == "bulk"
    sent.clear()
    assert invite_jobs_sweep_task() == 0  # its heartbeat moved on: one message a threshold


@pytest.mark.django_db(transaction=True, databases=["default", "unscoped"])
def test_sweeper_requeues_a_running_job_whose_heartbeat_stopped_and_not_a_long_live_one(
    worlds, monkeypatch
):
    from datetime import timedelta

    from django.conf import settings
    from django.utils import timezone

    from incentives.tasks import invite_job_run_task, invite_jobs_sweep_task

    alpha, bravo = worlds
    sent = []
    monkeypatch.setattr(invite_job_run_task, "apply_async", lambda kwargs: sent.append(kwargs))
    killed = _start(alpha, _program(alpha))
    alive = _start(bravo, _program(bravo))
    now = timezone.now()
    stale = now - timedelta(seconds=settings.BULK_STALE_SECONDS + 5)
    with tenant_scope(alpha.tenant):
        InviteJob.objects.filter(pk=killed.pk).update(
            status="running", started_at=stale, heartbeat_at=stale
        )
    with tenant_scope(bravo.tenant):
        InviteJob.objects.filter(pk=alive.pk).update(
            status="running", started_at=now - timedelta(hours=2), heartbeat_at=now
        )
    sent.clear()
    assert invite_jobs_sweep_task() == 1
    assert sent == [{"tenant_id": alpha.tenant.pk, "job_id": killed.pk}]


def test_each_committed_chunk_of_invitations_moves_the_heartbeat(worlds, monkeypatch):
    from datetime import timedelta

    from django.utils import timezone

    alpha, _ = worlds
    monkeypatch.setattr(invite_jobs, "CHUNK_PARTNERS", 2)
    monkeypatch.setattr(invite_jobs, "enqueue_on_commit", lambda task, **kw: None)
    program = _program(alpha)
    _msps(alpha, 3)
    job = _start(alpha, program)
    long_ago = timezone.now() - timedelta(hours=1)
    with tenant_scope(alpha.tenant):
        InviteJob.objects.filter(pk=job.pk).update(heartbeat_at=long_ago)
        job = invite_job_run(job_id=job.pk)
        assert job.status == "running"
        assert InviteJob.objects.get(pk=job.pk).heartbeat_at > long_ago + timedelta(minutes=59)


@pytest.mark.worker
def test_the_worker_invites_everyone_once_even_when_the_message_comes_twice(
    transactional_db, celery_worker
):
    from incentives.tasks import invite_job_run_task
    from tenancy.tasks import tenant_healthcheck_task

    alpha = build_world("alpha")
    build_world("bravo")
    program = _program(alpha)
    msps = _msps(alpha, 1200)  # three chunks
    client = client_for(alpha.user(Role.CHANNEL_MANAGER))
    response = client.post(f"/api/v1/t/alpha/programs/{program.pk}/invite/", {}, format="json")
    assert response.status_code == 202
    job_id = response.json()["id"]
    invite_job_run_task.apply_async(kwargs={"tenant_id": alpha.tenant.pk, "job_id": job_id})
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        progress = client.get(response["Location"]).json()
        if progress["status"] in ("done", "failed"):
            break
        time.sleep(0.2)
    # The duplicate message is handled before this, on the same first-in-first-out queue.
    tenant_healthcheck_task.apply_async(kwargs={"tenant_id": alpha.tenant.pk}, queue="bulk").get(
        timeout=120
    )
    settle(alpha.tenant.pk)
    progress = client.get(response["Location"]).json()
    assert (progress["status"], progress["done"], progress["invited"]) == ("done", 1200, 1200), (
        celery_worker.log_text()
    )
    assert (progress["unchanged"], progress["error_count"]) == (0, 0)
    statuses = _statuses(alpha, program)
    assert statuses == {p.pk: "invited" for p in msps}
    with tenant_scope(alpha.tenant):
        assert selectors.invite_job_latest(program).pk == job_id
