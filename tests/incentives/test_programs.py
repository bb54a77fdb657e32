"""Programs: creation, per-state editing, guarded transitions, terms versions, history."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from incentives.models import Enrollment, Program, ProgramTerms
from incentives.services.programs import (
    program_create,
    program_transition,
    program_update,
    required_partners_set,
    terms_publish,
)
from tenancy.context import tenant_scope
from tenancy.errors import ApplicationError, NotPermitted
from tenancy.models import AuditEvent
from tenancy.roles import Role
from tests.factories.incentives import ProgramTermsFactory

BASE = {
    "name": "Q4 Firewall SPIFF",
    "kind": "spiff",
    "starts_on": date(2026, 10, 1),
    "ends_on": date(2026, 12, 31),
    "budget": "25000.00",
}


def _create(world, **extra) -> Program:
    with tenant_scope(world.tenant):
        return program_create(actor=world.member(Role.CHANNEL_MANAGER), **{**BASE, **extra})


def _act(world, fn, role=Role.CHANNEL_MANAGER, **kwargs):
    with tenant_scope(world.tenant):
        return fn(actor=world.member(role), **kwargs)


def test_create_takes_tenant_currency_and_decimal_budget(alpha):
    program = _create(alpha)
    assert (program.status, program.currency, program.budget) == (
        "draft",
        "USD",
        Decimal("25000.00"),
    )
    with tenant_scope(alpha.tenant):
        assert AuditEvent.objects.get(entity="incentives.program", entity_id=program.pk).action == (
            "created"
        )


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": " "}, "name"),
        ({"budget": "-1"}, "budget"),
        ({"budget": "12.345"}, "budget"),
        ({"budget": "lots"}, "budget"),
        ({"kind": "bribe"}, "kind"),
        ({"ends_on": date(2026, 1, 1)}, "ends_on"),
        ({"currency": "euro"}, "currency"),
        ({"claim_window_days": -3}, "claim_window_days"),
        ({"eligibility": {"types": ["wizard"]}}, "eligibility.types[0]"),
    ],
)
def test_bad_input_names_the_field_and_writes_nothing(alpha, changes, field):
    with pytest.raises(ApplicationError) as error:
        _create(alpha, **{"name": f"Bad {field}", **changes})
    assert field in error.value.errors
    with tenant_scope(alpha.tenant):
        assert not Program.objects.exclude(pk=alpha.program.pk).exists()


def test_reps_and_reviewers_cannot_create_programs(alpha):
    for role in (Role.PARTNER_REP, Role.PARTNER_ADMIN, Role.CLAIMS_REVIEWER):
        with tenant_scope(alpha.tenant), pytest.raises(NotPermitted):
            program_create(actor=alpha.member(role), **BASE)


def test_activation_needs_published_terms(alpha):
    program = _create(alpha)
    with pytest.raises(ApplicationError, match="Publish the program's terms"):
        _act(alpha, program_transition, program=program, action="activate")
    _act(alpha, terms_publish, program=program, body="# Terms\nBe nice.")
    assert _act(alpha, program_transition, program=program, action="activate").status == "active"


def test_automatic_program_activates_without_terms(alpha):
    program = _create(alpha, enrollment_mode="automatic")
    assert _act(alpha, program_transition, program=program, action="activate").status == "active"


TRANSITION_TABLE = [
    ("draft", "pause", False),
    ("draft", "close", False),
    ("draft", "activate", True),
    ("active", "pause", True),
    ("active", "close", True),
    ("active", "activate", False),
    ("paused", "activate", True),
    ("paused", "close", True),
    ("paused", "pause", False),
    ("closed", "activate", False),
    ("closed", "pause", False),
    ("closed", "close", False),
]


@pytest.mark.parametrize(("state", "action", "allowed"), TRANSITION_TABLE)
def test_every_transition_rule(alpha, state, action, allowed):
    program = _create(alpha)
    _act(alpha, terms_publish, program=program, body="Terms.")
    with tenant_scope(alpha.tenant):
        Program.objects.filter(pk=program.pk).update(status=state)
        program.refresh_from_db()
    if allowed:
        assert _act(alpha, program_transition, program=program, action=action).status != state
    else:
        with pytest.raises(ApplicationError) as error:
            _act(alpha, program_transition, program=program, action=action)
        assert error.value.code == "invalid_transition"


@pytest.mark.parametrize(
    ("state", "field", "value", "allowed"),
    [
        ("draft", "kind", "rebate", True),
        ("draft", "currency", "EUR", True),
        ("active", "kind", "rebate", False),
        ("active", "currency", "EUR", False),
        ("active", "starts_on", date(2026, 9, 1), False),
        ("active", "enrollment_mode", "automatic", False),
        ("active", "budget", "30000.00", True),
        ("active", "ends_on", date(2027, 1, 31), True),
        ("paused", "name", "Renamed", True),
        ("paused", "kind", "points", False),
        ("closed", "name", "Renamed", False),
        ("closed", "budget", "1.00", False),
    ],
)
def test_what_may_change_in_each_state(alpha, state, field, value, allowed):
    program = _create(alpha)
    with tenant_scope(alpha.tenant):
        Program.objects.filter(pk=program.pk).update(status=state)
        program.refresh_from_db()
    if allowed:
        _act(alpha, program_update, program=program, **{field: value})
        with tenant_scope(alpha.tenant):
            event = AuditEvent.objects.filter(entity_id=program.pk, action="updated").get()
        assert field in event.changes
    else:
        with pytest.raises(ApplicationError) as error:
            _act(alpha, program_update, program=program, **{field: value})
        assert field in error.value.errors


def test_every_change_is_recorded_with_who_and_what(alpha):
    program = _create(alpha)
    _act(alpha, program_update, program=program, budget="30000.00", name="Q4 SPIFF")
    with tenant_scope(alpha.tenant):
        event = AuditEvent.objects.get(entity_id=program.pk, action="updated")
    assert event.actor == alpha.user(Role.CHANNEL_MANAGER)
    assert event.changes == {
        "budget": ["25000.00", "30000.00"],
        "name": ["Q4 Firewall SPIFF", "Q4 SPIFF"],
    }


def test_unchanged_update_writes_no_history(alpha):
    program = _create(alpha)
    _act(alpha, program_update, program=program, name=BASE["name"])
    with tenant_scope(alpha.tenant):
        assert not AuditEvent.objects.filter(entity_id=program.pk, action="updated").exists()


def test_new_terms_version_moves_accepted_enrollments_to_reaccept(alpha):
    program = alpha.program
    with tenant_scope(alpha.tenant):
        automatic = Enrollment.objects.create(
            program=program, partner=alpha.other_partner, status="enrolled", automatic=True
        )
    terms = _act(alpha, terms_publish, program=program, body="v2")
    assert terms.version == 2
    with tenant_scope(alpha.tenant):
        alpha.enrollment.refresh_from_db()
        automatic.refresh_from_db()
    assert alpha.enrollment.status == "reaccept"
    assert automatic.status == "enrolled"  # never accepted terms, so nothing to re-accept


def _terms_version(world, program) -> int | None:
    with tenant_scope(world.tenant):
        return Program.objects.values_list("current_terms_version", flat=True).get(pk=program.pk)


def test_the_program_row_carries_its_current_terms_version(worlds):
    alpha, bravo = worlds
    program = _create(alpha)
    assert _terms_version(alpha, program) is None
    _act(alpha, terms_publish, program=program, body="v1")
    assert _terms_version(alpha, program) == 1
    stale = _reload(alpha, program)
    _act(alpha, terms_publish, program=program, body="v2")
    assert _terms_version(alpha, program) == 2
    # A save from an instance read before the new version does not write the old one back.
    with tenant_scope(alpha.tenant):
        stale.name = "Renamed"
        stale.save()
    assert stale.current_terms_version == 1
    assert _terms_version(alpha, program) == 2
    # Whatever writes the terms: the version follows a row inserted, changed or deleted.
    with tenant_scope(alpha.tenant):
        ProgramTermsFactory(program=program, version=7)
        assert _terms_version(alpha, program) == 7
        ProgramTerms.objects.filter(program=program, version=7).update(version=5)
        assert _terms_version(alpha, program) == 5
        ProgramTerms.objects.filter(program=program, version__gte=2).delete()
        assert _terms_version(alpha, program) == 1
        ProgramTerms.objects.filter(program=program).delete()
    assert _terms_version(alpha, program) is None
    # Another tenant's program of its own keeps its own version.
    assert _terms_version(bravo, bravo.program) == 1


def _reload(world, program) -> Program:
    with tenant_scope(world.tenant):
        return Program.objects.get(pk=program.pk)


def test_required_partners_refuse_another_tenants_partner(worlds):
    alpha, bravo = worlds
    with pytest.raises(ApplicationError) as error:
        _act(alpha, required_partners_set, program=alpha.program, partner_ids=[bravo.partner.pk])
    assert "required_partners" in error.value.errors
    count = _act(
        alpha, required_partners_set, program=alpha.program, partner_ids=[alpha.partner.pk]
    )
    assert count == 1
