"""Enrollment import by CSV: vendor staff enroll many partners of one program on their behalf,
each row with its reason. It runs through the partner import's machinery (kind "enrollments"):
chunks on the bulk queue, good rows kept, each bad row reported with its reason, progress while
it runs, the result downloadable."""

from __future__ import annotations

import csv
import io
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from incentives.models import Enrollment, Program
from incentives.services.enrollment_imports import ENROLLMENTS_KIND, enrollment_import_start
from incentives.services.programs import terms_publish
from partners import csv_io
from partners.csv_io import partner_import_run
from partners.models import Partner, PartnerImport
from tenancy.context import tenant_scope
from tenancy.errors import ApplicationError, Conflict, NotPermitted
from tenancy.models import AuditEvent
from tenancy.roles import Role
from tests.conftest import build_world, client_for
from tests.factories.incentives import EnrollmentFactory, ProgramFactory, ProgramTermsFactory
from tests.worker import settle


@pytest.fixture
def program(alpha):
    program = ProgramFactory(
        tenant=alpha.tenant, name="Paper rebate", eligibility={"types": ["var"]}
    )
    ProgramTermsFactory(program=program, version=1)
    return program


def _partners(world, count: int, *, type_="var", prefix="CRM") -> list[Partner]:
    with tenant_scope(world.tenant):
        Partner.objects.bulk_create(
            [
                Partner(name=f"{prefix} Partner {n:04}", external_id=f"{prefix}-{n:04}", type=type_)
                for n in range(count)
            ]
        )
        return list(Partner.objects.filter(external_id__startswith=f"{prefix}-").order_by("pk"))


def start(world, program, text: str, *, role=Role.CHANNEL_MANAGER) -> PartnerImport:
    with tenant_scope(world.tenant):
        program = Program.objects.get(pk=program.pk)
        return enrollment_import_start(
            actor=world.member(role), program=program, file_name="paper.csv", data=text.encode()
        )


def run_to_end(world, job: PartnerImport) -> PartnerImport:
    with tenant_scope(world.tenant):
        for _ in range(job.total_rows + 2):
            job = partner_import_run(import_id=job.pk)
            if job.status in csv_io.FINISHED:
                return job
    raise AssertionError("the import did not finish")


def enrolled(world, program) -> dict[int, Enrollment]:
    with tenant_scope(world.tenant):
        return {
            e.partner_id: e
            for e in Enrollment.objects.filter(program=program, status="enrolled").select_related(
                "terms", "accepted_by"
            )
        }


def test_good_rows_are_enrolled_and_each_bad_row_reported_with_its_reason(worlds, program):
    alpha, bravo = worlds
    good, again, other = _partners(alpha, 3)
    [msp] = _partners(alpha, 1, type_="msp", prefix="MSP")
    with tenant_scope(alpha.tenant):
        EnrollmentFactory(program=program, partner=other, status="enrolled")
        EnrollmentFactory(program=program, partner=again, status="withdrawn")
    text = (
        "crm_id,reason\n"
        f"{good.external_id},Signed the paper form\n"  # 2: enrolled
        "NOPE-1,Signed\n"  # 3: unknown CRM id
        f"{msp.external_id},Signed\n"  # 4: not eligible
        f"{other.external_id},Signed\n"  # 5: already enrolled
        f"{again.external_id},\n"  # 6: empty reason
        f"{again.external_id},Came back on paper\n"  # 7: re-enrolled from withdrawn
        f"{good.external_id},Twice in the file\n"  # 8: enrolled by row 2
        f"{bravo.other_partner.external_id or 'BRAVO'},Other tenant\n"  # 9: unknown here
    )
    job = run_to_end(alpha, start(alpha, program, text))

    assert job.status == PartnerImport.Status.DONE
    assert (job.created_count, job.updated_count, job.error_count) == (1, 1, 6)
    assert [(e["row"], e["column"]) for e in job.errors] == [
        (3, "crm_id"),
        (4, "crm_id"),
        (5, "crm_id"),
        (6, "reason"),
        (8, "crm_id"),
        (9, "crm_id"),
    ]
    messages = [e["message"] for e in job.errors]
    assert messages[0] == "No partner has the CRM id 'NOPE-1'."
    assert "not eligible" in messages[1]
    assert "Type: VAR" in messages[1]
    assert messages[2] == f"{other.name} is already enrolled in this program."
    assert messages[3] == "Give the reason the partner is enrolled on its behalf."
    assert messages[4] == f"{good.name} is already enrolled in this program."
    found = enrolled(alpha, program)
    assert set(found) == {good.pk, again.pk, other.pk}
    assert (found[good.pk].on_behalf, found[good.pk].on_behalf_reason) == (
        True,
        "Signed the paper form",
    )
    assert found[good.pk].accepted_by == alpha.user(Role.CHANNEL_MANAGER)
    assert found[again.pk].terms.version == 1
    with tenant_scope(alpha.tenant):
        event = AuditEvent.objects.get(entity="incentives.enrollment", entity_id=found[good.pk].pk)
    assert event.action == "enrolled_on_behalf"
    assert event.note == f"on behalf: Signed the paper form (CSV import #{job.pk}, row 2)"


def test_partners_may_be_named_by_their_uplift_id(worlds, program):
    alpha, _ = worlds
    [first, second] = _partners(alpha, 2)
    text = f"partner_id,reason\n{first.pk},Paper\n{second.pk}x,Paper\n999999999,Paper\n"
    job = run_to_end(alpha, start(alpha, program, text))
    assert job.created_count == 1
    assert [(e["row"], e["column"]) for e in job.errors] == [(3, "partner_id"), (4, "partner_id")]
    assert "whole number" in job.errors[0]["message"]
    assert job.errors[1]["message"] == "No partner has the id 999999999."
    assert set(enrolled(alpha, program)) == {first.pk}


@pytest.mark.parametrize(
    ("header", "named"),
    [
        ("crm_id,name", "reason"),
        ("reason,name", "crm_id or partner_id"),
        ("crm_id,reason,reason", "named twice"),
        ("", "no header"),
    ],
)
def test_a_header_without_the_needed_columns_is_refused_at_the_upload(
    worlds, program, header, named
):
    alpha, _ = worlds
    with pytest.raises(ApplicationError) as error:
        start(alpha, program, f"{header}\nX,Y\n")
    assert list(error.value.errors) == ["file"]
    assert named in error.value.message


def test_other_columns_are_ignored(worlds, program):
    alpha, _ = worlds
    [partner] = _partners(alpha, 1)
    job = run_to_end(
        alpha,
        start(alpha, program, f"Name,CRM ID,Reason\n{partner.name},{partner.external_id},Ok\n"),
    )
    assert (job.created_count, job.error_count) == (1, 0)


@pytest.mark.parametrize("role", [Role.CLAIMS_REVIEWER, Role.PARTNER_ADMIN, Role.PARTNER_REP])
def test_only_program_editors_import_enrollments(worlds, program, role):
    alpha, _ = worlds
    with pytest.raises(NotPermitted):
        start(alpha, program, "crm_id,reason\nX,Y\n", role=role)


def test_a_program_not_taking_enrollments_refuses_the_upload(worlds):
    alpha, _ = worlds
    paused = ProgramFactory(tenant=alpha.tenant, status="paused")
    ProgramTermsFactory(program=paused)
    with pytest.raises(Conflict):
        start(alpha, paused, "crm_id,reason\nX,Y\n")


def test_terms_published_after_the_upload_refuse_the_rows_not_yet_imported(worlds, program):
    alpha, _ = worlds
    [partner] = _partners(alpha, 1)
    job = start(alpha, program, f"crm_id,reason\n{partner.external_id},Paper\n")
    with tenant_scope(alpha.tenant):
        terms_publish(actor=alpha.member(Role.VENDOR_ADMIN), program=program, body="v2")
    job = run_to_end(alpha, job)
    assert (job.created_count, job.error_count) == (0, 1)
    assert "version 2 was published after the upload" in job.errors[0]["message"]


def test_a_chunk_takes_the_same_few_queries_for_10_or_500_rows(worlds, program, monkeypatch):
    alpha, _ = worlds
    monkeypatch.setattr(csv_io, "CHUNK_ROWS", 500)
    partners = _partners(alpha, 510)
    counts = []
    for chunk in (partners[:10], partners[10:510]):
        text = "crm_id,reason\n" + "".join(f"{p.external_id},Paper\n" for p in chunk)
        job = start(alpha, program, text)
        with tenant_scope(alpha.tenant), CaptureQueriesContext(connection) as captured:
            job = partner_import_run(import_id=job.pk)
        assert (job.status, job.created_count) == ("done", len(chunk))
        counts.append(len(captured))
    assert counts[0] == counts[1]
    assert counts[1] <= 16


def test_the_partner_import_pages_and_api_do_not_list_enrollment_imports(worlds, program):
    alpha, _ = worlds
    job = start(alpha, program, "crm_id,reason\nX,Y\n")
    client = client_for(alpha.user(Role.VENDOR_ADMIN))
    listed = [row["id"] for row in client.get("/api/v1/t/alpha/partner-imports/").json()["results"]]
    assert job.pk not in listed
    assert client.get(f"/api/v1/t/alpha/partner-imports/{job.pk}/").status_code == 404


# Pages


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _upload(text: str, name: str = "paper.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode(), content_type="text/csv")


def test_upload_through_the_program_page_then_progress_and_result(worlds, program):
    alpha, _ = worlds
    [partner] = _partners(alpha, 1)
    client = _client(alpha.user(Role.CHANNEL_MANAGER))
    detail = client.get(reverse("program_detail", args=["alpha", program.pk])).content.decode()
    page_url = reverse("program_enrollment_import", args=["alpha", program.pk])
    assert page_url in detail
    page = client.get(page_url)
    assert page.status_code == 200
    assert "crm_id" in page.content.decode()
    response = client.post(
        page_url, {"file": _upload(f"crm_id,reason\n{partner.external_id},Paper\nNOPE,Paper\n")}
    )
    assert response.status_code == 302
    job_id = int(response["Location"].rstrip("/").rsplit("/", 1)[1])
    progress = client.get(response["Location"]).content.decode()
    assert 'hx-trigger="every 1s"' in progress  # polled while it runs
    with tenant_scope(alpha.tenant):
        run_to_end(alpha, PartnerImport.objects.get(pk=job_id))
    done = client.get(response["Location"]).content.decode()
    assert 'hx-trigger="every 1s"' not in done
    assert "No partner has the CRM id &#x27;NOPE&#x27;." in done
    result_url = reverse("program_enrollment_import_result", args=["alpha", program.pk, job_id])
    assert result_url in done
    result = client.get(result_url)
    assert result["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(result.content.decode().removeprefix("\ufeff"))))
    assert rows == [
        {
            "row": "2",
            "crm_id": partner.external_id,
            "partner_id": "",
            "outcome": "enrolled",
            "column": "",
            "message": "",
        },
        {
            "row": "3",
            "crm_id": "NOPE",
            "partner_id": "",
            "outcome": "not enrolled",
            "column": "crm_id",
            "message": "No partner has the CRM id 'NOPE'.",
        },
    ]


def test_the_upload_page_shows_a_refused_file_on_its_field(worlds, program):
    alpha, _ = worlds
    client = _client(alpha.user(Role.CHANNEL_MANAGER))
    url = reverse("program_enrollment_import", args=["alpha", program.pk])
    response = client.post(url, {"file": _upload("crm_id\nX\n")})
    assert response.status_code == 200
    assert "Missing required columns: reason" in response.content.decode()


def test_who_may_not_import_cannot_upload_and_other_tenants_get_404(worlds, program):
    alpha, bravo = worlds
    url = reverse("program_enrollment_import", args=["alpha", program.pk])
    reviewer = _client(alpha.user(Role.CLAIMS_REVIEWER))
    assert reviewer.post(url, {"file": _upload("crm_id,reason\nX,Y\n")}).status_code == 403
    job = start(alpha, program, "crm_id,reason\nX,Y\n")
    foreign = _client(bravo.user(Role.VENDOR_ADMIN))
    for name, args in (
        ("program_enrollment_import", [program.pk]),
        ("program_enrollment_import_detail", [program.pk, job.pk]),
        ("program_enrollment_import_result", [program.pk, job.pk]),
    ):
        assert foreign.get(reverse(name, args=["bravo", *args])).status_code == 404
    # An enrollment import is not found under another program, nor a partner import here.
    other = ProgramFactory(tenant=alpha.tenant)
    cam = _client(alpha.user(Role.CHANNEL_MANAGER))
    detail = "program_enrollment_import_detail"
    assert cam.get(reverse(detail, args=["alpha", other.pk, job.pk])).status_code == 404
    partner_job = alpha.partner_import.pk
    assert cam.get(reverse(detail, args=["alpha", program.pk, partner_job])).status_code == 404


@pytest.mark.parametrize("errors", [3, 600])
def test_import_pages_make_a_fixed_number_of_queries(
    worlds, program, django_assert_max_num_queries, errors
):
    alpha, _ = worlds
    text = "crm_id,reason\n" + "".join(f"NOPE-{n},Paper\n" for n in range(errors))
    for _ in range(3 if errors == 3 else 12):
        job = start(alpha, program, text)
    job = run_to_end(alpha, job)
    client = _client(alpha.user(Role.CHANNEL_MANAGER))
    with django_assert_max_num_queries(12):
        page = client.get(reverse("program_enrollment_import", args=["alpha", program.pk]))
    assert page.status_code == 200
    with django_assert_max_num_queries(12):
        page = client.get(
            reverse("program_enrollment_import_detail", args=["alpha", program.pk, job.pk])
        )
    assert page.content.decode().count("<code>crm_id</code>") == errors
    with django_assert_max_num_queries(12):
        result = client.get(
            reverse("program_enrollment_import_result", args=["alpha", program.pk, job.pk])
        )
    assert result.content.decode().count("NOPE-") == errors * 2


# API


def _api(program) -> str:
    return f"/api/v1/t/alpha/programs/{program.pk}/enrollment-imports/"


def test_api_uploads_lists_and_shows_enrollment_imports(worlds, program):
    alpha, _ = worlds
    [partner] = _partners(alpha, 1)
    client = client_for(alpha.user(Role.CHANNEL_MANAGER))
    text = f"crm_id,reason\n{partner.external_id},Paper\n"
    response = client.post(_api(program), {"file": _upload(text)}, format="multipart")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["status"], body["total_rows"]) == ("pending", 1)
    assert [row["id"] for row in client.get(_api(program)).json()] == [body["id"]]
    detail = client.get(f"{_api(program)}{body['id']}/")
    assert detail.status_code == 200
    assert detail.json()["id"] == body["id"]


def test_api_refuses_a_bad_file_and_who_may_not_import(worlds, program):
    alpha, bravo = worlds
    client = client_for(alpha.user(Role.CHANNEL_MANAGER))
    bad = client.post(_api(program), {"file": _upload("crm_id\nX\n")}, format="multipart")
    assert bad.status_code == 400
    assert list(bad.json()["errors"]) == ["file"]
    reviewer = client_for(alpha.user(Role.CLAIMS_REVIEWER))
    upload = {"file": _upload("crm_id,reason\nX,Y\n")}
    assert reviewer.post(_api(program), upload, format="multipart").status_code == 403
    job = start(alpha, program, "crm_id,reason\nX,Y\n")
    foreign = client_for(bravo.user(Role.VENDOR_ADMIN))
    assert foreign.get(_api(program).replace("alpha", "bravo")).status_code == 404
    foreign_detail = f"{_api(program)}{job.pk}/".replace("alpha", "bravo")
    assert foreign_detail
    assert foreign.get(foreign_detail).status_code == 404


# The real worker


@pytest.mark.worker
def test_upload_through_the_page_is_imported_by_the_worker_keeping_the_good_rows(
    transactional_db, celery_worker, monkeypatch
):
    alpha = build_world("alpha")
    build_world("bravo")
    program = ProgramFactory(tenant=alpha.tenant, name="Paper", eligibility={"types": ["var"]})
    ProgramTermsFactory(program=program)
    partners = _partners(alpha, 5)
    [msp] = _partners(alpha, 1, type_="msp", prefix="MSP")
    with tenant_scope(alpha.tenant):
        EnrollmentFactory(program=program, partner=partners[4], status="enrolled")
    text = "crm_id,reason\n" + "".join(f"{p.external_id},Paper {p.pk}\n" for p in partners[:4])
    text += f"GHOST,Paper\n{msp.external_id},Paper\n{partners[4].external_id},Paper\n"
    text += f"{partners[0].external_id},\n"
    client = Client()
    client.force_login(alpha.user(Role.CHANNEL_MANAGER))
    url = reverse("program_enrollment_import", args=["alpha", program.pk])
    response = client.post(url, {"file": _upload(text)})
    assert response.status_code == 302
    job_id = int(response["Location"].rstrip("/").rsplit("/", 1)[1])

    deadline = time.monotonic() + 60
    while True:
        with tenant_scope(alpha.tenant):
            job = PartnerImport.objects.get(pk=job_id)
        if job.status in csv_io.FINISHED or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    settle(alpha.tenant.pk)

    assert job.kind == ENROLLMENTS_KIND
    assert job.status == PartnerImport.Status.DONE, celery_worker.log_text()
    assert (job.created_count, job.error_count, job.processed_rows) == (4, 4, 8)
    assert [(e["row"], e["column"]) for e in job.errors] == [
        (6, "crm_id"),
        (7, "crm_id"),
        (8, "crm_id"),
        (9, "crm_id"),
        (9, "reason"),
    ]
    assert set(enrolled(alpha, program)) == {p.pk for p in partners}


@pytest.mark.django_db(transaction=True, databases=["default", "unscoped"])
def test_the_partner_import_sweeper_requeues_an_enrollment_import_whose_message_was_lost(
    monkeypatch,
):
    from datetime import timedelta

    from django.utils import timezone

    from partners.tasks import partner_import_run_task, partner_imports_sweep_task

    alpha = build_world("alpha")
    build_world("bravo")
    program = ProgramFactory(tenant=alpha.tenant)
    ProgramTermsFactory(program=program)
    sent = []
    monkeypatch.setattr(partner_import_run_task, "apply_async", lambda kwargs: sent.append(kwargs))
    lost = start(alpha, program, "crm_id,reason\nX,Y\n")
    with tenant_scope(alpha.tenant):
        PartnerImport.objects.filter(pk=lost.pk).update(
            created_at=timezone.now() - timedelta(minutes=10),
            heartbeat_at=timezone.now() - timedelta(minutes=10),
        )
    sent.clear()
    assert partner_imports_sweep_task() == 1
    assert sent == [{"tenant_id": alpha.tenant.pk, "import_id": lost.pk}]


@pytest.mark.parametrize("imports", [1, 15])
def test_api_list_of_enrollment_imports_makes_a_fixed_number_of_queries(
    worlds, program, django_assert_max_num_queries, imports
):
    alpha, _ = worlds
    for _ in range(imports):
        start(alpha, program, "crm_id,reason\nX,Y\n")
    client = client_for(alpha.user(Role.CHANNEL_MANAGER))
    with django_assert_max_num_queries(12):
        response = client.get(_api(program))
    assert len(response.json()) == imports


def test_chunks_commit_one_by_one_and_running_again_changes_nothing(worlds, program, monkeypatch):
    alpha, _ = worlds
    monkeypatch.setattr(csv_io, "CHUNK_ROWS", 2)
    partners = _partners(alpha, 5)
    text = "crm_id,reason\n" + "".join(f"{p.external_id},Paper\n" for p in partners)
    job = start(alpha, program, text)
    with tenant_scope(alpha.tenant):
        job = partner_import_run(import_id=job.pk)  # one chunk, then the continuation is queued
    assert (job.status, job.processed_rows, job.created_count) == ("running", 2, 2)
    job = run_to_end(alpha, job)
    assert (job.processed_rows, job.created_count, job.error_count) == (5, 5, 0)
    with tenant_scope(alpha.tenant):
        events = AuditEvent.objects.filter(action="enrolled_on_behalf").count()
        again = partner_import_run(import_id=job.pk)  # a message delivered once more
        assert AuditEvent.objects.filter(action="enrolled_on_behalf").count() == events == 5
    assert (again.processed_rows, again.created_count, again.error_count) == (5, 5, 0)
    assert set(enrolled(alpha, program)) == {p.pk for p in partners}
