"""The demo programs and their enrollments, made through the services."""

from __future__ import annotations

import random
from collections import Counter
from datetime import date, timedelta

from django.utils import timezone

from config.demo_seed.channel import quarter_of
from config.demo_seed.data import (
    POINTS_TERMS,
    REBATE_TERMS,
    SPIFF_TERMS_V1,
    SPIFF_TERMS_V2,
    SUMMIT_RIDGE,
)
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
    enrollment_enroll_on_behalf,
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
from tenancy.models import Membership


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
        (Summit Ridge among them), some decline, a few withdraw later, two are enrolled by staff
        on their behalf (they signed on paper), the rest have not answered. Summit Ridge and
        four Platinum partners are required."""
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
        # Two invited partners answered on paper at the partner summit: staff enroll them.
        for partner in invited[len(invited) * 60 // 100 :][:2]:
            enrollment_enroll_on_behalf(
                actor=admin,
                program=program,
                partner_id=partner.pk,
                reason="Signed the paper enrollment form at the partner summit",
            )
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
