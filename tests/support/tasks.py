"""A task in the payout shape: commit, call an outside service with no transaction open, commit
again, all under one tenant binding (DEVELOPERS.md, "Units of work")."""

from __future__ import annotations

import urllib.parse
import urllib.request

from django.db import connection, transaction

from tenancy.context import current_tenant_id
from tenancy.models import AuditEvent
from tenancy.tasking import tenant_task


@tenant_task(queue="notifications", ignore_result=False)
def unit_of_work_probe_task(*, url: str) -> dict:
    with transaction.atomic():
        AuditEvent.objects.create(entity="test.probe", entity_id=1, action="before_call")
    outside_call_in_transaction = connection.in_atomic_block
    query = urllib.parse.urlencode({"in_atomic_block": outside_call_in_transaction})
    with urllib.request.urlopen(f"{url}?{query}", timeout=10) as answer:  # noqa: S310
        reply = answer.read().decode()
    with transaction.atomic():
        AuditEvent.objects.create(entity="test.probe", entity_id=2, action="after_call", note=reply)
    return {
        "tenant_id": current_tenant_id(),
        "outside_call_in_transaction": outside_call_in_transaction,
        "reply": reply,
    }
