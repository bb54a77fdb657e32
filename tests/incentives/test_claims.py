"""Claims: each kind checks its own fields by name; drafts, submission, a reviewer's decision
and one appeal move through the claim's state machine on the locked row, recorded in the
history; an approval publishes `claim.approved`."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.db import transaction

from incentives.claims import services
from incentives.claims.models import Claim, ClaimSerial, ClaimStatus
from incentives.claims.states import CLAIM_STATES
from incentives.claims.types import TYPES, ClaimKind, claim_type, clean_claim_kinds
from incentives.models import Program
from incentives.services.programs import program_update
from tenancy.context import tenant_scope
from tenancy.errors import ApplicationError, Conflict, NotPermitted
from tenancy.models import AuditEvent, DomainEvent
from tenancy.roles import Role
from tenancy.transitions import transition
from tests.factories.incentives import ProgramFactory

SALE = {
    "invoice_number": "INV-1001",
    "occurred_on": "2026-06-15",
    "sku": "SRV-4410",
    "quantity": 4,
    "unit_price": "1250.00",
    "amount": "5000.00",
    "currency": "USD",
    "end_customer": "Globex Manufacturing",
    "serial_numbers": "SN-1, SN-2\nSN-2",
}

# One valid body a kind, as a form or the API sends it (text everywhere).
VALID = {
    ClaimKind.SALE: SALE,
    ClaimKind.DEAL_REGISTRATION: {
        "deal_name": "Globex data centre",
        "end_customer": "Globex",
        "occurred_on": "2026-05-02",
        "expected_value": "80000.00",
    },
    ClaimKind.LEAD_FOLLOW_UP: {"lead": "Initech", "occurred_on": "2026-05-03"},
    ClaimKind.PRODUCT_DEMO: {"end_customer": "Umbrella", "occurred_on": "2026-05-04"},
    ClaimKind.TRAINING: {
        "course": "Storage 201",
        "person": "Ana Lima",
        "days": "2.5",
        "occurred_on": "2026-05-05",
    },
    ClaimKind.CERTIFICATION: {
        "certification": "Certified Architect",
        "person": "Ana Lima",
        "occurred_on": "2026-05-06",
    },
    ClaimKind.BUSINESS_PLAN: {"plan_name": "FY27 plan", "occurred_on": "2026-05-07"},
    ClaimKind.CSAT_SURVEY: {"end_customer": "Hooli", "score": "4.5", "occurred_on": "2026-05-08"},
    ClaimKind.ON_TIME_DELIVERY: {"rate": "97.50", "period": "2026-Q2", "occurred_on": "2026-07-01"},
    ClaimKind.CLOSED_DEAL: {
        "deal_name": "Hooli renewal",
        "end_customer": "Hooli",
        "days_to_close": "41",
        "occurred_on": "2026-05-09",
    },
}


# Fields: each kind cleans its own and names every problem


def test_every_kind_has_a_valid_example_here():
    assert set(VALID) == set(TYPES) == set(ClaimKind.values)


@pytest.mark.parametrize("kind", ClaimKind.values)
def test_each_kind_cleans_a_valid_body(kind):
    cleaned = claim_type(kind).clean(VALID[kind], currency="USD")
    assert cleaned["occurred_on"] == date.fromisoformat(VALID[kind]["occurred_on"])


@pytest.mark.parametrize("kind", ClaimKind.values)
def test_each_kind_names_its_required_fields_when_they_are_missing(kind):
    required = {f.name for f in claim_type(kind).fields if f.required}
    with pytest.raises(ApplicationError) as caught:
        claim_type(kind).clean({}, currency="USD")
    assert set(caught.value.errors) == required
    assert all("is required" in m[0] for m in caught.value.errors.values())


def test_a_sale_keeps_its_values_as_decimals_and_serials_once_each():
    cleaned = claim_type("sale").clean(SALE, currency="USD")
    assert cleaned["amount"] == Decimal("5000.00")
    assert cleaned["quantity"] == 4
    assert cleaned["serial_numbers"] == ["SN-1", "SN-2"]


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"amount": "4999.99"}, "amount", "quantity times the unit price"),
        ({"currency": "EUR"}, "currency", "pays in USD"),
        ({"currency": "dollars"}, "currency", "three-letter"),
        ({"quantity": "0"}, "quantity", "at least 1"),
        ({"quantity": "2.5"}, "quantity", "whole number"),
        ({"quantity": True}, "quantity", "whole number"),
        ({"quantity": "9" * 40}, "quantity", "whole number"),
        ({"unit_price": "12.345"}, "unit_price", "decimal places"),
        ({"unit_price": "1e9"}, "unit_price", "number such as"),
        ({"unit_price": "NaN"}, "unit_price", "number such as"),
        ({"unit_price": "9" * 20}, "unit_price", "number such as"),
        ({"amount": "-5"}, "amount", "at least"),
        ({"occurred_on": "15/06/2026"}, "occurred_on", "YYYY-MM-DD"),
        ({"occurred_on": "1999-12-31"}, "occurred_on", "between 2000 and 2100"),
        ({"end_customer": "Globex\x00Corp"}, "end_customer", "U+0000"),
        ({"end_customer": "Evil\u202eCorp"}, "end_customer", "U+202E"),
        ({"end_customer": "x" * 201}, "end_customer", "longer than 200"),
        ({"invoice_number": ["INV-1"]}, "invoice_number", "must be text"),
        ({"serial_numbers": {"a": 1}}, "serial_numbers", "list of serial numbers"),
        ({"serial_numbers": ["S" * 101]}, "serial_numbers", "longer than 100"),
        ({"colour": "red"}, "colour", "no field 'colour'"),
    ],
)
def test_a_bad_sale_field_is_refused_by_name(changes, field, words):
    with pytest.raises(ApplicationError) as caught:
        claim_type("sale").clean({**SALE, **changes}, currency="USD")
    assert field in caught.value.errors, caught.value.errors
    assert any(words in message for message in caught.value.errors[field])


def test_several_problems_are_reported_together():
    with pytest.raises(ApplicationError) as caught:
        claim_type("sale").clean({**SALE, "quantity": "x", "currency": "?"}, currency="USD")
    assert {"quantity", "currency"} <= set(caught.value.errors)


def test_an_unknown_kind_is_refused_on_type():
    with pytest.raises(ApplicationError) as caught:
        claim_type("lottery")
    assert "type" in caught.value.errors


def test_program_claim_kinds_are_known_kinds_in_order():
    assert clean_claim_kinds(["training", "sale", "sale"]) == ["sale", "training"]
    with pytest.raises(ApplicationError) as caught:
        clean_claim_kinds(["sale", "bribe"])
    assert "claim_kinds" in caught.value.errors


# Lifecycle


def draft(world, role=Role.PARTNER_REP, kind="sale", body=None) -> Claim:
    with tenant_scope(world.tenant):
        return services.claim_create(
            actor=world.member(role), program=world.program, kind=kind, data=body or VALID[kind]
        )


def history(world, claim) -> list[str]:
    with tenant_scope(world.tenant):
        return list(
            AuditEvent.objects.filter(entity="incentives.claim", entity_id=claim.pk)
            .order_by("at", "pk")
            .values_list("action", flat=True)
        )


def to_status(world, claim, *actions) -> Claim:
    """Moves the rules make (validation), one after the other, on the locked row."""
    with tenant_scope(world.tenant), transaction.atomic():
        for action in actions:
            claim = transition(Claim, machine=CLAIM_STATES, action=action, actor=None, pk=claim.pk)
    return claim


def test_a_rep_makes_a_draft_for_their_company(alpha):
    claim = draft(alpha)
    assert claim.status == ClaimStatus.DRAFT
    assert claim.partner_id == alpha.partner.pk
    assert claim.rep_id == alpha.member(Role.PARTNER_REP).pk
    assert (claim.amount, claim.currency, claim.invoice_number) == (
        Decimal("5000.00"),
        "USD",
        "INV-1001",
    )
    with tenant_scope(alpha.tenant):
        serials = set(ClaimSerial.objects.filter(claim=claim).values_list("serial", flat=True))
    assert serials == {"SN-1", "SN-2"}


def test_a_behaviour_keeps_its_number_as_the_measure_and_its_words_as_details(alpha):
    with tenant_scope(alpha.tenant):
        alpha.program.claim_kinds = ["sale", "training"]
        alpha.program.save()
    claim = draft(alpha, kind="training")
    assert claim.measure == Decimal("2.5")
    assert claim.details == {"course": "Storage 201", "person": "Ana Lima"}
    assert claim.currency == "USD"


def test_a_program_takes_only_its_kinds_and_only_while_active(alpha):
    with pytest.raises(ApplicationError) as caught:
        draft(alpha, kind="training")
    assert "type" in caught.value.errors
    with tenant_scope(alpha.tenant):
        Program.objects.filter(pk=alpha.program.pk).update(status="paused")
        alpha.program.refresh_from_db()
    with pytest.raises(ApplicationError) as caught:
        draft(alpha)
    assert "program" in caught.value.errors


@pytest.mark.parametrize("role", [Role.VENDOR_ADMIN, Role.CHANNEL_MANAGER, Role.CLAIMS_REVIEWER])
def test_staff_do_not_make_claims(alpha, role):
    with pytest.raises(NotPermitted):
        draft(alpha, role=role)


def test_submit_then_the_rules_then_a_reviewer_approves_with_history_and_an_event(alpha):
    claim = draft(alpha)
    with tenant_scope(alpha.tenant):
        claim = services.claim_submit(actor=alpha.member(Role.PARTNER_REP), claim=claim)
    assert claim.status == ClaimStatus.SUBMITTED
    assert claim.submitted_at is not None
    claim = to_status(alpha, claim, "validate", "flag")
    with tenant_scope(alpha.tenant):
        claim = services.claim_decide(
            actor=alpha.member(Role.CLAIMS_REVIEWER), claim=claim, approve=True, note="Checked."
        )
        events = list(DomainEvent.objects.filter(aggregate_id=claim.pk).values_list("kind"))
    assert claim.status == ClaimStatus.APPROVED
    assert claim.decided_by_id == alpha.user(Role.CLAIMS_REVIEWER).pk
    assert history(alpha, claim) == ["submit", "validate", "flag", "approve"]
    assert events == [("claim.approved",)]


def test_a_rejection_needs_a_reason_and_may_be_appealed_once(alpha):
    claim = draft(alpha)
    with tenant_scope(alpha.tenant):
        claim = services.claim_submit(actor=alpha.member(Role.PARTNER_REP), claim=claim)
    claim = to_status(alpha, claim, "validate", "flag")
    reviewer, rep = alpha.member(Role.CLAIMS_REVIEWER), alpha.member(Role.PARTNER_REP)
    with tenant_scope(alpha.tenant):
        with pytest.raises(ApplicationError) as caught:
            services.claim_decide(actor=reviewer, claim=claim, approve=False, note="  ")
        assert "note" in caught.value.errors
        claim = services.claim_decide(
            actor=reviewer, claim=claim, approve=False, note="Invoice is unreadable."
        )
        assert claim.decision_note == "Invoice is unreadable."
        with pytest.raises(ApplicationError) as caught:
            services.claim_appeal(actor=rep, claim=claim, message="")
        assert "message" in caught.value.errors
        claim = services.claim_appeal(actor=rep, claim=claim, message="New scan attached.")
        assert claim.status == ClaimStatus.NEEDS_REVIEW
        claim = services.claim_decide(actor=reviewer, claim=claim, approve=False, note="Still no.")
        with pytest.raises(Conflict) as caught:
            services.claim_appeal(actor=rep, claim=claim, message="Please!")
        assert caught.value.code == "already_appealed"
    assert history(alpha, claim)[-4:] == ["flag", "reject", "appeal", "reject"]


def test_nobody_decides_a_claim_they_made(alpha):
    """A vendor admin cannot make claims, so the one who made it is set here directly."""
    claim = draft(alpha)
    with tenant_scope(alpha.tenant):
        claim = services.claim_submit(actor=alpha.member(Role.PARTNER_REP), claim=claim)
        Claim.objects.filter(pk=claim.pk).update(created_by=alpha.user(Role.VENDOR_ADMIN))
    claim = to_status(alpha, claim, "validate", "flag")
    with tenant_scope(alpha.tenant), pytest.raises(NotPermitted):
        services.claim_decide(actor=alpha.member(Role.VENDOR_ADMIN), claim=claim, approve=True)


def test_a_second_submit_of_the_same_draft_is_a_conflict(alpha):
    claim = draft(alpha)
    rep = alpha.member(Role.PARTNER_REP)
    with tenant_scope(alpha.tenant):
        services.claim_submit(actor=rep, claim=claim)
        with pytest.raises(Conflict) as caught:
            services.claim_submit(actor=rep, claim=claim)  # still seen as a draft
    assert caught.value.code == "concurrent_change"


def test_only_a_draft_is_edited_or_discarded(alpha):
    rep = alpha.member(Role.PARTNER_REP)
    claim = draft(alpha)
    with tenant_scope(alpha.tenant):
        claim = services.claim_update(
            actor=rep, claim=claim, data={**SALE, "invoice_number": "INV-2002"}
        )
        assert claim.invoice_number == "INV-2002"
        claim = services.claim_submit(actor=rep, claim=claim)
        with pytest.raises(Conflict):
            services.claim_update(actor=rep, claim=claim, data=SALE)
        with pytest.raises(Conflict):
            services.claim_discard(actor=rep, claim=claim)
        other = services.claim_create(actor=rep, program=alpha.program, kind="sale", data=SALE)
        services.claim_discard(actor=rep, claim=other)
        assert not Claim.objects.filter(pk=other.pk).exists()


def test_a_rep_changes_only_their_own_claims_and_a_partner_admin_the_companys(alpha):
    claim = draft(alpha, role=Role.PARTNER_ADMIN)
    with tenant_scope(alpha.tenant):
        with pytest.raises(NotPermitted):
            services.claim_update(actor=alpha.member(Role.PARTNER_REP), claim=claim, data=SALE)
        mine = draft(alpha)
        services.claim_update(actor=alpha.member(Role.PARTNER_ADMIN), claim=mine, data=SALE)


def test_another_tenants_claim_is_not_found(worlds):
    alpha, bravo = worlds
    claim = draft(alpha)
    with tenant_scope(bravo.tenant):
        assert not Claim.objects.filter(pk=claim.pk).exists()
    with tenant_scope(bravo.tenant), pytest.raises(NotPermitted):
        services.claim_submit(actor=bravo.member(Role.PARTNER_REP), claim=claim)


def test_a_new_program_takes_the_claims_of_its_kind(alpha):
    spiff = ProgramFactory(tenant=alpha.tenant, kind="spiff")
    behaviour = ProgramFactory(tenant=alpha.tenant, kind="behaviour")
    assert spiff.claim_kinds == ["sale"]
    assert "sale" not in behaviour.claim_kinds
    assert "training" in behaviour.claim_kinds


def test_a_manager_sets_the_claims_a_program_takes_and_its_products(alpha):
    manager = alpha.member(Role.CHANNEL_MANAGER)
    with tenant_scope(alpha.tenant):
        program = program_update(
            actor=manager,
            program=alpha.program,
            claim_kinds=["training", "sale"],
            eligible_skus="SRV-4410, SRV-4420\nSRV-4410",
        )
        assert program.claim_kinds == ["sale", "training"]
        assert program.eligible_skus == ["SRV-4410", "SRV-4420"]
        with pytest.raises(ApplicationError) as caught:
            program_update(actor=manager, program=program, claim_kinds=["sale", "raffle"])
        assert "claim_kinds" in caught.value.errors
        with pytest.raises(ApplicationError) as caught:
            program_update(actor=manager, program=program, eligible_skus=["ok", "bad\x00sku"])
        assert "eligible_skus" in caught.value.errors
