"""The claims API: a rep's draft, its fields' errors by name, submission, a reviewer's decision
and one appeal; who sees which claims; a fixed number of queries for the list."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction

from incentives.claims.models import Claim, ClaimStatus
from incentives.claims.states import CLAIM_STATES
from tenancy.context import tenant_scope
from tenancy.roles import Role
from tenancy.transitions import transition
from tests.conftest import build_world, client_for
from tests.factories.tenancy import MembershipFactory
from tests.incentives.test_claims import SALE

CLAIMS = "/api/v1/t/alpha/claims/"


def create(client, world, **fields):
    body = {"program": world.program.pk, "type": "sale", "fields": {**SALE, **fields}}
    return client.post(CLAIMS, body, format="json")


def test_a_rep_makes_submits_and_reads_a_claim(alpha):
    rep = client_for(alpha.user(Role.PARTNER_REP))
    made = create(rep, alpha)
    assert made.status_code == 201, made.json()
    claim = made.json()
    assert (claim["status"], claim["type"], claim["amount"]) == ("draft", "sale", "5000.00")
    assert claim["serial_numbers"] == ["SN-1", "SN-2"]
    assert claim["actions"] == ["edit", "discard", "submit"]
    changed = rep.patch(
        f"{CLAIMS}{claim['id']}/", {"fields": {**SALE, "sku": "SRV-9"}}, format="json"
    )
    assert changed.json()["sku"] == "SRV-9"
    sent = rep.post(f"{CLAIMS}{claim['id']}/submit/")
    assert sent.status_code == 200
    assert sent.json()["status"] == "submitted"
    again = rep.post(f"{CLAIMS}{claim['id']}/submit/")
    assert again.status_code == 409


def test_field_problems_are_400s_naming_each_field_in_the_body(alpha):
    rep = client_for(alpha.user(Role.PARTNER_REP))
    response = create(rep, alpha, quantity="lots", currency="\x00", colour="red")
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert {"fields.quantity", "fields.currency", "fields.colour"} <= set(errors)
    with tenant_scope(alpha.tenant):
        assert Claim.objects.filter(invoice_number="INV-1001").count() == 0
    bad_type = rep.post(
        CLAIMS, {"program": alpha.program.pk, "type": "raffle", "fields": {}}, format="json"
    )
    assert bad_type.status_code == 400
    assert "type" in bad_type.json()["errors"]
    huge_program = rep.post(
        CLAIMS, {"program": 10**30, "type": "sale", "fields": SALE}, format="json"
    )
    assert huge_program.status_code == 400


def test_another_tenants_program_reads_as_missing(worlds):
    alpha, bravo = worlds
    rep = client_for(alpha.user(Role.PARTNER_REP))
    foreign = rep.post(
        CLAIMS, {"program": bravo.program.pk, "type": "sale", "fields": SALE}, format="json"
    )
    missing = rep.post(
        CLAIMS, {"program": 987654321, "type": "sale", "fields": SALE}, format="json"
    )
    assert foreign.status_code == missing.status_code == 404


def test_a_reviewer_decides_a_flagged_claim_and_the_rep_appeals_once(alpha):
    rep = client_for(alpha.user(Role.PARTNER_REP))
    claim_id = create(rep, alpha).json()["id"]
    rep.post(f"{CLAIMS}{claim_id}/submit/")
    with tenant_scope(alpha.tenant), transaction.atomic():  # what the rules would do
        for move in ("validate", "flag"):
            transition(Claim, machine=CLAIM_STATES, action=move, actor=None, pk=claim_id)
    reviewer = client_for(alpha.user(Role.CLAIMS_REVIEWER))
    assert reviewer.get(f"{CLAIMS}{claim_id}/").json()["actions"] == ["approve", "reject"]
    refused = reviewer.post(f"{CLAIMS}{claim_id}/decide/", {"approve": False}, format="json")
    assert refused.status_code == 400
    assert "note" in refused.json()["errors"]
    rejected = reviewer.post(
        f"{CLAIMS}{claim_id}/decide/", {"approve": False, "note": "No invoice."}, format="json"
    )
    assert rejected.json()["status"] == "rejected"
    assert rep.get(f"{CLAIMS}{claim_id}/").json()["actions"] == ["appeal"]
    appealed = rep.post(f"{CLAIMS}{claim_id}/appeal/", {"message": "Attached now."}, format="json")
    assert appealed.json()["status"] == "needs_review"
    assert (
        rep.post(f"{CLAIMS}{claim_id}/decide/", {"approve": True}, format="json").status_code == 403
    )
    approved = reviewer.post(f"{CLAIMS}{claim_id}/decide/", {"approve": True}, format="json")
    assert approved.json()["status"] == ClaimStatus.APPROVED


def test_a_rep_sees_their_own_a_partner_admin_the_companys_staff_all(alpha):
    other_rep = MembershipFactory(tenant=alpha.tenant, role=Role.PARTNER_REP, partner=alpha.partner)
    create(client_for(other_rep.user), alpha)
    mine = create(client_for(alpha.user(Role.PARTNER_REP)), alpha).json()["id"]

    def ids(role_or_user):
        user = role_or_user if not isinstance(role_or_user, str) else alpha.user(role_or_user)
        return {c["id"] for c in client_for(user).get(CLAIMS).json()["results"]}

    assert ids(Role.PARTNER_REP) == {alpha.claim.pk, mine}
    assert len(ids(Role.PARTNER_ADMIN)) == 3
    assert len(ids(Role.CLAIMS_REVIEWER)) == 3
    theirs = client_for(alpha.user(Role.PARTNER_REP)).get(f"{CLAIMS}{alpha.claim.pk + 1}/")
    assert theirs.status_code == 404


@pytest.mark.parametrize("count", [3, 30])
def test_the_list_reads_a_fixed_number_of_statements(alpha, count, django_assert_max_num_queries):
    rep = client_for(alpha.user(Role.PARTNER_REP))
    for n in range(count):
        create(rep, alpha, invoice_number=f"L-{n}")
    reviewer = client_for(alpha.user(Role.CLAIMS_REVIEWER))
    reviewer.get(CLAIMS)
    with django_assert_max_num_queries(3):
        response = reviewer.get(CLAIMS, {"status": "draft", "type": "sale"})
    assert response.json()["count"] == count + 1


# Idempotency-Key


def keyed(client, world, key, **fields):
    body = {"program": world.program.pk, "type": "sale", "fields": {**SALE, **fields}}
    return client.post(CLAIMS, body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def test_the_same_key_and_body_replay_the_first_answer(alpha):
    rep = client_for(alpha.user(Role.PARTNER_REP))
    first = keyed(rep, alpha, "retry-1")
    again = keyed(rep, alpha, "retry-1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    with tenant_scope(alpha.tenant):
        assert Claim.objects.filter(invoice_number="INV-1001").count() == 1


def test_the_same_key_with_another_body_is_a_422(alpha):
    rep = client_for(alpha.user(Role.PARTNER_REP))
    keyed(rep, alpha, "retry-2")
    other = keyed(rep, alpha, "retry-2", invoice_number="INV-2002")
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"


def test_a_refused_request_is_not_kept_and_a_bad_key_is_a_400(alpha):
    rep = client_for(alpha.user(Role.PARTNER_REP))
    assert keyed(rep, alpha, "retry-3", quantity="many").status_code == 400
    assert keyed(rep, alpha, "retry-3").status_code == 201  # runs: the 400 kept nothing
    bad = keyed(rep, alpha, "spaces are not allowed")
    assert bad.status_code == 400
    assert "Idempotency-Key" in bad.json()["errors"]


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_with_one_key_make_one_claim():
    alpha = build_world("alpha")
    user = alpha.user(Role.PARTNER_REP)
    barrier = threading.Barrier(4)
    answers = []

    def send():
        client = client_for(user)
        barrier.wait()
        answers.append(keyed(client, alpha, "burst-1").status_code)
        connection.close()

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [201] * 4
    with tenant_scope(alpha.tenant):
        assert Claim.objects.filter(invoice_number="INV-1001").count() == 1
