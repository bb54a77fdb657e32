"""Building the demo tenants, people, tier ladders and partners."""

from __future__ import annotations

import random
import re
from datetime import date, datetime, timedelta

from allauth.account.models import EmailAddress
from django.contrib.auth.hashers import make_password
from django.utils import timezone

from config.demo_seed.data import (
    CHANNEL_TYPES,
    COMPANY_SUFFIXES,
    COMPANY_WORDS,
    DEMO_PASSWORD,
    FIRST_NAMES,
    INACTIVE_SHARE,
    LAST_NAMES,
    NAMED_TYPES,
    NORTHWIND_PARTNERS,
    PENDING_INVITATION,
    PINNED,
    REGIONS,
    SEGMENTS,
    STAGES,
    TIER_LADDER,
    UNASSIGNED_SHARE,
    PartnerTeam,
)
from partners.models import Partner, PartnerStatus, Tier
from partners.services import partner_create, tier_create
from tenancy.models import Invitation, Membership, Tenant, User, hash_secret
from tenancy.roles import Role
from tenancy.services import INVITATION_LIFETIME


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
