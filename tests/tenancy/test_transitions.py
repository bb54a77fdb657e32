"""The transition kernel: state machines declared once, moves checked on the locked row, and
a refused move answered as a conflict (409) with a code."""

from __future__ import annotations

import pytest
from django.db import transaction

from incentives.models import Program, ProgramStatus
from incentives.states import ENROLLMENT_STATES, PROGRAM_STATES
from partners.states import IMPORT_STATES
from tenancy.audit import history_of
from tenancy.context import tenant_scope
from tenancy.errors import ApplicationError, Conflict
from tenancy.models import Invitation
from tenancy.roles import Role
from tenancy.states import INVITATION_STATES
from tenancy.transitions import StateMachine, lock, serialize, transition
from tests.conftest import client_for


def test_each_machine_answers_which_actions_a_state_allows():
    assert PROGRAM_STATES.actions_from(ProgramStatus.DRAFT) == [
        "activate",
        "update",
        "publish_terms",
        "set_required_partners",
        "invite",
    ]
    assert PROGRAM_STATES.actions_from(ProgramStatus.CLOSED) == []
    assert ENROLLMENT_STATES.actions_from("invited") == ["accept", "decline"]
    assert INVITATION_STATES.actions_from("accepted") == []
    assert IMPORT_STATES.actions_from("running") == ["run_chunk", "finish", "fail"]


def test_a_machine_refuses_states_its_model_does_not_have():
    with pytest.raises(ValueError, match="unknown states"):
        StateMachine.declare("program", ProgramStatus, {"archive": (("archived",), None)})


def test_a_refused_move_says_why_and_whether_someone_else_moved_first():
    with pytest.raises(Conflict) as refused:
        PROGRAM_STATES.check("pause", ProgramStatus.CLOSED)
    assert refused.value.code == "invalid_transition"
    assert refused.value.message == "Only an active program can pause; this one is closed."
    with pytest.raises(Conflict) as overtaken:
        PROGRAM_STATES.check("pause", ProgramStatus.PAUSED, seen=ProgramStatus.ACTIVE)
    assert overtaken.value.code == "concurrent_change"
    assert "it is paused now" in overtaken.value.message
    assert isinstance(overtaken.value, ApplicationError)


def test_locks_refuse_to_run_outside_a_transaction(transactional_db):
    with pytest.raises(RuntimeError, match="needs the caller"):
        lock(Program, pk=1)
    with pytest.raises(RuntimeError, match="needs the caller"):
        serialize("partners.tier_ladder")


def test_transition_checks_the_locked_row_writes_and_records_history(alpha):
    admin = alpha.user(Role.VENDOR_ADMIN)
    with tenant_scope(alpha.tenant), transaction.atomic():
        seen = alpha.invitation.status
        Invitation.objects.filter(pk=alpha.invitation.pk).update(status="accepted")
        with pytest.raises(Conflict) as error:
            transition(
                Invitation,
                machine=INVITATION_STATES,
                action="revoke",
                actor=admin,
                seen=seen,
                pk=alpha.invitation.pk,
            )
        assert error.value.code == "concurrent_change"
        Invitation.objects.filter(pk=alpha.invitation.pk).update(status="pending")
        revoked = transition(
            Invitation,
            machine=INVITATION_STATES,
            action="revoke",
            actor=admin,
            values={"token_hash": ""},
            pk=alpha.invitation.pk,
        )
        assert revoked.status == "revoked"
        [event] = history_of(revoked)
        assert (event.action, event.changes) == ("revoke", {"status": ["pending", "revoked"]})


def test_the_api_answers_a_refused_transition_with_409_and_its_code(alpha):
    with tenant_scope(alpha.tenant):
        Program.objects.filter(pk=alpha.program.pk).update(status=ProgramStatus.CLOSED)
    url = f"/api/v1/t/alpha/programs/{alpha.program.pk}/"
    client = client_for(alpha.user(Role.CHANNEL_MANAGER))
    response = client.post(f"{url}transition/", {"action": "pause"})
    assert response.status_code == 409
    assert response.json() == {
        "detail": "Only an active program can pause; this one is closed.",
        "code": "invalid_transition",
        "errors": {},
    }
    terms = client.post(f"{url}terms/", {"body": "New terms."})
    assert (terms.status_code, terms.json()["code"]) == (409, "invalid_transition")
