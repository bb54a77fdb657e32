"""Binding is not a transaction: one binding, any number of transactions, each carrying the
tenant to the database; nothing outlives the binding (DESIGN.md §2)."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from celery.exceptions import TimeoutError as CeleryTimeout
from django.db import connection, connections, transaction

from partners.models import Partner
from tenancy.context import TenantContextMissing, tenant_scope
from tenancy.models import AuditEvent
from tests.conftest import build_world


def _setting(name: str = "app.tenant_id") -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting(%s, true)", [name])
        return cursor.fetchone()[0] or ""


def _raw_partner_tenants() -> set[int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT DISTINCT tenant_id FROM partners_partner")
        return {row[0] for row in cursor.fetchall()}


def test_binding_reaches_each_statement_and_ends_with_the_binding(worlds):
    alpha, _ = worlds
    assert _setting() == ""
    with tenant_scope(alpha.tenant):
        assert _setting() == str(alpha.tenant.pk)
        assert _raw_partner_tenants() == {alpha.tenant.pk}
    # Still inside the test's transaction, where a transaction-local setting would survive.
    assert _setting() == ""
    assert _raw_partner_tenants() == set()


def test_one_binding_spans_several_transactions_and_autocommit(transactional_db):
    alpha, bravo = build_world("alpha"), build_world("bravo")
    with tenant_scope(alpha.tenant):
        assert not connection.in_atomic_block
        with transaction.atomic():
            Partner.objects.create(name="First Commit Reseller")
        # Autocommit: each statement is its own transaction and still carries the tenant.
        assert _raw_partner_tenants() == {alpha.tenant.pk}
        assert Partner.objects.filter(name="First Commit Reseller").count() == 1
        with transaction.atomic():
            Partner.objects.create(name="Second Commit Reseller")
        assert Partner.objects.count() == 4
    assert _raw_partner_tenants() == set()
    with tenant_scope(bravo.tenant):
        assert not Partner.objects.filter(name__endswith="Commit Reseller").exists()


def test_a_server_side_cursor_under_a_binding_needs_a_transaction(transactional_db):
    alpha = build_world("alpha")
    with tenant_scope(alpha.tenant):
        with pytest.raises(TenantContextMissing, match="needs a transaction"):
            list(Partner.objects.iterator(chunk_size=1))
        with transaction.atomic():
            names = {p.name for p in Partner.objects.iterator(chunk_size=1)}
    assert names == {alpha.partner.name, alpha.other_partner.name}


class _OutsideService(BaseHTTPRequestHandler):
    """Stands for a payout provider. While it answers, it looks at the database from a
    connection of its own: what the task committed before calling is there, the rest is not."""

    seen: list[dict] = []
    tenant_id: int = 0

    def do_GET(self):
        with tenant_scope(self.tenant_id):
            actions = sorted(
                AuditEvent.objects.filter(entity="test.probe").values_list("action", flat=True)
            )
        connections.close_all()
        self.seen.append({"path": self.path, "committed_before_the_call": actions})
        body = b"paid"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.mark.worker
def test_task_commits_calls_outside_with_no_transaction_open_and_commits_again(
    transactional_db, celery_worker
):
    from tests.support.tasks import unit_of_work_probe_task

    alpha, bravo = build_world("alpha"), build_world("bravo")
    _OutsideService.seen = []
    _OutsideService.tenant_id = alpha.tenant.pk
    server = ThreadingHTTPServer(("127.0.0.1", 0), _OutsideService)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        result = unit_of_work_probe_task.apply_async(
            kwargs={
                "tenant_id": alpha.tenant.pk,
                "url": f"http://127.0.0.1:{server.server_port}/pay",
            }
        )
        try:
            report = result.get(timeout=60)
        except CeleryTimeout:
            pytest.fail(celery_worker.log_text())
    finally:
        server.shutdown()
        server.server_close()
    assert report == {
        "tenant_id": alpha.tenant.pk,
        "outside_call_in_transaction": False,
        "reply": "paid",
    }
    assert _OutsideService.seen == [
        {"path": "/pay?in_atomic_block=False", "committed_before_the_call": ["before_call"]}
    ]
    with tenant_scope(alpha.tenant):
        rows = list(
            AuditEvent.objects.filter(entity="test.probe")
            .order_by("entity_id")
            .values_list("action", "note")
        )
    assert rows == [("before_call", ""), ("after_call", "paid")]
    with tenant_scope(bravo.tenant):
        assert not AuditEvent.objects.filter(entity="test.probe").exists()
