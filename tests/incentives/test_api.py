"""Programs and enrollments through the API."""

from __future__ import annotations

import pytest

from incentives.models import Enrollment
from incentives.services.invite_jobs import invite_job_run
from partners.models import Partner
from tenancy.context import tenant_scope
from tenancy.roles import Role
from tests.conftest import client_for
from tests.factories.incentives import ProgramFactory, ProgramTermsFactory

URL = "/api/v1/t/alpha/programs/"


def test_staff_list_programs_with_live_figures(alpha):
    response = client_for(alpha.user(Role.CLAIMS_REVIEWER)).get(URL)
    assert response.status_code == 200
    [program] = response.json()["results"]
    assert program["budget"] == "50000.00"
    assert program["current_terms_version"] == 1
    assert program["figures"] == {
        "eligible": 2,
        "enrolled": 1,
        "required": 0,
        "required_enrolled": 0,
        "enrollment_rate": 0.5,
        "required_rate": None,
    }


def test_partner_people_see_open_programs_without_figures(alpha):
    response = client_for(alpha.user(Role.PARTNER_REP)).get(URL)
    [program] = response.json()["results"]
    assert program["figures"] is None


def test_the_list_answers_each_parameter_and_caller_with_its_own_rows(worlds):
    alpha, _ = worlds
    ProgramFactory(tenant=alpha.tenant, name="Alpha rebate draft", kind="rebate", status="draft")
    staff = client_for(alpha.user(Role.CHANNEL_MANAGER))
    partner = client_for(alpha.user(Role.PARTNER_ADMIN))

    def names(client, query: str = "") -> list[str]:
        return [row["name"] for row in client.get(f"{URL}{query}").json()["results"]]

    for _ in range(2):  # the second round reads the statements kept from the first
        assert sorted(names(staff)) == ["Alpha Q3 SPIFF", "Alpha rebate draft"]
        assert names(staff, "?status=draft") == ["Alpha rebate draft"]
        assert names(staff, "?kind=spiff&q=q3") == ["Alpha Q3 SPIFF"]
        assert names(staff, "?status=draft&kind=spiff") == []
        [row] = partner.get(URL).json()["results"]  # not the draft, and no figures
        assert (row["name"], row["figures"]) == ("Alpha Q3 SPIFF", None)
        assert staff.get(f"{URL}?status=nonsense").status_code == 400


def test_create_update_transition_and_terms(alpha):
    client = client_for(alpha.user(Role.CHANNEL_MANAGER))
    created = client.post(
        URL,
        {
            "name": "Gold rebate",
            "kind": "rebate",
            "starts_on": "2026-10-01",
            "ends_on": "2026-12-31",
            "budget": "1000.50",
            "enrollment_mode": "invitation",
            "eligibility": {"tiers": [alpha.tier.pk]},
        },
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert (body["status"], body["currency"], body["budget"]) == ("draft", "USD", "1000.50")
    detail = f"{URL}{body['id']}/"
    refused = client.post(f"{detail}transition/", {"action": "activate"})
    assert refused.status_code == 400
    assert refused.json()["errors"] == {
        "terms": ["Publish the program's terms before it opens to partners."]
    }
    assert client.post(f"{detail}terms/", {"body": "## Terms"}).json()["version"] == 1
    active = client.post(f"{detail}transition/", {"action": "activate"}).json()
    assert active["status"] == "active"
    locked = client.patch(detail, {"kind": "spiff"})
    assert locked.status_code == 400
    assert "kind" in locked.json()["errors"]
    queued = client.post(f"{detail}invite/", {})
    assert queued.status_code == 202
    job = queued.json()
    assert (job["status"], job["total"], job["done"]) == ("pending", 1, 0)
    assert job["url"] == queued["Location"] == f"http://testserver{detail}invite-job/"
    with tenant_scope(alpha.tenant):
        invite_job_run(job_id=job["id"], seconds=60)  # the worker's part, once the request commits
    progress = client.get(job["url"]).json()
    assert (progress["status"], progress["done"], progress["invited"]) == ("done", 1, 1)
    assert (progress["unchanged"], progress["error_count"], progress["errors"]) == (0, 0, [])


def test_bad_program_input_names_each_field(alpha):
    response = client_for(alpha.user(Role.VENDOR_ADMIN)).post(
        URL, {"name": "x", "kind": "bribe", "starts_on": "soon", "budget": "-5"}
    )
    assert response.status_code == 400
    assert {"kind", "starts_on", "budget", "ends_on"} <= set(response.json()["errors"])


def test_rep_cannot_edit_programs_or_enroll(alpha):
    client = client_for(alpha.user(Role.PARTNER_REP))
    detail = f"{URL}{alpha.program.pk}/"
    assert client.patch(detail, {"name": "Mine"}).status_code == 403
    assert client.post(f"{detail}enroll/", {"terms_version": 1}).status_code == 403
    assert client.post(URL, {"name": "x"}).status_code == 403


def test_partner_admin_enrolls_through_the_api_and_ip_is_recorded(alpha):
    program = ProgramFactory(tenant=alpha.tenant, name="Open program")
    ProgramTermsFactory(program=program)
    client = client_for(alpha.user(Role.PARTNER_ADMIN))
    response = client.post(
        f"{URL}{program.pk}/enroll/", {"terms_version": 1}, REMOTE_ADDR="198.51.100.7"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["accepted_from"] == "198.51.100.7"
    stale = client.post(f"{URL}{program.pk}/enroll/", {"terms_version": 9})
    assert stale.json()["code"] == "stale_terms"
    assert client.post(f"{URL}{program.pk}/withdraw/").json()["status"] == "withdrawn"


def test_enrollment_list_filters_and_partner_scope(alpha):
    other = ProgramFactory(tenant=alpha.tenant)
    with tenant_scope(alpha.tenant):
        Enrollment.objects.create(program=other, partner=alpha.other_partner, status="invited")
    staff = client_for(alpha.user(Role.CHANNEL_MANAGER))
    assert staff.get("/api/v1/t/alpha/enrollments/").json()["count"] == 2
    assert staff.get("/api/v1/t/alpha/enrollments/?status=invited").json()["count"] == 1
    assert staff.get(f"/api/v1/t/alpha/enrollments/?program={other.pk}").json()["count"] == 1
    rep = client_for(alpha.user(Role.PARTNER_REP))
    [mine] = rep.get("/api/v1/t/alpha/enrollments/").json()["results"]
    assert mine["partner"] == alpha.partner.pk


@pytest.mark.parametrize(("programs", "partners"), [(2, 10), (40, 1000)])
def test_program_list_query_count_is_fixed(
    alpha, django_assert_max_num_queries, programs, partners
):
    with tenant_scope(alpha.tenant):
        Partner.objects.bulk_create(
            [Partner(tenant=alpha.tenant, name=f"P{i}", type="var") for i in range(partners)]
        )
    for _ in range(programs):
        ProgramFactory(tenant=alpha.tenant, eligibility={"types": ["var"]})
    client = client_for(alpha.user(Role.CHANNEL_MANAGER))
    # 8 for the two scopes inside the test transaction, the membership, then count, page and
    # the three figure statements.
    with django_assert_max_num_queries(14):
        response = client.get(f"{URL}?page_size=50")
    assert response.json()["count"] == programs + 1
    eligible = {row["figures"]["eligible"] for row in response.json()["results"]}
    assert eligible == {partners, partners + 2}  # VAR-only programs; the open one counts all
