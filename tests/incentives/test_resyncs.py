"""Automatic enrollment follows partner changes through events, one coalesced re-sync a program
that the changes can affect."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from incentives.models import AutoEnrollRequest, Enrollment
from incentives.services.resyncs import auto_enroll_request, auto_enroll_requests_for_partners
from incentives.tasks import auto_enroll_requests_sweep_task
from partners.models import Partner
from partners.services import partner_update
from tenancy.context import tenant_scope
from tenancy.models import DomainEvent
from tenancy.roles import Role
from tests.conftest import build_world
from tests.factories.incentives import ProgramFactory
from tests.support.event_subscribers import holding_the_worker

RESYNC_RECEIVED = re.compile(r"incentives\.tasks\.programs_auto_enroll_task\[[^\]]+\] received")


def automatic(world, name: str, regions: list[str], **extra):
    return ProgramFactory(
        tenant=world.tenant,
        name=name,
        enrollment_mode="automatic",
        eligibility={"regions": regions},
        **extra,
    )


def enrolled(world, program) -> int:
    with tenant_scope(world.tenant):
        return Enrollment.objects.filter(program=program, automatic=True).count()


def test_a_request_while_one_is_pending_queues_nothing(worlds, django_capture_on_commit_callbacks):
    alpha, bravo = worlds
    emea = automatic(alpha, "EMEA auto", ["EMEA"])
    with django_capture_on_commit_callbacks() as callbacks, tenant_scope(alpha.tenant):
        assert auto_enroll_request(program_id=emea.pk) is True
        assert auto_enroll_request(program_id=emea.pk) is False
    assert len(callbacks) == 1
    with tenant_scope(bravo.tenant):  # another tenant's request for its own program is its own
        assert AutoEnrollRequest.objects.count() == 0


def test_only_programs_a_changed_partner_can_join_are_requested(worlds):
    alpha, _ = worlds
    emea = automatic(alpha, "EMEA auto", ["EMEA"])
    automatic(alpha, "APAC auto", ["APAC"])
    automatic(alpha, "EMEA paused", ["EMEA"], status="paused")
    ProgramFactory(tenant=alpha.tenant, eligibility={"regions": ["EMEA"]})  # open enrollment
    with tenant_scope(alpha.tenant):
        Partner.objects.filter(pk=alpha.partner.pk).update(region="EMEA")
        with transaction.atomic():
            assert auto_enroll_requests_for_partners(partner_ids=[alpha.partner.pk]) == [emea.pk]
            # Already pending: not looked at again.
            assert auto_enroll_requests_for_partners(partner_ids=[alpha.partner.pk]) == []
        Enrollment.objects.create(program=emea, partner=alpha.partner, status="enrolled")
        AutoEnrollRequest.objects.all().delete()
        # In the program already: nothing to do.
        assert auto_enroll_requests_for_partners(partner_ids=[alpha.partner.pk]) == []


@pytest.mark.worker
def test_300_partner_edits_queue_one_resync_a_program_they_affect(transactional_db, celery_worker):
    alpha, _ = build_world("alpha"), build_world("bravo")
    emea, apac = automatic(alpha, "EMEA auto", ["EMEA"]), automatic(alpha, "APAC auto", ["APAC"])
    latam = automatic(alpha, "LATAM auto", ["LATAM"])
    ProgramFactory(tenant=alpha.tenant, eligibility={"regions": ["EMEA"]})  # open enrollment
    with tenant_scope(alpha.tenant):
        Partner.objects.bulk_create(Partner(name=f"Edited {n:03}") for n in range(300))
        partners = list(Partner.objects.filter(name__startswith="Edited").order_by("pk"))
    cam = alpha.member(Role.CHANNEL_MANAGER)
    log_before = len(celery_worker.log_text())
    # The edits come faster than the worker gets through them, on any machine.
    with holding_the_worker(alpha):
        for n, partner in enumerate(partners):
            with tenant_scope(alpha.tenant):  # one transaction an edit, as in 300 requests
                partner_update(actor=cam, partner=partner, region="EMEA" if n % 2 else "APAC")

    def settled() -> bool:
        with tenant_scope(alpha.tenant):
            return (
                not DomainEvent.objects.filter(delivered_at__isnull=True).exists()
                and not AutoEnrollRequest.objects.exists()
                and enrolled(alpha, emea) == enrolled(alpha, apac) == 150
            )

    deadline = time.monotonic() + 180
    while not settled() and time.monotonic() < deadline:
        time.sleep(0.5)
    log = celery_worker.log_text()[log_before:]
    assert settled(), log[-4000:]
    resyncs = len(RESYNC_RECEIVED.findall(log))
    relays = log.count("tenancy.tasks.event_relay_task[") // 2  # received, then succeeded
    deliveries = log.count("tenancy.tasks.event_deliver_task[") // 2
    print(f"300 edits: {resyncs} re-sync tasks, {relays} relays, {deliveries} deliveries")
    assert resyncs == 2  # EMEA and APAC; not LATAM, not the open program, not one an edit
    assert enrolled(alpha, latam) == 0


@pytest.mark.worker
@pytest.mark.django_db(transaction=True, databases=["default", "unscoped"])
def test_the_sweeper_runs_a_resync_whose_message_was_lost(celery_worker):
    alpha, _ = build_world("alpha"), build_world("bravo")
    emea = automatic(alpha, "EMEA auto", ["EMEA"])
    with tenant_scope(alpha.tenant):
        Partner.objects.filter(pk=alpha.partner.pk).update(region="EMEA")
        # A request whose task never reached the worker.
        AutoEnrollRequest.objects.create(program=emea)
    assert auto_enroll_requests_sweep_task() == 0  # minutes have not passed yet
    with tenant_scope(alpha.tenant):
        AutoEnrollRequest.objects.update(requested_at=timezone.now() - timedelta(minutes=10))
    assert auto_enroll_requests_sweep_task() == 1
    deadline = time.monotonic() + 60
    while enrolled(alpha, emea) == 0 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert enrolled(alpha, emea) == 1, celery_worker.log_text()[-4000:]
    with tenant_scope(alpha.tenant):
        assert not AutoEnrollRequest.objects.exists()
