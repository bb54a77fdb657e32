"""Races through the real API on real PostgreSQL: each request on its own thread, with its own
client and database connection, released together by a barrier. A race either has one winner
and losers answered 409 with a code, or several winners that each see the other's work; never a
500 and never a deadlock."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from django.db import connection, transaction

from incentives.models import Enrollment, EnrollmentStatus, Program, ProgramStatus, ProgramTerms
from partners.models import Partner, Tier
from tenancy.context import tenant_scope
from tenancy.models import AuditEvent, Invitation, Membership
from tenancy.roles import Role
from tests.conftest import build_world, client_for
from tests.factories.partners import PartnerFactory
from tests.factories.tenancy import MembershipFactory

ROUNDS = 8


@dataclass
class Answer:
    status: int | None  # None: the request raised instead of answering
    body: dict
    error: str = ""


def race(*calls: Callable[[], object]) -> list[Answer]:
    """Run each call on its own thread, all released at once; their answers in call order."""
    barrier = threading.Barrier(len(calls))
    answers: list[Answer | None] = [None] * len(calls)

    def run(index: int, call: Callable[[], object]) -> None:
        try:
            barrier.wait(timeout=30)
            response = call()
            body = response.json() if response.get("Content-Type") == "application/json" else {}
            answers[index] = Answer(response.status_code, body)
        except Exception as error:  # a 500 reaches the test client as the view's exception
            answers[index] = Answer(None, {}, f"{type(error).__name__}: {error}")
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=pair) for pair in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert all(answer is not None for answer in answers), "a request never finished"
    return answers


def assert_no_failures(answers: list[Answer]) -> None:
    deadlocks = [a for a in answers if "deadlock detected" in a.error]
    failures = [a for a in answers if a.status is None or a.status >= 500]
    assert (len(deadlocks), failures) == (0, [])


def post(user, url: str, data: dict | None = None, method: str = "post") -> Callable[[], object]:
    def call():
        return getattr(client_for(user), method)(url, data or {}, format="json")

    return call


@contextmanager
def in_tenant(world) -> Iterator[None]:
    """Setup and checks between races: the world's tenant bound, in one committed transaction."""
    with tenant_scope(world.tenant), transaction.atomic():
        yield


@pytest.fixture
def alpha(transactional_db):
    return build_world("alpha")


def _programs(world) -> str:
    return f"/api/v1/t/{world.tenant.slug}/programs/{world.program.pk}/"


def test_publishing_terms_while_inviting_neither_deadlocks_nor_fails(alpha):
    """The race that deadlocked: publishing terms locks the program and moves enrolled rows to
    re-accept, inviting locks enrollments and inserts new ones (which reference the program)."""
    cam = alpha.user(Role.CHANNEL_MANAGER)
    admin = alpha.user(Role.VENDOR_ADMIN)
    with in_tenant(alpha):
        Program.objects.filter(pk=alpha.program.pk).update(enrollment_mode="invitation")
    answers = []
    for round_number in range(ROUNDS):
        with in_tenant(alpha):
            PartnerFactory(tenant=alpha.tenant, name=f"Newcomer {round_number}")
            Enrollment.objects.filter(program=alpha.program, partner=alpha.partner).update(
                status=EnrollmentStatus.ENROLLED
            )
        answers += race(
            post(cam, f"{_programs(alpha)}terms/", {"body": f"Terms, round {round_number}."}),
            post(admin, f"{_programs(alpha)}invite/", {}),
        )
    assert_no_failures(answers)
    assert Counter(a.status for a in answers) == {201: ROUNDS, 200: ROUNDS}
    with in_tenant(alpha):
        assert ProgramTerms.objects.filter(program=alpha.program).count() == 1 + ROUNDS
        waiting = Enrollment.objects.filter(program=alpha.program, partner=alpha.partner).get()
        assert waiting.status == EnrollmentStatus.REACCEPT
        newcomers = Partner.objects.filter(name__startswith="Newcomer")
        assert Enrollment.objects.filter(partner__in=newcomers, status="invited").count() == ROUNDS


def test_two_invites_of_one_partner_make_one_invitation(alpha):
    cam = alpha.user(Role.CHANNEL_MANAGER)
    answers = []
    for round_number in range(ROUNDS):
        with in_tenant(alpha):
            partner = PartnerFactory(tenant=alpha.tenant, name=f"Twice {round_number}")
        url = f"{_programs(alpha)}invite/"
        pair = race(*[post(cam, url, {"partner_ids": [partner.pk]}) for _ in range(2)])
        assert_no_failures(pair)
        assert sorted(a.body["invited"] for a in pair) == [0, 1]
        assert sorted(a.body["unchanged"] for a in pair) == [0, 1]
        answers += pair
    with in_tenant(alpha):
        invited = Enrollment.objects.filter(partner__name__startswith="Twice", status="invited")
        assert invited.count() == ROUNDS


def test_two_invitations_of_one_email_make_one_and_a_conflict_on_email(alpha):
    admin = alpha.user(Role.VENDOR_ADMIN)
    url = f"/api/v1/t/{alpha.tenant.slug}/invitations/"
    for round_number in range(ROUNDS):
        data = {"email": f"twice-{round_number}@example.com", "role": "channel_manager"}
        answers = race(post(admin, url, data), post(admin, url, data))
        assert_no_failures(answers)
        assert sorted(a.status for a in answers) == [201, 409]
        loser = next(a for a in answers if a.status == 409)
        assert (loser.body["code"], list(loser.body["errors"])) == ("duplicate", ["email"])
    with in_tenant(alpha):
        assert Invitation.objects.filter(email__startswith="twice-").count() == ROUNDS


def test_two_revocations_of_one_invitation_have_one_winner(alpha):
    admin = alpha.user(Role.VENDOR_ADMIN)
    for round_number in range(ROUNDS):
        with in_tenant(alpha):
            invitation = Invitation.objects.create(
                email=f"revoke-{round_number}@example.com",
                role=Role.CHANNEL_MANAGER,
                invited_by=admin,
                expires_at=alpha.invitation.expires_at,
            )
        url = f"/api/v1/t/{alpha.tenant.slug}/invitations/{invitation.pk}/"
        answers = race(post(admin, url, method="delete"), post(admin, url, method="delete"))
        assert_no_failures(answers)
        assert sorted(a.status for a in answers) == [200, 409]
        loser = next(a for a in answers if a.status == 409)
        assert loser.body["code"] in {"concurrent_change", "invalid_transition"}


@pytest.mark.parametrize("same_name", [True, False], ids=["same name", "different names"])
def test_parallel_tier_creation_keeps_names_and_ranks_unique(alpha, same_name):
    admin = alpha.user(Role.VENDOR_ADMIN)
    url = f"/api/v1/t/{alpha.tenant.slug}/tiers/"
    threads = 6
    answers = []
    for round_number in range(3):
        names = [
            f"Rung {round_number}" if same_name else f"Rung {round_number}.{i}"
            for i in range(threads)
        ]
        answers += race(*[post(admin, url, {"name": name}) for name in names])
    assert_no_failures(answers)
    statuses = Counter(a.status for a in answers)
    if same_name:
        assert statuses == {201: 3, 409: 3 * (threads - 1)}
        losers = [a.body for a in answers if a.status == 409]
        assert {(b["code"], tuple(b["errors"])) for b in losers} == {("duplicate", ("name",))}
    else:
        assert statuses == {201: 3 * threads}
    with in_tenant(alpha):
        ranks = list(Tier.objects.values_list("rank", flat=True))
    assert sorted(ranks) == list(range(1, len(ranks) + 1))


@pytest.mark.parametrize(
    ("start", "action"),
    [(ProgramStatus.ACTIVE, "close"), (ProgramStatus.ACTIVE, "pause"), ("paused", "activate")],
)
def test_two_identical_program_transitions_have_exactly_one_winner(alpha, start, action):
    cam, admin = alpha.user(Role.CHANNEL_MANAGER), alpha.user(Role.VENDOR_ADMIN)
    url = f"{_programs(alpha)}transition/"
    for _ in range(ROUNDS):
        with in_tenant(alpha):
            Program.objects.filter(pk=alpha.program.pk).update(status=start)
        answers = race(post(cam, url, {"action": action}), post(admin, url, {"action": action}))
        assert_no_failures(answers)
        assert sorted(a.status for a in answers) == [200, 409]
        loser = next(a for a in answers if a.status == 409)
        assert loser.body["code"] in {"concurrent_change", "invalid_transition"}
    with in_tenant(alpha):
        events = AuditEvent.objects.filter(entity="incentives.program", entity_id=alpha.program.pk)
        assert events.filter(action=action).count() == ROUNDS  # one history row per winner


def test_two_admins_removing_each_other_leave_one_admin_without_a_deadlock(alpha):
    first = alpha.member(Role.VENDOR_ADMIN)
    for round_number in range(ROUNDS):
        with in_tenant(alpha):
            Membership.objects.filter(role=Role.VENDOR_ADMIN).update(is_active=False)
            first.is_active = True
            first.save(update_fields=["is_active"])
            second = MembershipFactory(
                tenant=alpha.tenant,
                role=Role.VENDOR_ADMIN,
                user__email=f"second-admin-{round_number}@alpha.example",
            )
        members = f"/api/v1/t/{alpha.tenant.slug}/members/"
        answers = race(
            post(first.user, f"{members}{second.pk}/", method="delete"),
            post(second.user, f"{members}{first.pk}/", method="delete"),
        )
        assert_no_failures(answers)
        winner, loser = sorted(a.status for a in answers)
        # The loser is refused by the last-admin rule, or, arriving after the winner's commit,
        # is no longer a member at all.
        assert (winner, loser in {400, 404}) == (204, True)
        with in_tenant(alpha):
            admins = Membership.objects.filter(role=Role.VENDOR_ADMIN, is_active=True)
            assert admins.count() == 1


def test_accepting_terms_while_new_ones_are_published_never_enrolls_on_old_terms(alpha):
    """The acceptance reads the current version under the program's lock: it lands before the
    publication (which then asks for re-acceptance) or is refused as stale (409)."""
    partner_admin, cam = alpha.user(Role.PARTNER_ADMIN), alpha.user(Role.CHANNEL_MANAGER)
    outcomes = Counter()
    for round_number in range(ROUNDS):
        with in_tenant(alpha):
            Enrollment.objects.filter(pk=alpha.enrollment.pk).update(
                status=EnrollmentStatus.REACCEPT
            )
            version = ProgramTerms.objects.filter(program=alpha.program).count()
        accept, publish = race(
            post(partner_admin, f"{_programs(alpha)}enroll/", {"terms_version": version}),
            post(cam, f"{_programs(alpha)}terms/", {"body": f"Terms, round {round_number}."}),
        )
        assert_no_failures([accept, publish])
        assert publish.status == 201
        assert accept.status == 200 or (accept.status, accept.body["code"]) == (409, "stale_terms")
        outcomes[accept.status] += 1
        with in_tenant(alpha):
            enrollment = Enrollment.objects.select_related("terms").get(pk=alpha.enrollment.pk)
            latest = ProgramTerms.objects.filter(program=alpha.program).count()
        assert enrollment.status == EnrollmentStatus.REACCEPT or (
            enrollment.status == EnrollmentStatus.ENROLLED and enrollment.terms.version == latest
        )
    assert sum(outcomes.values()) == ROUNDS
