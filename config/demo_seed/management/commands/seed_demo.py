"""`manage.py seed_demo`: the demo data behind `make demo` (see `config.demo_seed`)."""

from __future__ import annotations

import random

from django.core.management.base import BaseCommand
from django.db import transaction

from config.demo_seed.channel import Seeder
from config.demo_seed.claims import ChannelClaims, describe_claims
from config.demo_seed.data import (
    CHANNEL_SIZE,
    CONTOSO_PARTNERS,
    CONTOSO_STAFF,
    DEMO_PASSWORD,
    DEMO_SLUG,
    NORTHWIND_PARTNERS,
    NORTHWIND_STAFF,
    NORTHWIND_TEAMS,
    PENDING_INVITATION,
    PLATFORM_ADMIN,
    SHARED_REP,
    SUMMIT_RIDGE,
)
from config.demo_seed.programs import ChannelPrograms, describe_partner_admin, describe_program
from partners.models import PartnerStatus
from tenancy.context import tenant_scope
from tenancy.models import Tenant
from tenancy.roles import Role


class Command(BaseCommand):
    help = "Create the demo tenants, people, partners and programs (does nothing when they exist)."

    def handle(self, *args, **options) -> None:
        if Tenant.objects.filter(slug=DEMO_SLUG).exists():
            self.stdout.write(f"Demo data present (tenant '{DEMO_SLUG}' exists); nothing to do.")
            return
        seeder = Seeder(random.Random(42))
        with transaction.atomic():
            summary = [*self.seed_northwind(seeder), *self.seed_contoso(seeder)]
            email, name = PLATFORM_ADMIN
            seeder.user(email, name, is_staff=True, is_superuser=True)
        summary.append(f"Platform admin: {email}")
        summary.append(f"People: {len(seeder.users)}, all with the password '{DEMO_PASSWORD}'")
        self.stdout.write(self.style.SUCCESS("Demo data created:"))
        for line in summary:
            self.stdout.write(f"  {line}")

    def seed_northwind(self, seeder: Seeder) -> list[str]:
        tenant = seeder.tenant("Northwind Networks", DEMO_SLUG, "America/Los_Angeles")
        with tenant_scope(tenant):
            staff = seeder.staff(NORTHWIND_STAFF)
            tiers = seeder.tiers(staff["admin@northwind.example"])
            cams = {e: m for e, m in staff.items() if m.role == Role.CHANNEL_MANAGER}
            attributes = seeder.named_attributes(tiers, cams, {t.partner for t in NORTHWIND_TEAMS})
            named = seeder.partners(staff["cam@northwind.example"], NORTHWIND_PARTNERS, attributes)
            people = [m for t in NORTHWIND_TEAMS for m in seeder.team(t, named[t.partner])]
            channel = [
                *named.values(),
                *seeder.bulk_partners(CHANNEL_SIZE - len(named), tiers, cams),
            ]
            admins = {m.partner_id: m for m in people if m.role == Role.PARTNER_ADMIN}
            more = [p for p in channel if p.status == PartnerStatus.ACTIVE and p.pk not in admins]
            admins |= seeder.partner_admins(more)
            _, _, invited_to = PENDING_INVITATION
            invitation = seeder.invitation(staff["cam@northwind.example"], named[invited_to])
            programs = ChannelPrograms(seeder.rng, staff, admins, channel, tiers).run()
            program_lines = [describe_program(p) for p in programs]
            claims = ChannelClaims(seeder.rng, staff, admins, programs[0]).run()
            summit_admin = describe_partner_admin(
                "admin@summitridge.example", named[SUMMIT_RIDGE], programs
            )
        return [
            f"Tenant {tenant.name} (/t/{tenant.slug}/): {len(staff)} staff, "
            f"{len(channel)} partners on {len(tiers)} tiers, {len(people) + len(more)} partner "
            f"people, 1 pending invitation ({invitation.email})",
            *(f"Program {line}" for line in program_lines),
            describe_claims(claims),
            f"Partner admin {summit_admin}",
        ]

    def seed_contoso(self, seeder: Seeder) -> list[str]:
        tenant = seeder.tenant("Contoso Security", "contoso", "Europe/Berlin")
        with tenant_scope(tenant):
            staff = seeder.staff(CONTOSO_STAFF)
            partners = seeder.partners(staff["cam@contoso.example"], CONTOSO_PARTNERS)
            email, partner_name = SHARED_REP
            seeder.member(email, Role.PARTNER_REP, partner=partners[partner_name])
        return [
            f"Tenant {tenant.name} (/t/{tenant.slug}/): {len(staff)} staff, "
            f"{len(partners)} partners, {email} also a rep here",
        ]
