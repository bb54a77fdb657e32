"""Sections of the partner page contributed by higher apps.

Partners sits below incentives (DESIGN.md §8) and so cannot ask it for a partner's programs;
instead an app registers a panel from its `AppConfig.ready()` and the partner page shows every
registered panel, in the order of registration, with the history each one adds to the page's
timeline."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from partners.models import Partner
from tenancy.models import AuditEvent, Membership

HISTORY_LIMIT = 100


@dataclass(frozen=True)
class PartnerPanel:
    """A section: `template`, rendered with `panel` (this object) in its context, `context`
    for it, and `history` as (subject, event) pairs to merge into the partner's timeline."""

    template: str
    context: dict = field(default_factory=dict)
    history: list[tuple[str, AuditEvent]] = field(default_factory=list)


PanelProvider = Callable[[Membership, Partner], PartnerPanel]

_providers: dict[str, PanelProvider] = {}


def partner_panel(name: str) -> Callable[[PanelProvider], PanelProvider]:
    """Register `provider(membership, partner) -> PartnerPanel` as section `name` of the partner
    page. It reads through the registering app's selectors, as `membership`, in a fixed number
    of queries whatever the partner's size."""

    def register(provider: PanelProvider) -> PanelProvider:
        _providers[name] = provider
        return provider

    return register


def panels_for(membership: Membership, partner: Partner) -> list[PartnerPanel]:
    return [provider(membership, partner) for provider in _providers.values()]
