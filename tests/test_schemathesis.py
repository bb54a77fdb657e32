"""The API against its own OpenAPI schema: Schemathesis generates requests for every operation
(valid and invalid input, from the schema) and calls the app in-process over WSGI, as a vendor
admin of a seeded tenant. No answer may be a server error, and every answer must be one the
schema documents: its status, content type, headers and body.

The run is deterministic (derandomized, no example database) and small enough for every
`make test`: a few examples an operation plus Schemathesis's coverage cases. Each operation is
one test, inside its own test transaction, so destructive calls (DELETE, transitions) change
nothing another operation sees. The number of operations and requests is printed at the end of
the run."""

from __future__ import annotations

import hypothesis
import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import Client
from schemathesis.checks import not_a_server_error
from schemathesis.generation.meta import TestPhase
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tenancy.roles import Role
from tests.conftest import build_world
from tests.factories.incentives import ProgramFactory
from tests.factories.partners import PartnerFactory

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
EXAMPLES_PER_OPERATION = 6
# The coverage phase sends, among others, every value of an enum, one request each: the tenant's
# time zone alone is 600 of them, all down the same code path. The first few cases of each kind
# (scenario) for each parameter are sent.
COVERAGE_CASES_PER_KIND = 2
CSRF_SECRET = "schemathesis0csrf0secret00000000"  # 32 characters, as Django's own

CONFIG = schemathesis.config.SchemathesisConfig.from_dict(
    {
        "seed": 7,
        "generation": {
            "max-examples": EXAMPLES_PER_OPERATION,
            "deterministic": True,
            "database": "none",
            "allow-x00": True,
        },
        "phases": {
            "stateful": {"enabled": False},
            "coverage": {"unexpected-methods": [], "generate-duplicate-query-parameters": False},
        },
    }
)
schema = schemathesis.openapi.from_wsgi(
    "/api/v1/schema/?format=json", get_wsgi_application(), config=CONFIG
)


@pytest.fixture
def in_process():
    """Django's request signals close the database connection after every request; in-process,
    that is the test's own connection, inside its transaction (Django's test client
    disconnects them the same way)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def seeded(db, in_process):
    """A tenant with a tier ladder, partners, programs in each state, an enrollment, an
    invitation and an import, and the vendor admin's session (with a CSRF pair, as a browser
    sends it)."""
    world = build_world("alpha")
    build_world("bravo")
    for index in range(3):
        PartnerFactory(tenant=world.tenant, name=f"Seeded partner {index}", tier=world.tier)
    ProgramFactory(tenant=world.tenant, name="Draft program", status="draft")
    client = Client()
    client.force_login(world.user(Role.VENDOR_ADMIN))
    ids = {
        "tenant_slug": world.tenant.slug,
        "partner_id": world.other_partner.pk,
        "program_id": world.program.pk,
        "enrollment_id": world.enrollment.pk,
        "invitation_id": world.invitation.pk,
        "member_id": world.member(Role.CHANNEL_MANAGER).pk,
        "tier_id": world.tier.pk,
        "import_id": world.partner_import.pk,
        "claim_id": world.claim.pk,
    }
    cookies = {"sessionid": client.cookies["sessionid"].value, "csrftoken": CSRF_SECRET}
    return ids, cookies


def _coverage_case_too_many(case, seen: dict) -> bool:
    phase = case.meta.phase
    if phase.name != TestPhase.COVERAGE:
        return False
    key = (phase.data.scenario, phase.data.location, phase.data.parameter)
    seen[key] = seen.get(key, 0) + 1
    return seen[key] > COVERAGE_CASES_PER_KIND


@pytest.fixture
def coverage_cases_seen() -> dict:
    return {}


@schema.parametrize()
@hypothesis.settings(
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(hypothesis.HealthCheck),
)
def test_api_answers_as_its_schema_documents(case, seeded, coverage_cases_seen, schemathesis_tally):
    if _coverage_case_too_many(case, coverage_cases_seen):
        return
    ids, cookies = seeded
    for name in case.path_parameters or {}:
        if name in ids:
            case.path_parameters[name] = ids[name]
    headers = {"X-CSRFToken": CSRF_SECRET}
    response = case.call(headers=headers, cookies=cookies)
    schemathesis_tally.add(case.operation.label, response.status_code, case.meta.phase.name.value)
    case.validate_response(response, checks=CHECKS, headers=headers)
