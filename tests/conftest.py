"""Shared fixtures: a test database created by the owner role and used by the application role
(so row-level security is as real as in production), and two fully peopled tenants."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import dj_database_url
import pytest
from django.conf import settings
from django.core.management.base import CommandError
from django.core.management.commands import flush
from django.db import OperationalError
from rest_framework.test import APIClient

from incentives.models import Claim, Enrollment, Program
from partners.models import Partner, PartnerImport, Tier
from tenancy.context import tenant_scope
from tenancy.models import Invitation, Membership, Tenant, User
from tenancy.roles import Role
from tests.factories.incentives import EnrollmentFactory, ProgramFactory, ProgramTermsFactory
from tests.factories.partners import PartnerFactory, TierFactory
from tests.factories.tenancy import InvitationFactory, MembershipFactory, TenantFactory
from tests.isolation.tally import ApiRunTally, Tally

SWEEP_TALLY = pytest.StashKey[Tally]()
API_RUN_TALLY = pytest.StashKey[ApiRunTally]()

FLUSH_ATTEMPTS = 5


def _deadlocked(error: CommandError) -> bool:
    cause = error.__cause__
    return isinstance(cause, OperationalError) and getattr(cause.__cause__, "pgcode", "") == "40P01"


def _flush_retrying_a_deadlock(self, *args, **options):
    """A transactional test ends by emptying every table with one TRUNCATE, which takes its
    exclusive locks table by table. The real worker (alive for the rest of the run once a test
    started it) may still be handling what the test's last commit set going, holding a row lock
    on one table and asking for another: PostgreSQL then ends one of the two as a deadlock.
    When that is the TRUNCATE, the flush rolled back whole; once the worker's transaction is
    through, it succeeds. Production never truncates, so only the teardown needs this."""
    for attempt in range(1, FLUSH_ATTEMPTS + 1):
        try:
            return _flush_handle(self, *args, **options)
        except CommandError as error:
            if attempt == FLUSH_ATTEMPTS or not _deadlocked(error):
                raise
            time.sleep(0.2 * attempt)


_flush_handle = flush.Command.handle
flush.Command.handle = _flush_retrying_a_deadlock


@pytest.fixture(scope="session")
def django_db_setup(
    request,
    django_test_environment,
    django_db_blocker,
    django_db_keepdb,
    django_db_createdb,
    django_db_modify_db_settings,
):
    """Create and migrate the test database as the owner, then hand the connection back to the
    application role, which owns nothing and cannot bypass row-level security."""
    from django.db import connections
    from django.test.utils import setup_databases, teardown_databases

    owner = dj_database_url.parse(settings.DATABASE_OWNER_URL)
    connection = connections["default"]
    app_credentials = {key: connection.settings_dict[key] for key in ("USER", "PASSWORD")}

    def as_owner(action):
        with django_db_blocker.unblock():
            connection.close()
            connection.settings_dict.update(USER=owner["USER"], PASSWORD=owner["PASSWORD"])
            try:
                return action()
            finally:
                connection.close()
                connection.settings_dict.update(app_credentials)

    def setup():
        config = setup_databases(
            verbosity=0, interactive=False, keepdb=django_db_keepdb and not django_db_createdb
        )
        with connection.cursor() as cursor:
            # Test teardown empties tables with TRUNCATE; production never grants it.
            for role in (settings.APP_DB_ROLE, settings.UNSCOPED_DB_ROLE):
                cursor.execute(f"GRANT TRUNCATE ON ALL TABLES IN SCHEMA public TO {role}")
        return config

    db_config = as_owner(setup)
    yield
    if not django_db_keepdb:
        as_owner(lambda: teardown_databases(db_config, verbosity=0))


@dataclass
class World:
    """One tenant with a tier ladder, partners, a person in every role, a pending invitation, an
    active program with terms and an enrollment, and a finished partner import."""

    tenant: Tenant
    partner: Partner
    other_partner: Partner
    members: dict[str, Membership] = field(default_factory=dict)
    invitation: Invitation | None = None
    tier: Tier | None = None
    program: Program | None = None
    enrollment: Enrollment | None = None
    partner_import: PartnerImport | None = None
    claim: Claim | None = None

    def user(self, role: str) -> User:
        return self.members[role].user

    def member(self, role: str) -> Membership:
        return self.members[role]


def build_world(label: str) -> World:
    tenant = TenantFactory(name=f"{label.title()} Corp", slug=label)
    tier = TierFactory(tenant=tenant, name=f"{label.title()} Gold", rank=1)
    partner = PartnerFactory(tenant=tenant, name=f"{label.title()} Partner Ltd", tier=tier)
    other = PartnerFactory(tenant=tenant, name=f"{label.title()} Other Partner")
    world = World(tenant=tenant, partner=partner, other_partner=other, tier=tier)
    for role in Role.values:
        is_partner_role = role in (Role.PARTNER_ADMIN, Role.PARTNER_REP)
        world.members[role] = MembershipFactory(
            tenant=tenant,
            role=role,
            partner=partner if is_partner_role else None,
            user__email=f"{role}@{label}.example",
        )
    world.invitation = InvitationFactory(
        tenant=tenant, email=f"invited@{label}.example", invited_by=world.user(Role.VENDOR_ADMIN)
    )
    world.program = ProgramFactory(tenant=tenant, name=f"{label.title()} Q3 SPIFF")
    terms = ProgramTermsFactory(program=world.program)
    world.enrollment = EnrollmentFactory(
        program=world.program,
        partner=partner,
        terms=terms,
        accepted_by=world.user(Role.PARTNER_ADMIN),
    )
    with tenant_scope(tenant):
        world.partner_import = PartnerImport.objects.create(
            file_name=f"{label}-crm.csv", content="name\n", content_sha256="0" * 64, status="done"
        )
        world.claim = Claim.objects.create(
            program=world.program,
            partner=partner,
            rep=world.members[Role.PARTNER_REP],
            kind="sale",
            occurred_on=date(2026, 6, 15),
            invoice_number=f"{label.upper()}-INV-1",
            sku="SRV-1",
            quantity=1,
            unit_price=Decimal("1000.00"),
            amount=Decimal("1000.00"),
            currency="USD",
            end_customer=f"{label.title()} Customer",
            created_by=world.user(Role.PARTNER_REP),
        )
    return world


@pytest.fixture
def alpha(db) -> World:
    return build_world("alpha")


@pytest.fixture
def bravo(db) -> World:
    return build_world("bravo")


@pytest.fixture
def worlds(alpha, bravo) -> tuple[World, World]:
    """Every test that touches data sees two tenants, so a missing filter shows up."""
    return alpha, bravo


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


def client_for(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def scoped():
    """`with scoped(tenant):` — read tenant-owned rows in a test."""
    return tenant_scope


@pytest.fixture(scope="session")
def _worker_process(django_db_setup, django_db_blocker, tmp_path_factory):
    """One real worker per test process, started by the first test that asks for it."""
    from tests.worker import WorkerProcess

    mail_dir = tmp_path_factory.mktemp("worker") / "mail"
    mail_dir.mkdir()
    worker = WorkerProcess(mail_dir)
    with django_db_blocker.unblock():
        worker.start()
    yield worker
    worker.stop()


@pytest.fixture
def celery_worker(_worker_process):
    """The real worker, with an empty mailbox. Tests that use it need `transactional_db`: the
    worker reads only what is committed."""
    _worker_process.clear_mails()
    return _worker_process


# The isolation sweep's count of id fields tried per role, printed at the end of every run. Under
# xdist each worker hands its counts to the controller, which prints them.


def pytest_configure(config):
    config.stash[SWEEP_TALLY] = Tally()
    config.stash[API_RUN_TALLY] = ApiRunTally()


@pytest.fixture
def sweep_tally(request) -> Tally:
    return request.config.stash[SWEEP_TALLY]


@pytest.fixture
def schemathesis_tally(request) -> ApiRunTally:
    return request.config.stash[API_RUN_TALLY]


def pytest_sessionfinish(session):
    if hasattr(session.config, "workeroutput"):
        session.config.workeroutput["sweep_tally"] = session.config.stash[SWEEP_TALLY].counts
        session.config.workeroutput["api_run_tally"] = session.config.stash[API_RUN_TALLY].counts


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    counts = getattr(node, "workeroutput", {}).get("sweep_tally", {})
    node.config.stash[SWEEP_TALLY].merge(counts)
    api_counts = getattr(node, "workeroutput", {}).get("api_run_tally", {})
    node.config.stash[API_RUN_TALLY].merge(api_counts)


def pytest_terminal_summary(terminalreporter, config):
    tally = config.stash[SWEEP_TALLY]
    if tally.counts:
        terminalreporter.section("isolation sweep: tenant A's ids tried in bodies and queries")
        for line in tally.lines():
            terminalreporter.write_line(line)
    api_run = config.stash[API_RUN_TALLY]
    if api_run.counts:
        terminalreporter.section("schemathesis: the API against its OpenAPI schema")
        for line in api_run.lines():
            terminalreporter.write_line(line)
