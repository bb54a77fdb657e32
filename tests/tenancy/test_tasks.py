"""Tenant tasks on a real Celery worker, Redis broker and the test database."""

from __future__ import annotations

import pytest
from celery.exceptions import TimeoutError as CeleryTimeout
from django.db import transaction

from config.celery import app
from tenancy.context import TenantContextMissing, tenant_scope
from tenancy.models import Invitation
from tenancy.roles import Role
from tenancy.services import invitation_create
from tenancy.tasks import invitation_send_task, tenant_healthcheck_task
from tests.conftest import build_world

pytestmark = pytest.mark.worker


def drain_queue(world) -> None:
    """Wait until the worker has handled everything queued before now: one process, prefetch
    one, FIFO, so a healthcheck's answer comes after every earlier notification task."""
    tenant_healthcheck_task.apply_async(kwargs={"tenant_id": world.tenant.pk}).get(timeout=60)


def test_round_trip_binds_the_tenant_for_both_walls(transactional_db, celery_worker):
    alpha, bravo = build_world("alpha"), build_world("bravo")
    result = tenant_healthcheck_task.apply_async(kwargs={"tenant_id": bravo.tenant.pk})
    try:
        report = result.get(timeout=60)
    except CeleryTimeout:
        pytest.fail(celery_worker.log_text())
    assert report == {
        "tenant_id": bravo.tenant.pk,
        "members": len(Role.values),
        "tenants_visible_to_sql": [bravo.tenant.pk],
    }
    assert alpha.tenant.pk not in report["tenants_visible_to_sql"]


def test_task_without_a_tenant_is_refused_by_the_worker(transactional_db, celery_worker):
    result = app.send_task(tenant_healthcheck_task.name, kwargs={}, queue="notifications")
    with pytest.raises(TenantContextMissing, match="needs a tenant_id"):
        result.get(timeout=60)
    assert result.state == "FAILURE"


def test_tenant_task_refuses_to_run_without_a_tenant_when_called_directly():
    with pytest.raises(TenantContextMissing):
        tenant_healthcheck_task()


def test_invitation_is_mailed_once_after_commit(transactional_db, celery_worker):
    alpha = build_world("alpha")
    admin = alpha.member(Role.VENDOR_ADMIN)
    with tenant_scope(alpha.tenant):
        invitation = invitation_create(
            actor=admin, email="new.cam@alpha.example", role="channel_manager"
        )
    mails = celery_worker.wait_for_mails(1)
    assert "new.cam@alpha.example" in mails[0]
    assert "/invitations/" in mails[0]
    # Redelivery of the same task changes nothing: the invitation is already sent.
    invitation_send_task.apply_async(
        kwargs={"tenant_id": alpha.tenant.pk, "invitation_id": invitation.pk}
    )
    drain_queue(alpha)
    with tenant_scope(alpha.tenant):
        assert Invitation.objects.get(pk=invitation.pk).sent_at is not None
    assert len(celery_worker.mails()) == 1


def test_rolled_back_invitation_enqueues_nothing(transactional_db, celery_worker):
    alpha = build_world("alpha")
    admin = alpha.member(Role.VENDOR_ADMIN)

    def failing_request():
        with transaction.atomic(), tenant_scope(alpha.tenant):
            invitation_create(actor=admin, email="ghost@alpha.example", role="channel_manager")
            raise RuntimeError("the request failed after the invitation was written")

    with pytest.raises(RuntimeError):
        failing_request()
    with tenant_scope(alpha.tenant):
        assert not Invitation.objects.filter(email="ghost@alpha.example").exists()
    drain_queue(alpha)
    assert not any("ghost@alpha.example" in mail for mail in celery_worker.mails())


@pytest.mark.django_db(transaction=True, databases=["default", "unscoped"])
def test_sweeper_sends_invitations_whose_message_was_lost(celery_worker):
    from datetime import timedelta

    from django.utils import timezone

    from tenancy.tasks import invitations_sweep_task

    alpha = build_world("alpha")
    # The factory's invitation was written without its send task, as if the message were lost.
    with tenant_scope(alpha.tenant):
        Invitation.objects.filter(pk=alpha.invitation.pk).update(
            created_at=timezone.now() - timedelta(minutes=10)
        )
    assert invitations_sweep_task() == 1
    mails = celery_worker.wait_for_mails(1)
    assert alpha.invitation.email in mails[0]
    drain_queue(alpha)
    assert invitations_sweep_task() == 0


def test_beat_schedule_is_declared_in_code():
    app.loader.import_default_modules()
    schedule = app.conf.beat_schedule
    assert schedule["invitations-sweep"]["task"] == "tenancy.tasks.invitations_sweep_task"
