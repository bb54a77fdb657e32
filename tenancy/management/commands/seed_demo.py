"""Fill an empty database with the demo data behind `make demo`.

Two vendor tenants: Northwind Networks (`northwind`), with its staff, about forty channel partners
and a few partner people, and the smaller Contoso Security (`contoso`), where one Northwind
partner rep also works (so the tenant switcher has something to show). One platform admin. Every
account has the password `uplift-demo` and a verified email address.

Idempotent: when the `northwind` tenant exists, the command says so and changes nothing.
Tenant-owned rows are written inside `tenant_scope()` of their tenant, as row-level security
demands of the application role.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from allauth.account.models import EmailAddress
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from partners.models import Partner
from partners.services import partner_create
from tenancy.context import tenant_scope
from tenancy.models import Invitation, Membership, Tenant, User, hash_secret
from tenancy.roles import Role
from tenancy.services import INVITATION_LIFETIME

DEMO_PASSWORD = "uplift-demo"  # noqa: S105  (published in the demo banner on purpose)
DEMO_SLUG = "northwind"
PLATFORM_ADMIN = ("admin@uplift.example", "Priya Raman")

NORTHWIND_STAFF = [
    ("admin@northwind.example", "Dana Whitfield", Role.VENDOR_ADMIN),
    ("cam@northwind.example", "Marcus Bell", Role.CHANNEL_MANAGER),
    ("cam2@northwind.example", "Elena Ortiz", Role.CHANNEL_MANAGER),
    ("finance@northwind.example", "Grace Liu", Role.CLAIMS_REVIEWER),
]

CONTOSO_STAFF = [
    ("admin@contoso.example", "Nadia Petrova", Role.VENDOR_ADMIN),
    ("cam@contoso.example", "Tom Becker", Role.CHANNEL_MANAGER),
]

# Northwind's channel: value-added resellers, managed service providers and distributors.
NORTHWIND_PARTNERS = [
    "Summit Ridge IT",
    "Bluewater Technology Partners",
    "Keystone Network Solutions",
    "Redwood Systems Integration",
    "Harborview Computing",
    "Ironclad Infrastructure",
    "Meridian Tech Group",
    "Granite State Networks",
    "Silverline Communications",
    "Copperfield Data",
    "Lakeshore Business Systems",
    "Northstar Technology Solutions",
    "Prairie Digital",
    "Oakmont IT Services",
    "Tidewater Networks",
    "Cobalt Ridge Consulting",
    "Evergreen Integration Group",
    "Highland Data Solutions",
    "Beacon Managed Services",
    "Clearpath MSP",
    "Anchor Point Managed IT",
    "Brightline Cloud Services",
    "Sentinel Managed Networks",
    "Lighthouse IT Partners",
    "Crestview Managed Services",
    "TrueNorth Cloud",
    "Vantage Point IT",
    "Bayside Tech Support",
    "Alpine Managed Networks",
    "Riverbend MSP",
    "Atlas Distribution",
    "Continental Channel Supply",
    "Pacific Rim Distribution",
    "Midwest Network Distributors",
    "Eastgate Technology Distribution",
    "Falcon Secure Networks",
    "Horizon Unified Communications",
    "Pioneer Wireless Solutions",
    "Stonebridge Systems",
    "Westfield Connect",
]

CONTOSO_PARTNERS = [
    "Summit Ridge IT",
    "Falcon Secure Networks",
    "Sentinel Managed Networks",
    "Harborview Computing",
    "Shieldwall Security Partners",
    "Redline Cyber Defense",
]


@dataclass(frozen=True)
class PartnerTeam:
    """The people of one partner company: its admin and its reps, by email domain."""

    partner: str
    domain: str
    reps: int

    def emails(self) -> list[tuple[str, Role]]:
        people = [
            (f"admin@{self.domain}", Role.PARTNER_ADMIN),
            (f"rep@{self.domain}", Role.PARTNER_REP),
        ]
        people += [(f"rep{n}@{self.domain}", Role.PARTNER_REP) for n in range(2, self.reps + 1)]
        return people


NORTHWIND_TEAMS = [
    PartnerTeam("Summit Ridge IT", "summitridge.example", reps=2),
    PartnerTeam("Keystone Network Solutions", "keystone.example", reps=1),
    PartnerTeam("Meridian Tech Group", "meridian.example", reps=2),
    PartnerTeam("Beacon Managed Services", "beacon.example", reps=1),
    PartnerTeam("Alpine Managed Networks", "alpine.example", reps=1),
    PartnerTeam("Atlas Distribution", "atlas.example", reps=2),
]

# The Summit Ridge rep who also sells for Contoso: one person, two tenants.
SHARED_REP = ("rep@summitridge.example", "Summit Ridge IT")

PENDING_INVITATION = ("jordan.lee@tidewater.example", Role.PARTNER_ADMIN, "Tidewater Networks")

# fmt: off
FIRST_NAMES = [
    "Aisha", "Ben", "Carla", "Dev", "Erin", "Felix", "Hana", "Isaac", "Jade", "Kofi", "Lena",
    "Mateo", "Noor", "Owen", "Rosa", "Sam", "Tariq", "Uma", "Victor", "Wendy", "Yusuf", "Zoe",
]
LAST_NAMES = [
    "Adeyemi", "Brennan", "Castillo", "Dubois", "Eriksen", "Fischer", "Gupta", "Hayes", "Ito",
    "Jensen", "Kowalski", "Larsen", "Moreau", "Nakamura", "O'Neill", "Patel", "Quinn", "Rossi",
    "Schmidt", "Tanaka", "Varga", "Walsh",
]
# fmt: on


class Seeder:
    """Writes the demo rows; remembers the people it made so that none is made twice."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.now = timezone.now()
        # One hash for every demo account: hashing the same password forty times only costs time.
        self.password_hash = make_password(DEMO_PASSWORD)
        self.names = iter(
            self.rng.sample([f"{f} {la}" for f in FIRST_NAMES for la in LAST_NAMES], k=200)
        )
        self.users: dict[str, User] = {}

    def days_ago(self, low: int, high: int) -> datetime:
        days, minutes = self.rng.randint(low, high), self.rng.randint(0, 24 * 60 - 1)
        return self.now - timedelta(days=days, minutes=minutes)

    def user(self, email: str, full_name: str | None = None, **extra: object) -> User:
        """The account for `email`, made (verified, with the demo password) on first use."""
        if email in self.users:
            return self.users[email]
        user = User(
            email=email,
            full_name=full_name or next(self.names),
            password=self.password_hash,
            date_joined=self.days_ago(30, 600),
            **extra,
        )
        user.save()
        EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
        self.users[email] = user
        return user

    def tenant(self, name: str, slug: str, time_zone: str) -> Tenant:
        return Tenant.objects.create(
            name=name,
            slug=slug,
            default_currency="USD",
            time_zone=time_zone,
            created_at=self.days_ago(700, 800),
        )

    def member(
        self, email: str, role: Role, partner: Partner | None = None, name: str | None = None
    ) -> Membership:
        """A membership in the bound tenant; call inside `tenant_scope()`."""
        user = self.user(email, name)
        return Membership.objects.create(
            user=user, role=role, partner=partner, created_at=user.date_joined
        )

    def staff(self, people: list[tuple[str, str, Role]]) -> dict[str, Membership]:
        return {email: self.member(email, role, name=name) for email, name, role in people}

    def partners(self, actor: Membership, names: list[str]) -> dict[str, Partner]:
        """The partner companies, made through the service as the channel manager `actor`."""
        made = {}
        for name in names:
            partner = partner_create(actor=actor, name=name)
            partner.created_at = self.days_ago(10, 680)
            partner.save(update_fields=["created_at"])
            made[name] = partner
        return made

    def team(self, team: PartnerTeam, partner: Partner) -> list[Membership]:
        return [self.member(email, role, partner=partner) for email, role in team.emails()]

    def invitation(self, inviter: Membership, partner: Partner | None) -> Invitation:
        email, role, _ = PENDING_INVITATION
        return Invitation.objects.create(
            email=email,
            role=role,
            partner=partner,
            invited_by=inviter.user,
            token_hash=hash_secret(Invitation.new_token()),
            created_at=self.now - timedelta(days=2),
            expires_at=self.now - timedelta(days=2) + INVITATION_LIFETIME,
            sent_at=self.now - timedelta(days=2),
        )


class Command(BaseCommand):
    help = "Create the demo tenants, people and partners (does nothing when they exist)."

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
            partners = seeder.partners(staff["cam@northwind.example"], NORTHWIND_PARTNERS)
            people = [m for t in NORTHWIND_TEAMS for m in seeder.team(t, partners[t.partner])]
            _, _, invited_to = PENDING_INVITATION
            invitation = seeder.invitation(staff["cam@northwind.example"], partners[invited_to])
        return [
            f"Tenant {tenant.name} (/t/{tenant.slug}/): {len(staff)} staff, "
            f"{len(partners)} partners, {len(people)} partner people, "
            f"1 pending invitation ({invitation.email})",
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
