"""Fill an empty database with the demo data behind `make demo`.

Two vendor tenants. Northwind Networks (`northwind`) runs a realistic channel: a tier ladder
(Registered, Silver, Gold, Platinum); 300 partners spread over types, tiers, regions, territories,
countries, stages and engagement segments, each with a CRM id and, by region, one of the two
channel managers; a partner admin for every active partner and a few full partner teams; three
live programs of different kinds and enrollment modes, with Markdown terms (one at version 2) and
enrollments in every state. The smaller Contoso Security (`contoso`) shares one Northwind partner
rep (so the tenant switcher has something to show). One platform admin. Every account has the
password `uplift-demo` and a verified email address.

Tiers, the named partners, programs, terms, invitations, acceptances, declines and withdrawals go
through the services, so their history exists; the mass of partners and of partner admins is
bulk-created. The partner admin `admin@summitridge.example` is enrolled in two programs and can
still enroll in the open one, so the demo shows the enrollment flow.

Idempotent: when the `northwind` tenant exists, the command says so and changes nothing.
Tenant-owned rows are written inside `tenant_scope()` of their tenant, as row-level security
demands of the application role.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from allauth.account.models import EmailAddress
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from incentives.models import (
    Enrollment,
    EnrollmentMode,
    EnrollmentStatus,
    Program,
    ProgramKind,
)
from incentives.services.enrollments import (
    auto_enroll,
    enrollment_accept,
    enrollment_decline,
    enrollment_invite,
    enrollment_withdraw,
)
from incentives.services.programs import (
    program_create,
    program_transition,
    required_partners_set,
    terms_publish,
)
from partners.models import Partner, PartnerStatus, PartnerType, Tier
from partners.services import partner_create, tier_create
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

# The rest of Northwind's channel, named from these words (the named partners above come first).
CHANNEL_SIZE = 300
# fmt: off
COMPANY_WORDS = [
    "Apex", "Arcadia", "Bridgeway", "Canyon", "Cascade", "Cedar", "Cornerstone", "Delta",
    "Elevate", "Fairway", "Frontier", "Gateway", "Harbor", "Insight", "Juniper", "Kestrel",
    "Landmark", "Magnolia", "Nexus", "Orion", "Paragon", "Quantum", "Redstone", "Sequoia",
    "Skyline", "Summitview", "Trinity", "Upland", "Vertex", "Willow",
]
COMPANY_SUFFIXES = [
    "IT", "Networks", "Systems", "Technology", "Solutions", "Computing", "Data Systems",
    "Managed Services", "Cloud", "Integration", "Communications", "Security", "Consulting",
    "Tech Group", "Connect", "Infrastructure",
]
# fmt: on
# fmt: off
CHANNEL_TYPES = {
    "reseller": 30, "var": 25, "msp": 18, "referral": 10, "dealer": 7, "contractor": 6,
    "distributor": 4,
}
TIER_LADDER = {"Registered": 45, "Silver": 30, "Gold": 18, "Platinum": 7}  # name: share
STAGES = {"new": 25, "developing": 40, "established": 35}
SEGMENTS = {"achiever": 20, "believer": 30, "deceiver": 10, "unassessed": 40}
INACTIVE_SHARE = 0.07
UNASSIGNED_SHARE = 0.05
# region: (share, its channel manager, territory: countries with the main market first)
REGIONS = {
    "North America": (45, "cam@northwind.example", {
        "US West": ["US"], "US Central": ["US"], "US East": ["US"], "Canada": ["CA"],
    }),
    "LATAM": (10, "cam@northwind.example", {
        "Brazil": ["BR"], "Mexico": ["MX"], "Southern Cone": ["AR", "CL"],
    }),
    "EMEA": (30, "cam2@northwind.example", {
        "UK & Ireland": ["GB", "IE"], "DACH": ["DE", "AT", "CH"],
        "France & Benelux": ["FR", "BE", "NL"], "Nordics": ["SE", "NO", "DK"],
    }),
    "APAC": (15, "cam2@northwind.example", {
        "ANZ": ["AU", "NZ"], "Japan": ["JP"], "Southeast Asia": ["SG", "MY"],
    }),
}
# fmt: on
# The named partners' business, in NORTHWIND_PARTNERS order: integrators, MSPs, distributors.
NAMED_TYPES = [PartnerType.VAR] * 18 + [PartnerType.MSP] * 12 + [PartnerType.DISTRIBUTOR] * 5
NAMED_TYPES += [PartnerType.RESELLER] * 5
# Summit Ridge is where the partner logins land: a Gold VAR, eligible for all three programs.
SUMMIT_RIDGE = "Summit Ridge IT"
PINNED = {
    SUMMIT_RIDGE: {
        "tier": "Gold",
        "region": "North America",
        "territory": "US West",
        "country": "US",
        "stage": "established",
        "segment": "achiever",
    },
}

SPIFF_TERMS_V1 = """## {name}: terms

Northwind pays a **sales performance incentive** to the sales reps of enrolled partners for
every NW-FW firewall sold to an end customer between **{starts}** and **{ends}**.

- **$150** a unit for NW-FW 200 and 400, **$400** a unit for NW-FW 1200 and above.
- Claims are accepted up to **30 days** after the invoice date, with the invoice attached.
- Payouts are capped at **$5,000 per rep** for the quarter.
- Renewals, internal use and sales to another partner do not qualify.
"""
# Version 2 edits version 1, as a program manager would, and says what changed.
SPIFF_TERMS_V2 = (
    SPIFF_TERMS_V1.replace("$400", "$500").replace("$5,000", "$6,000")
    + """
### What changed in version 2
The payout for NW-FW 1200 and above rises to $500 a unit and the cap to $6,000 per rep. Accept
these terms again to keep claiming.
"""
)
REBATE_TERMS = """## {name}: terms

Gold and Platinum partners earn a **quarterly rebate** on net Northwind revenue between
**{starts}** and **{ends}**, paid as a credit note within 45 days of the quarter's end.

| Quarterly net revenue | Rebate |
|---|---|
| up to $250,000 | 2% |
| $250,000 to $1,000,000 | 3% |
| above $1,000,000 | 4% |

- Revenue is counted from the sell-through reports of authorised distributors.
- Claims are accepted up to **60 days** after the invoice date.
- Participation is by invitation and may end with 30 days' notice.
"""
POINTS_TERMS = """## {name}: terms

Every active partner earns **Northwind points** for certifications its people complete between
**{starts}** and **{ends}**; points are redeemed in the Northwind rewards catalog.

- **500 points** for an associate certification, **1,500** for a professional one.
- A certification counts once a person; renewals earn half.
- Submit the certificate within **90 days** of passing the exam.
- Enrollment is automatic; a partner admin may withdraw the company at any time.
"""

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


def pick(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def email_domain(company: str) -> str:
    """`Bluewater Technology Partners` -> `bluewater-technology-partners.example`."""
    return re.sub(r"[^a-z0-9]+", "-", company.lower()).strip("-") + ".example"


def quarter_of(day: date) -> tuple[int, date, date]:
    """The quarter `day` falls in: its number, first and last day."""
    quarter = (day.month - 1) // 3 + 1
    first = date(day.year, 3 * quarter - 2, 1)
    after = date(day.year + 1, 1, 1) if quarter == 4 else date(day.year, 3 * quarter + 1, 1)
    return quarter, first, after - timedelta(days=1)


class Seeder:
    """Writes the demo rows; remembers the people it made so that none is made twice."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.now = timezone.now()
        # One hash for every demo account: hashing the same password hundreds of times only
        # costs time.
        self.password_hash = make_password(DEMO_PASSWORD)
        names = [f"{f} {la}" for f in FIRST_NAMES for la in LAST_NAMES]
        self.rng.shuffle(names)
        self.names = iter(names)
        self.users: dict[str, User] = {}
        # CRM ids with gaps, as a CRM numbering all its accounts (not only partners) has them.
        self.crm_ids = iter(range(1001, 100_000, 7))

    def days_ago(self, low: int, high: int) -> datetime:
        days, minutes = self.rng.randint(low, high), self.rng.randint(0, 24 * 60 - 1)
        return self.now - timedelta(days=days, minutes=minutes)

    def new_user(self, email: str, full_name: str | None = None, **extra: object) -> User:
        """An unsaved account with the demo password (see `user` and `partner_admins`)."""
        return User(
            email=email,
            full_name=full_name or next(self.names),
            password=self.password_hash,
            date_joined=self.days_ago(30, 600),
            **extra,
        )

    def user(self, email: str, full_name: str | None = None, **extra: object) -> User:
        """The account for `email`, made (verified, with the demo password) on first use."""
        if email in self.users:
            return self.users[email]
        user = self.new_user(email, full_name, **extra)
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

    def tiers(self, admin: Membership) -> dict[str, Tier]:
        """The ladder, lowest first, through the service (which records each rung)."""
        return {name: tier_create(actor=admin, name=name) for name in TIER_LADDER}

    def attributes(self, tiers: dict[str, Tier], cams: dict[str, Membership]) -> dict:
        """Type, tier, place, stage, segment, status and channel manager of one partner, drawn
        from the channel's spread; the region decides the channel manager."""
        region = pick(self.rng, {name: share for name, (share, _, _) in REGIONS.items()})
        _, cam_email, territories = REGIONS[region]
        territory = self.rng.choice(list(territories))
        countries = territories[territory]
        return {
            "type": pick(self.rng, CHANNEL_TYPES),
            "tier": tiers[pick(self.rng, TIER_LADDER)],
            "region": region,
            "territory": territory,
            "country": self.rng.choices(countries, weights=[3] + [1] * (len(countries) - 1))[0],
            "stage": pick(self.rng, STAGES),
            "segment": pick(self.rng, SEGMENTS),
            "status": (
                PartnerStatus.INACTIVE
                if self.rng.random() < INACTIVE_SHARE
                else PartnerStatus.ACTIVE
            ),
            "channel_manager": None if self.rng.random() < UNASSIGNED_SHARE else cams[cam_email],
            "external_id": f"CRM-{next(self.crm_ids):06d}",
        }

    def partners(
        self, actor: Membership, names: list[str], attributes: dict[str, dict] | None = None
    ) -> dict[str, Partner]:
        """The partner companies, made through the service as the channel manager `actor`."""
        made = {}
        for name in names:
            partner = partner_create(actor=actor, name=name, **(attributes or {}).get(name, {}))
            partner.created_at = self.days_ago(10, 680)
            partner.save(update_fields=["created_at"])
            made[name] = partner
        return made

    def named_attributes(
        self, tiers: dict[str, Tier], cams: dict[str, Membership], teams: set[str]
    ) -> dict[str, dict]:
        """The named partners' attributes: their business by NAMED_TYPES, Summit Ridge pinned,
        and every partner with a team active (its people sign in)."""
        found = {}
        for name, partner_type in zip(NORTHWIND_PARTNERS, NAMED_TYPES, strict=True):
            values = {**self.attributes(tiers, cams), "type": partner_type}
            pinned = dict(PINNED.get(name, {}))
            if "tier" in pinned:
                pinned["tier"] = tiers[pinned["tier"]]
            values.update(pinned)
            if name in teams:
                values["status"] = PartnerStatus.ACTIVE
                values["channel_manager"] = cams[REGIONS[values["region"]][1]]
            found[name] = values
        return found

    def bulk_partners(
        self, count: int, tiers: dict[str, Tier], cams: dict[str, Membership]
    ) -> list[Partner]:
        """The mass of the channel in one statement: names no named partner has."""
        taken = set(NORTHWIND_PARTNERS)
        names = [f"{w} {s}" for w in COMPANY_WORDS for s in COMPANY_SUFFIXES]
        names = self.rng.sample([n for n in names if n not in taken], k=count)
        return Partner.objects.bulk_create(
            [
                Partner(
                    name=name, created_at=self.days_ago(10, 900), **self.attributes(tiers, cams)
                )
                for name in names
            ]
        )

    def partner_admins(self, partners: list[Partner]) -> dict[int, Membership]:
        """A verified partner admin for each of `partners`, bulk-created; by partner id."""
        users = User.objects.bulk_create(
            [self.new_user(f"admin@{email_domain(p.name)}") for p in partners]
        )
        EmailAddress.objects.bulk_create(
            [EmailAddress(user=u, email=u.email, verified=True, primary=True) for u in users]
        )
        members = Membership.objects.bulk_create(
            [
                Membership(user=u, role=Role.PARTNER_ADMIN, partner=p, created_at=u.date_joined)
                for u, p in zip(users, partners, strict=True)
            ]
        )
        self.users.update({u.email: u for u in users})
        return {m.partner_id: m for m in members}

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


def long_date(day: date) -> str:
    return f"{day:%B} {day.day}, {day.year}"


class ChannelPrograms:
    """Runs Northwind's three programs through the services, as its staff and partner admins
    would: publish terms and open, invite, accept, publish new terms, decline, withdraw. Each
    step leaves its history row."""

    def __init__(
        self,
        rng: random.Random,
        staff: dict[str, Membership],
        admins: dict[int, Membership],
        channel: list[Partner],
        tiers: dict[str, Tier],
    ) -> None:
        self.rng = rng
        self.staff = staff
        self.admins = admins
        self.tiers = tiers
        self.today = timezone.localdate()
        self.summit = next(p for p in channel if p.name == SUMMIT_RIDGE)
        # Only active partners can enroll; each of them has a partner admin to act for it.
        self.active = [p for p in channel if p.status == PartnerStatus.ACTIVE]

    def run(self) -> list[Program]:
        return [self.spiff(), self.rebate(), self.points()]

    def launch(self, actor: Membership, terms: str, **fields) -> Program:
        program = program_create(actor=actor, **fields)
        terms_publish(actor=actor, program=program, body=self.terms(terms, program))
        return program_transition(actor=actor, program=program, action="activate")

    @staticmethod
    def terms(body: str, program: Program) -> str:
        return body.format(
            name=program.name,
            starts=long_date(program.starts_on),
            ends=long_date(program.ends_on),
        )

    def accept(self, program: Program, partners: list[Partner], version: int) -> None:
        for partner in partners:
            address = f"203.0.113.{self.rng.randint(2, 254)}"  # documentation range
            enrollment_accept(
                actor=self.admins[partner.pk], program=program, terms_version=version, ip=address
            )

    def withdraw(self, program: Program, partners: list[Partner]) -> None:
        for partner in partners:
            enrollment_withdraw(actor=self.admins[partner.pk], program=program)

    def spiff(self) -> Program:
        """Open to VARs and resellers this quarter. Partners enroll on version 1; version 2
        raises a payout, so some accept again and the rest still have to. Summit Ridge is
        eligible and left out: its admin can enroll during the demo."""
        cam = self.staff["cam@northwind.example"]
        quarter, first, last = quarter_of(self.today)
        program = self.launch(
            cam,
            SPIFF_TERMS_V1,
            name=f"Q{quarter} Firewall SPIFF",
            description="Quarter-end push on the NW-FW firewall line.",
            kind=ProgramKind.SPIFF,
            enrollment_mode=EnrollmentMode.OPEN,
            eligibility={"types": [PartnerType.VAR, PartnerType.RESELLER]},
            starts_on=first,
            ends_on=last,
            budget="50000.00",
            claim_window_days=30,
        )
        eligible = [
            p
            for p in self.active
            if p.type in (PartnerType.VAR, PartnerType.RESELLER) and p != self.summit
        ]
        self.rng.shuffle(eligible)
        accepted, invited = eligible[:48], eligible[48:63]
        self.accept(program, accepted, version=1)
        terms_publish(actor=cam, program=program, body=self.terms(SPIFF_TERMS_V2, program))
        self.accept(program, accepted[:30], version=2)
        self.withdraw(program, accepted[26:34])
        enrollment_invite(actor=cam, program=program, partner_ids=[p.pk for p in invited])
        return program

    def rebate(self) -> Program:
        """By invitation for Gold and Platinum partners, all of whom are invited: some accept
        (Summit Ridge among them), some decline, a few withdraw later, the rest have not
        answered. Summit Ridge and four Platinum partners are required."""
        admin = self.staff["admin@northwind.example"]
        top = [self.tiers["Gold"].pk, self.tiers["Platinum"].pk]
        program = self.launch(
            admin,
            REBATE_TERMS,
            name="Gold Partner Rebate",
            description="Quarterly rebate on net revenue for the top of the ladder.",
            kind=ProgramKind.REBATE,
            enrollment_mode=EnrollmentMode.INVITATION,
            eligibility={"tiers": top},
            starts_on=date(self.today.year, 1, 1),
            ends_on=date(self.today.year, 12, 31),
            budget="250000.00",
            claim_window_days=60,
        )
        enrollment_invite(actor=admin, program=program)
        invited = [p for p in self.active if p.tier_id in top and p != self.summit]
        self.rng.shuffle(invited)
        accepting = [self.summit, *invited[: len(invited) * 45 // 100]]
        self.accept(program, accepting, version=1)
        for partner in invited[len(invited) * 45 // 100 : len(invited) * 60 // 100]:
            enrollment_decline(actor=self.admins[partner.pk], program=program)
        self.withdraw(program, accepting[1:4])
        platinum = [p for p in invited if p.tier_id == self.tiers["Platinum"].pk]
        required = [self.summit, *self.rng.sample(platinum, k=min(4, len(platinum)))]
        required_partners_set(actor=admin, program=program, partner_ids=[p.pk for p in required])
        return program

    def points(self) -> Program:
        """Automatic for every active partner: all are enrolled at once, a few withdraw."""
        cam = self.staff["cam2@northwind.example"]
        program = self.launch(
            cam,
            POINTS_TERMS,
            name="Certification Points",
            description="Points for every certification a partner's people earn.",
            kind=ProgramKind.POINTS,
            enrollment_mode=EnrollmentMode.AUTOMATIC,
            eligibility={},
            starts_on=self.today - timedelta(days=120),
            ends_on=self.today + timedelta(days=245),
            budget="20000.00",
            claim_window_days=90,
        )
        auto_enroll(program_id=program.pk)
        others = [p for p in self.active if p != self.summit]
        self.withdraw(program, self.rng.sample(others, k=12))
        return program


def describe_program(program: Program) -> str:
    """`Gold Partner Rebate (Rebate, invitation, terms v1): 30 enrolled, 25 invited, …`."""
    counts = Counter(Enrollment.objects.filter(program=program).values_list("status", flat=True))
    states = ", ".join(
        f"{counts[status]} {label.lower()}"
        for status, label in EnrollmentStatus.choices
        if counts[status]
    )
    version = program.terms_versions.order_by("-version").values_list("version", flat=True)[0]
    return (
        f"{program.name} ({program.get_kind_display()}, {program.enrollment_mode},"
        f" terms v{version}): {states}"
    )


def describe_partner_admin(email: str, partner: Partner, programs: list[Program]) -> str:
    statuses = dict(
        Enrollment.objects.filter(partner=partner, program__in=programs).values_list(
            "program_id", "status"
        )
    )
    enrolled = [p.name for p in programs if statuses.get(p.pk) == EnrollmentStatus.ENROLLED]
    open_to = [
        p.name
        for p in programs
        if p.pk not in statuses and p.enrollment_mode == EnrollmentMode.OPEN
    ]
    return (
        f"{email} ({partner.name}): enrolled in {', '.join(enrolled) or 'nothing'};"
        f" can enroll in {', '.join(open_to) or 'nothing'}"
    )


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
            summit_admin = describe_partner_admin(
                "admin@summitridge.example", named[SUMMIT_RIDGE], programs
            )
        return [
            f"Tenant {tenant.name} (/t/{tenant.slug}/): {len(staff)} staff, "
            f"{len(channel)} partners on {len(tiers)} tiers, {len(people) + len(more)} partner "
            f"people, 1 pending invitation ({invitation.email})",
            *(f"Program {line}" for line in program_lines),
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
