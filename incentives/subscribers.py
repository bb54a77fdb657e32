"""What incentives does when other apps' records change (events from `tenancy.events`).
Imported by `IncentivesConfig.ready()`."""

from __future__ import annotations

from incentives.services.resyncs import auto_enroll_requests_for_partners
from tenancy.events import subscriber
from tenancy.models import DomainEvent


@subscriber("partner.created", "partner.changed", name="incentives.auto_enroll")
def partner_changes_resync_automatic_programs(events: list[DomainEvent]) -> None:
    """A partner that became eligible for an automatic program joins it: one coalesced re-sync
    request a program that the batch's partners can join, whatever the number of changes."""
    auto_enroll_requests_for_partners(partner_ids=sorted({e.aggregate_id for e in events}))
