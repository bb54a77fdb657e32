"""What incentives does when other apps' records change (events from `tenancy.events`).
Imported by `IncentivesConfig.ready()`."""

from __future__ import annotations

from incentives.services.figures import figures_refresh_request, program_figures_refresh
from incentives.services.resyncs import auto_enroll_requests_for_partners
from tenancy.events import subscriber
from tenancy.models import DomainEvent


@subscriber("partner.created", "partner.changed", name="incentives.auto_enroll")
def partner_changes_resync_automatic_programs(events: list[DomainEvent]) -> None:
    """A partner that became eligible for an automatic program joins it: one coalesced re-sync
    request a program that the batch's partners can join, whatever the number of changes."""
    auto_enroll_requests_for_partners(partner_ids=sorted({e.aggregate_id for e in events}))


@subscriber(
    "partner.created",
    "partner.changed",
    "program.changed",
    "program.enrollments_changed",
    name="incentives.program_figures",
)
def program_changes_refresh_figures(events: list[DomainEvent]) -> None:
    """The figures rows of the programs a batch of events names, in one set-based pass now;
    a partner change asks for a pass over every program, coalesced per tenant
    (`figures_refresh_request`), so an import's batches of partner events come to one pass."""
    if any(e.kind.startswith("partner.") for e in events):
        figures_refresh_request()
    named = {e.aggregate_id for e in events if e.kind.startswith("program.")}
    if named:
        program_figures_refresh(program_ids=named)
