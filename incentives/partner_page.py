"""The partner page's programs section (registered with `partners.panels`): the partner's
enrollments and their history. Imported by `IncentivesConfig.ready()`."""

from __future__ import annotations

from incentives.models import Enrollment
from incentives.selectors import enrollment_list_for
from partners.models import Partner
from partners.panels import HISTORY_LIMIT, PartnerPanel, partner_panel
from tenancy.audit import history_of_many
from tenancy.models import Membership


@partner_panel("incentives.programs")
def partner_programs_panel(membership: Membership, partner: Partner) -> PartnerPanel:
    """The programs the partner is in, newest first, and their enrollments' history: two
    queries (one when there is none)."""
    enrollments = list(
        enrollment_list_for(membership)
        .filter(partner=partner)
        .order_by("-program__starts_on", "program__name", "pk")
    )
    programs = {e.pk: e.program.name for e in enrollments}
    history = []
    if programs:
        events = history_of_many(Enrollment, programs, HISTORY_LIMIT)
        history = [(programs[event.entity_id], event) for event in events]
    return PartnerPanel(
        template="incentives/_partner_programs.html",
        context={"enrollments": enrollments},
        history=history,
    )
