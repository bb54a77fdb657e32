"""Pages that compose several apps: they sit on top of the floors (DESIGN.md §8)."""

from __future__ import annotations

from dataclasses import dataclass

from django.shortcuts import redirect
from django.urls import reverse
from django.views.generic import TemplateView

from incentives.models import Program
from partners.models import Tier
from partners.selectors import partner_list_for
from tenancy import selectors
from tenancy.api.pagination import list_count
from tenancy.permissions import can, is_partner_person
from tenancy.tally import tally
from tenancy.web import TenantPageMixin


@dataclass(frozen=True)
class Step:
    """One getting-started step of a new workspace: what to do, where, and whether it is done."""

    key: str
    title: str
    links: list[tuple[str, str]]  # (label, url)
    done: bool


class DashboardView(TenantPageMixin, TemplateView):
    """The vendor's home: people, partners and invitations at a glance, and the getting-started
    steps until a workspace has them all. Partner people land in the portal instead."""

    capability = "tenant.view"
    template_name = "dashboard/home.html"

    def get(self, request, *args, **kwargs):
        if is_partner_person(self.membership):
            return redirect("portal_home", request.tenant.slug)
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        # Staff only (partner people were sent to the portal), so the statement depends on
        # nothing but the tenant.
        context.update(tally("dashboard-home", self._numbers))
        # Exact up to 1,000 partners, then counted once and cached (`list_count`).
        context["partner_count"] = list_count(partner_list_for(self.membership))
        context["getting_started"] = self._getting_started(context)
        return context

    def _numbers(self) -> dict:
        """The page's counts and the getting-started checks, read in one statement."""
        return {
            **selectors.member_count_parts(),
            "pending_invitations": ("count", selectors.invitation_list_for(self.membership)),
            "has_tiers": ("exists", Tier.objects.all()),
            "has_programs": ("exists", Program.objects.all()),
        }

    def _getting_started(self, counts: dict) -> list[Step]:
        """The steps, for the people who set a workspace up, while one is left."""
        if not can(self.membership, "programs.edit"):
            return []
        slug = self.request.tenant.slug

        def url(name: str) -> str:
            return reverse(name, args=[slug])

        people = counts["staff_count"] + counts["partner_people_count"] > 1
        steps = [
            Step(
                "tiers",
                "Set up your partner tiers",
                [("Tiers", url("tiers"))],
                counts["has_tiers"],
            ),
            Step(
                "partners",
                "Add your partners",
                [("Add a partner", url("partner_create")), ("Import a CSV", url("partner_import"))],
                counts["partner_count"] > 0,
            ),
            Step(
                "program",
                "Create a program",
                [("New program", url("program_create"))],
                counts["has_programs"],
            ),
            Step(
                "people",
                "Invite your team and your partners' people",
                [("People", url("members"))],
                people or counts["pending_invitations"] > 0,
            ),
        ]
        return [] if all(step.done for step in steps) else steps
