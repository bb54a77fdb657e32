"""Rules and validation: expressions checked when saved; every built-in check fires on data made
to trip it and stays quiet on a clean claim; a batch is decided in one pass, rule by rule, and a
second run changes nothing; a submitted claim is decided by the real worker."""

from __future__ import annotations

import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from incentives.claims import rules, services
from incentives.claims.models import CheckResult, Claim, ClaimCheck, ClaimSerial, ClaimStatus
from incentives.claims.validation import validate_claims
from tenancy.context import tenant_scope
from tenancy.errors import ApplicationError
from tenancy.models import AuditEvent, DomainEvent
from tenancy.roles import Role
from tests.conftest import build_world, client_for
from tests.factories.tenancy import MembershipFactory


def sale(**changes) -> dict:
    day = timezone.localdate() - timedelta(days=5)
    body = {
        "invoice_number": "INV-1",
        "occurred_on": day.isoformat(),
        "sku": "SRV-1",
        "quantity": 1,
        "unit_price": "1000.00",
        "amount": "1000.00",
        "currency": "USD",
        "end_customer": "Globex",
    }
    return {**body, **changes}


def with_rules(world, keys=None, **params):
    """The program's built-in checks, tuned by `params` ({builtin key: {name: value}})."""
    with tenant_scope(world.tenant):
        made = services.rules_add_builtins(
            actor=world.member(Role.VENDOR_ADMIN), program=world.program, keys=keys
        )
        for rule in made:
            if rule.builtin in params:
                rule.params = {**rule.params, **params[rule.builtin]}
                rule.save()
    return made


def submitted(world, body, *, rep=None) -> Claim:
    rep = rep or world.member(Role.PARTNER_REP)
    with tenant_scope(world.tenant):
        claim = services.claim_create(actor=rep, program=world.program, kind="sale", data=body)
        return services.claim_submit(actor=rep, claim=claim)


def decide(world, *claims) -> list[Claim]:
    with tenant_scope(world.tenant):
        validate_claims([c.pk for c in claims])
        return [Claim.objects.get(pk=c.pk) for c in claims]


def trace(world, claim) -> dict[str, str]:
    with tenant_scope(world.tenant):
        return dict(ClaimCheck.objects.filter(claim=claim).values_list("rule_name", "result"))


def fired(world, claim) -> set[str]:
    return {name for name, result in trace(world, claim).items() if result != "passed"}


# Expressions


@pytest.mark.parametrize(
    ("expression", "words"),
    [
        ("claim.amount >", "does not parse"),
        ("", "Write the rule"),
        ("user.is_admin", "reads 'user'"),
        ("claim.amount > 1.0\x00", "NUL"),
        ("x" * 2001, "longer than 2000"),
    ],
)
def test_a_bad_expression_is_refused_on_its_field(expression, words):
    with pytest.raises(ApplicationError) as caught:
        rules.compiled(expression)
    assert "expression" in caught.value.errors
    assert words in caught.value.message


def test_every_builtin_compiles_and_reads_only_known_names():
    for builtin in rules.BUILTINS.values():
        rules.compiled(builtin.expression)


def test_an_expression_that_cannot_be_evaluated_flags_with_the_reason():
    verdict = rules.check("claim.nope > 1.0", "reject", "x", {"claim": {}})
    assert verdict.result == CheckResult.ERROR
    assert verdict.message.startswith("The rule could not be checked")
    assert rules.check("1.0", "reject", "x", {}).result == CheckResult.ERROR


def test_a_custom_rule_is_checked_when_saved(alpha):
    with tenant_scope(alpha.tenant):
        with pytest.raises(ApplicationError) as caught:
            services.rule_create(
                actor=alpha.member(Role.CHANNEL_MANAGER),
                program=alpha.program,
                name="Big deals",
                expression="claim.amount <",
                outcome="flag",
                message="Big deal: a reviewer looks.",
            )
        assert "expression" in caught.value.errors
        rule = services.rule_create(
            actor=alpha.member(Role.CHANNEL_MANAGER),
            program=alpha.program,
            name="Big deals",
            expression="claim.amount < params.limit",
            outcome="flag",
            message="Big deal: a reviewer looks.",
            params={"limit": 20000.0},
        )
    assert rule.position == 0


# Built-in checks: quiet on a clean claim, each fires on its own crafted data


def test_a_clean_claim_passes_every_builtin_and_is_approved_with_its_trace(alpha):
    made = with_rules(alpha)
    claim = submitted(alpha, sale())
    (claim,) = decide(alpha, claim)
    assert claim.status == ClaimStatus.APPROVED, trace(alpha, claim)
    assert claim.decided_at is not None
    assert set(trace(alpha, claim).values()) == {"passed"}
    assert len(trace(alpha, claim)) == len(made) == len(rules.BUILTINS)
    with tenant_scope(alpha.tenant):
        actions = list(
            AuditEvent.objects.filter(entity="incentives.claim", entity_id=claim.pk)
            .order_by("at", "pk")
            .values_list("action", flat=True)
        )
        events = list(DomainEvent.objects.filter(aggregate_id=claim.pk).values_list("kind"))
    assert actions == ["submit", "validate", "pass"]
    assert events == [("claim.approved",)]


def test_a_duplicate_invoice_across_two_partners_is_flagged(alpha):
    with_rules(alpha, ["duplicate_invoice"])
    first = submitted(alpha, sale(invoice_number="INV-77"))
    decide(alpha, first)
    with tenant_scope(alpha.tenant):
        alpha.enrollment.__class__.objects.create(
            program=alpha.program, partner=alpha.other_partner, status="enrolled"
        )
    other_rep = MembershipFactory(
        tenant=alpha.tenant, role=Role.PARTNER_REP, partner=alpha.other_partner
    )
    second = submitted(alpha, sale(invoice_number="INV-77"), rep=other_rep)
    clean = submitted(alpha, sale(invoice_number="INV-78"), rep=other_rep)
    second, clean = decide(alpha, second, clean)
    assert second.status == ClaimStatus.NEEDS_REVIEW
    assert fired(alpha, second) == {"No duplicate invoice"}
    assert clean.status == ClaimStatus.APPROVED


def test_a_duplicate_serial_is_flagged(alpha):
    with_rules(alpha, ["duplicate_serial"])
    first = submitted(alpha, sale(serial_numbers="SN-1, SN-2"))
    decide(alpha, first)
    again = submitted(alpha, sale(invoice_number="INV-2", serial_numbers="SN-2"))
    fresh = submitted(alpha, sale(invoice_number="INV-3", serial_numbers="SN-3"))
    again, fresh = decide(alpha, again, fresh)
    assert again.status == ClaimStatus.NEEDS_REVIEW
    assert fresh.status == ClaimStatus.APPROVED


def test_velocity_flags_a_rep_over_the_days_limit(alpha):
    with_rules(alpha, ["velocity"], velocity={"per_day": 2})
    two = [submitted(alpha, sale(invoice_number=f"INV-{n}")) for n in range(2)]
    assert {c.status for c in decide(alpha, *two)} == {ClaimStatus.APPROVED}
    third = submitted(alpha, sale(invoice_number="INV-9"))
    (third,) = decide(alpha, third)
    assert third.status == ClaimStatus.NEEDS_REVIEW
    assert fired(alpha, third) == {"Claims a rep makes a day"}


def test_an_amount_far_above_the_partners_history_is_flagged(alpha):
    with_rules(alpha, ["amount_outlier"])
    history = [
        submitted(alpha, sale(invoice_number=f"H-{n}", unit_price=p, amount=p))
        for n, p in enumerate(["900.00", "1000.00", "1100.00", "950.00", "1050.00"])
    ]
    decide(alpha, *history)
    usual = submitted(alpha, sale(invoice_number="U-1", unit_price="1080.00", amount="1080.00"))
    huge = submitted(alpha, sale(invoice_number="U-2", unit_price="50000.00", amount="50000.00"))
    usual, huge = decide(alpha, usual, huge)
    assert usual.status == ClaimStatus.APPROVED
    assert huge.status == ClaimStatus.NEEDS_REVIEW
    assert fired(alpha, huge) == {"Amount like the partner's others"}


def test_the_partner_cap_flags_the_claim_that_passes_it(alpha):
    with_rules(alpha, ["partner_cap"], partner_cap={"cap": 2500.0})
    first = submitted(alpha, sale(invoice_number="C-1"))
    second = submitted(alpha, sale(invoice_number="C-2"))
    assert decide(alpha, first)[0].status == ClaimStatus.APPROVED
    assert decide(alpha, second)[0].status == ClaimStatus.APPROVED  # 2,000 of 2,500
    third = submitted(alpha, sale(invoice_number="C-3"))
    assert decide(alpha, third)[0].status == ClaimStatus.NEEDS_REVIEW


def test_a_partner_not_enrolled_is_rejected_with_the_message(alpha):
    with_rules(alpha, ["partner_enrolled"])
    outsider = MembershipFactory(
        tenant=alpha.tenant, role=Role.PARTNER_REP, partner=alpha.other_partner
    )
    claim = submitted(alpha, sale(), rep=outsider)
    (claim,) = decide(alpha, claim)
    assert claim.status == ClaimStatus.REJECTED
    with tenant_scope(alpha.tenant):
        check = ClaimCheck.objects.get(claim=claim)
    assert check.message == "Your company is not enrolled in this program."


def test_dates_products_and_minimum_reject(alpha):
    with_rules(alpha, ["in_period", "in_claim_window", "eligible_product", "minimum_amount"])
    with tenant_scope(alpha.tenant):
        alpha.program.eligible_skus = ["SRV-1"]
        alpha.program.save()
    early = submitted(alpha, sale(invoice_number="D-1", occurred_on="2025-12-31"))
    late = submitted(
        alpha,
        sale(invoice_number="D-2", occurred_on=(timezone.localdate() - timedelta(60)).isoformat()),
    )
    other_product = submitted(alpha, sale(invoice_number="D-3", sku="HW-9"))
    small = submitted(alpha, sale(invoice_number="D-4", unit_price="50.00", amount="50.00"))
    early, late, other_product, small = decide(alpha, early, late, other_product, small)
    assert {c.status for c in (early, late, other_product, small)} == {ClaimStatus.REJECTED}
    assert "Inside the program period" in fired(alpha, early)
    assert fired(alpha, late) == {"Inside the claim window"}
    assert fired(alpha, other_product) == {"Eligible product"}
    assert fired(alpha, small) == {"Minimum amount"}


# The batch


def test_a_second_run_over_the_same_claims_changes_nothing(alpha):
    with_rules(alpha)
    claims = [submitted(alpha, sale(invoice_number=f"R-{n}")) for n in range(3)]
    decide(alpha, *claims)
    with tenant_scope(alpha.tenant):
        checks = ClaimCheck.objects.count()
        assert validate_claims([c.pk for c in claims]) == {"pass": 0, "fail": 0, "flag": 0}
        assert ClaimCheck.objects.count() == checks


def test_a_batch_is_decided_in_a_fixed_number_of_statements(alpha, django_assert_max_num_queries):
    with_rules(alpha)
    small = [
        submitted(alpha, sale(invoice_number=f"S-{n}", serial_numbers=f"Q{n}")) for n in range(2)
    ]
    big = [
        submitted(alpha, sale(invoice_number=f"B-{n}", serial_numbers=f"P{n}")) for n in range(12)
    ]
    # The same statements whatever the batch's size: 21 (set-based facts, bulk writes).
    with tenant_scope(alpha.tenant), django_assert_max_num_queries(21):
        validate_claims([c.pk for c in small])
    with tenant_scope(alpha.tenant), django_assert_max_num_queries(21):
        validate_claims([c.pk for c in big])


# The real worker


@pytest.mark.worker
def test_a_submitted_claim_is_decided_by_the_worker(transactional_db, celery_worker):
    alpha = build_world("alpha")
    with_rules(alpha)
    claim = submitted(alpha, sale(serial_numbers="SN-W1"))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with tenant_scope(alpha.tenant):
            claim = Claim.objects.get(pk=claim.pk)
        if claim.status != ClaimStatus.SUBMITTED:
            break
        time.sleep(0.2)
    else:
        pytest.fail(celery_worker.log_text())
    assert claim.status == ClaimStatus.APPROVED, trace(alpha, claim)
    assert len(trace(alpha, claim)) == len(rules.BUILTINS)
    with tenant_scope(alpha.tenant):
        assert ClaimSerial.objects.filter(claim=claim).count() == 1
    assert claim.amount == Decimal("1000.00")


def test_one_claims_context_serves_every_rule_with_that_rules_own_params():
    context = rules.evaluation_context({"claim": {"kind": "sale", "amount": 150.0}})
    minimum = "claim.amount >= params.minimum"
    assert rules.check(minimum, "reject", "m", context, {"minimum": 100.0}).result == "passed"
    assert rules.check(minimum, "reject", "m", context, {"minimum": 200.0}).result == "rejected"
    assert rules.check(minimum, "reject", "m", context, {}).result == "error"


# The rule editor's check


RULE_TRY = "/api/v1/t/alpha/claim-rules/try/"


def test_the_editor_tries_a_rule_on_the_sample_claim_or_on_changed_fields(alpha):
    manager = client_for(alpha.user(Role.CHANNEL_MANAGER))
    body = {"expression": "claim.amount >= params.minimum", "params": {"minimum": 100.0}}
    assert manager.post(RULE_TRY, body, format="json").json() == {
        "result": "passed",
        "message": "",
    }
    small = {
        **body,
        "outcome": "reject",
        "message": "Too small.",
        "sample": {"claim": {"amount": 50.0}},
    }
    assert manager.post(RULE_TRY, small, format="json").json() == {
        "result": "rejected",
        "message": "Too small.",
    }


def test_the_editor_names_syntax_and_type_problems(alpha):
    manager = client_for(alpha.user(Role.CHANNEL_MANAGER))
    broken = manager.post(RULE_TRY, {"expression": "claim.amount >"}, format="json")
    assert broken.status_code == 400
    assert "expression" in broken.json()["errors"]
    mixed = manager.post(RULE_TRY, {"expression": "claim.amount + 1 > 0.0"}, format="json").json()
    assert mixed["result"] == "error"
    assert "does not coerce between types" in mixed["message"]
    unknown = manager.post(RULE_TRY, {"expression": "true", "sample": {"user": {}}}, format="json")
    assert unknown.status_code == 400
    assert "sample" in unknown.json()["errors"]


def test_partner_people_do_not_use_the_rule_editor(alpha):
    rep = client_for(alpha.user(Role.PARTNER_REP))
    assert rep.post(RULE_TRY, {"expression": "true"}, format="json").status_code == 403
