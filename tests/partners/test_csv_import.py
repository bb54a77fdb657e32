"""Partner CSV import: upsert on the CRM id, per-row errors that keep every good row, a second
upload of the same file that changes nothing, set-based chunks, the pages and the API."""

from __future__ import annotations

import re
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from partners import csv_format, csv_io
from partners.csv_io import partner_import_run, partner_import_start
from partners.models import Partner, PartnerImport
from tenancy import events
from tenancy.context import tenant_scope
from tenancy.errors import ApplicationError, NotPermitted
from tenancy.models import AuditEvent, DomainEvent
from tenancy.roles import Role
from tests.conftest import build_world, client_for
from tests.factories.partners import PartnerFactory, TierFactory
from tests.factories.tenancy import MembershipFactory
from tests.worker import settle

HEADER = "external_id,name,type,tier,region,territory,country,stage,segment,status"


def start(world, text: str, *, role: str = Role.VENDOR_ADMIN) -> PartnerImport:
    with tenant_scope(world.tenant):
        return partner_import_start(
            actor=world.member(role), file_name="crm.csv", data=text.encode("utf-8")
        )


def run_to_end(world, job: PartnerImport) -> PartnerImport:
    """Run chunk after chunk, as the chain of tasks would, until the import is finished."""
    with tenant_scope(world.tenant):
        for _ in range(job.total_rows + 2):
            job = partner_import_run(import_id=job.pk)
            if job.status in csv_io.FINISHED:
                return job
    raise AssertionError("the import did not finish")


def import_csv(world, text: str) -> PartnerImport:
    return run_to_end(world, start(world, text))


def rows(count: int, *, start_at: int = 0, region: str = "EMEA") -> str:
    lines = [HEADER]
    lines += [
        f"CRM-{n:05d},Partner {n},var,,{region},DACH,DE,new,achiever,active"
        for n in range(start_at, start_at + count)
    ]
    return "\n".join(lines) + "\n"


def partners_by_crm_id(world) -> dict[str, Partner]:
    with tenant_scope(world.tenant):
        return {
            p.external_id: p for p in Partner.objects.exclude(external_id="").select_related("tier")
        }


def audit_count(world) -> int:
    with tenant_scope(world.tenant):
        return AuditEvent.objects.filter(entity="partners.partner").count()


# The file and its rows


def test_bad_rows_are_reported_by_row_and_column_and_good_rows_are_kept(worlds):
    alpha, _ = worlds
    text = (
        f"{HEADER},channel_manager_email\n"
        "A-1,Good One,reseller,Alpha Gold,EMEA,DACH,de,new,achiever,active,\n"
        "A-2,Bad Country,reseller,,EMEA,DACH,Germany,new,achiever,active,\n"
        "A-3,Bad Tier,reseller,Goldd,EMEA,DACH,DE,new,achiever,active,\n"
        "A-4,Bad Manager,reseller,,EMEA,DACH,DE,new,achiever,active,nobody@alpha.example\n"
        "A-1,Twin,reseller,,EMEA,DACH,DE,new,achiever,active,\n"
        "A-6,Good Two,VAR,alpha gold,,,,Developing,,,CHANNEL_MANAGER@alpha.example\n"
    )
    job = import_csv(alpha, text)

    assert job.status == PartnerImport.Status.DONE
    assert (job.created_count, job.updated_count, job.unchanged_count) == (2, 0, 0)
    assert job.error_count == 4
    assert [(e["row"], e["column"]) for e in job.errors] == [
        (3, "country"),
        (4, "tier"),
        (5, "channel_manager_email"),
        (6, "external_id"),
    ]
    assert "two-letter country code" in job.errors[0]["message"]
    assert "No tier called 'Goldd'" in job.errors[1]["message"]
    assert "nobody@alpha.example" in job.errors[2]["message"]
    assert "appears again at row 6; first at row 2" in job.errors[3]["message"]
    found = partners_by_crm_id(alpha)
    assert set(found) == {"A-1", "A-6"}
    assert (found["A-1"].name, found["A-1"].country, found["A-1"].tier) == (
        "Good One",
        "DE",
        alpha.tier,
    )
    good_two = found["A-6"]
    assert (good_two.type, good_two.stage, good_two.tier) == ("var", "developing", alpha.tier)
    assert good_two.channel_manager_id == alpha.member(Role.CHANNEL_MANAGER).pk


@pytest.mark.parametrize(
    ("cells", "column", "reason"),
    [
        ({"tier": "Platinum"}, "tier", "No tier called 'Platinum'"),
        ({"country": "DEU"}, "country", "two-letter country code"),
        ({"country": "D1"}, "country", "two-letter country code"),
        ({"channel_manager_email": "ghost@alpha.example"}, "channel_manager_email", "ghost"),
        # A partner person is not a vendor staff member.
        ({"channel_manager_email": "partner_rep@alpha.example"}, "channel_manager_email", "staff"),
        ({"type": "wholesaler"}, "type", "Unknown type 'wholesaler'"),
        ({"stage": "mature"}, "stage", "Unknown stage"),
        ({"segment": "star"}, "segment", "Unknown segment"),
        ({"status": "paused"}, "status", "Unknown status"),
        ({"name": ""}, "name", "Enter the partner's name"),
        ({"name": "x" * 201}, "name", "at most 200 characters"),
        ({"region": "r" * 61}, "region", "at most 60 characters"),
        ({"external_id": ""}, "external_id", "CRM id"),
    ],
)
def test_each_bad_cell_is_a_row_error_naming_its_column(worlds, cells, column, reason):
    alpha, _ = worlds
    row = {"external_id": "X-1", "name": "Row Partner", **cells}
    header = ",".join(row)
    job = import_csv(alpha, f"{header}\n{','.join(row.values())}\n")
    assert job.error_count == 1
    assert job.created_count == 0
    [error] = job.errors
    assert (error["row"], error["column"]) == (2, column)
    assert reason in error["message"]


def test_every_bad_cell_of_a_row_is_reported(worlds):
    alpha, _ = worlds
    job = import_csv(alpha, "external_id,name,country,tier\nX-1,Acme,Germany,Nope\n")
    assert job.error_count == 1
    assert [(e["row"], e["column"]) for e in job.errors] == [(2, "country"), (2, "tier")]


def test_duplicate_crm_id_is_found_across_chunks(worlds, monkeypatch):
    alpha, _ = worlds
    monkeypatch.setattr(csv_io, "CHUNK_ROWS", 2)
    text = rows(4) + "CRM-00001,Again,var,,EMEA,DACH,DE,new,achiever,active\n"
    job = import_csv(alpha, text)
    assert (job.created_count, job.error_count) == (4, 1)
    assert job.errors[0]["row"] == 6
    assert "first at row 3" in job.errors[0]["message"]


def test_row_numbers_count_the_header_and_blank_and_multiline_rows(worlds):
    alpha, _ = worlds
    text = 'external_id,name,country\nM-1,"Two\nLines Ltd",DE\n\nM-2,Bad,XYZ\n'
    job = import_csv(alpha, text)
    assert job.total_rows == 2
    # A line break is a control character: a name cannot hold one (tenancy.text).
    assert [(e["row"], e["column"]) for e in job.errors] == [(2, "name"), (4, "country")]
    assert "U+000A" in job.errors[0]["message"]
    assert job.errors[1]["message"] == "Use a two-letter country code, e.g. DE."


def test_an_unclosed_quote_is_reported_on_its_row_and_every_row_after_it_is_counted(worlds):
    alpha, _ = worlds
    text = (
        "external_id,name,country\n"
        "Q-1,Before Ltd,DE\n"
        'Q-2,"Open Quote Ltd,DE\n'
        "Q-3,After One,DE\n"
        "\n"
        "Q-4,After Two,DE\n"
        "Q-5,After Three,DE\n"
    )
    job = start(alpha, text)
    assert job.total_rows == 5

    job = run_to_end(alpha, job)

    assert job.status == PartnerImport.Status.DONE
    assert set(partners_by_crm_id(alpha)) == {"Q-1"}
    assert (job.processed_rows, job.created_count, job.error_count) == (5, 1, 4)
    assert [(e["row"], e["column"]) for e in job.errors] == [
        (3, "name"),
        (4, ""),
        (6, ""),
        (7, ""),
    ]
    assert "quote that opens this cell is never closed" in job.errors[0]["message"]
    assert "rows 4 to 7" in job.errors[0]["message"]
    assert "quote opened in row 3 (name)" in job.errors[1]["message"]


@pytest.mark.parametrize(
    ("last_line", "problems"),
    [
        ('Q-2,"Closed, Ltd"', {}),
        ('Q-2,"Closed, Ltd"\r\n', {}),
        ('Q-2,"Two\nLines ""Ltd"""\n', {}),
        ('Q-2,Inch 5" Ltd\n', {}),
        ('Q-2,"Open Ltd\n', {3: "name"}),
        ('Q-2,"Open ""Ltd""\r\n', {3: "name"}),
        ('"Q-2,Open Ltd', {3: "external_id"}),
    ],
)
def test_only_a_quote_left_open_at_the_end_of_the_file_is_a_problem(last_line, problems):
    reader = csv_format.RecordReader("external_id,name\nQ-1,Fine\n" + last_line)
    assert [number for number, _ in reader.read()] == [2, 3]
    assert {row: column for row, (column, _) in reader.problems.items()} == problems


def test_header_is_case_insensitive_in_any_order_with_a_bom_and_labels_or_codes(worlds):
    alpha, _ = worlds
    silver = TierFactory(tenant=alpha.tenant, name="Silver", rank=2)
    text = (
        "\ufeffName,TIER,External_ID,Type,Stage,Segment,Status\n"
        "Label Ltd,SILVER,L-1,Referral partner,Established,Believer,Inactive\n"
        "Code Ltd,silver,L-2,referral,established,believer,inactive\n"
    )
    job = import_csv(alpha, text)
    assert (job.created_count, job.error_count) == (2, 0), job.errors
    found = partners_by_crm_id(alpha)
    for crm_id in ("L-1", "L-2"):
        partner = found[crm_id]
        assert (partner.type, partner.stage, partner.segment, partner.status) == (
            "referral",
            "established",
            "believer",
            "inactive",
        )
        assert partner.tier == silver


def test_semicolon_separated_files_are_read(worlds):
    alpha, _ = worlds
    job = import_csv(alpha, "external_id;name;country\nS-1;Semi GmbH;AT\n")
    assert job.created_count == 1
    assert partners_by_crm_id(alpha)["S-1"].country == "AT"


def test_empty_cells_take_defaults_on_create(worlds):
    alpha, _ = worlds
    job = import_csv(alpha, f"{HEADER}\nD-1,Defaults Ltd,,,,,,,,\n")
    assert job.created_count == 1
    partner = partners_by_crm_id(alpha)["D-1"]
    assert (partner.type, partner.stage, partner.segment, partner.status) == (
        "reseller",
        "new",
        "unassessed",
        "active",
    )
    assert (partner.tier, partner.region, partner.country) == (None, "", "")


@pytest.mark.parametrize(
    ("header", "named"),
    [
        ("external_id,region", "Missing required columns: name"),
        ("name,region", "Missing required columns: external_id"),
        ("external_id,name,Colour,fax", "Unknown columns: Colour, fax"),
        ("external_id,name,name", "Columns named twice: name"),
    ],
)
def test_a_bad_header_fails_the_whole_file_with_a_clear_message(worlds, header, named):
    alpha, _ = worlds
    cells = ",".join("x" for _ in header.split(","))
    before = partners_by_crm_id(alpha)
    job = import_csv(alpha, f"{header}\n{cells}\n")
    assert job.status == PartnerImport.Status.FAILED
    assert named in job.failure
    assert "The columns are external_id, name, type" in job.failure
    assert job.finished_at is not None
    assert (job.processed_rows, job.created_count) == (0, 0)
    assert partners_by_crm_id(alpha) == before


# Upserts and idempotency


def test_same_file_twice_changes_nothing_the_second_time(worlds):
    alpha, _ = worlds
    text = (
        f"{HEADER},channel_manager_email\n"
        "T-1,Twice Ltd,var,Alpha Gold,EMEA,DACH,DE,new,achiever,active,vendor_admin@alpha.example\n"
        "T-2,Twice Two,msp,,APAC,ANZ,au,developing,believer,inactive,\n"
    )
    first = import_csv(alpha, text)
    assert (first.created_count, first.error_count) == (2, 0)
    stamps = {k: p.updated_at for k, p in partners_by_crm_id(alpha).items()}
    events = audit_count(alpha)

    second = import_csv(alpha, text)

    assert second.status == PartnerImport.Status.DONE
    assert (second.created_count, second.updated_count, second.unchanged_count) == (0, 0, 2)
    assert second.content_sha256 == first.content_sha256
    assert audit_count(alpha) == events
    assert {k: p.updated_at for k, p in partners_by_crm_id(alpha).items()} == stamps


def test_update_by_crm_id_changes_only_what_differs(worlds):
    alpha, bravo = worlds
    partner = PartnerFactory(
        tenant=alpha.tenant,
        external_id="U-1",
        name="Update Me",
        region="EMEA",
        territory="DACH",
        country="DE",
        tier=alpha.tier,
    )
    # Another tenant's partner with the same CRM id is not theirs to update.
    PartnerFactory(tenant=bravo.tenant, external_id="U-1", name="Bravo's U-1", region="EMEA")
    job = import_csv(alpha, "external_id,name,region,territory,tier\nU-1,Update Me,APAC,,\n")

    assert (job.created_count, job.updated_count, job.unchanged_count) == (0, 1, 0)
    with tenant_scope(alpha.tenant):
        partner.refresh_from_db()
        event = AuditEvent.objects.get(entity_id=partner.pk, action="imported_updated")
    assert (partner.region, partner.territory, partner.tier_id) == ("APAC", "DACH", alpha.tier.pk)
    assert event.changes == {"region": ["EMEA", "APAC"]}
    assert event.actor == alpha.user(Role.VENDOR_ADMIN)
    assert event.note == f"CSV import #{job.pk}, row 2"
    with tenant_scope(bravo.tenant):
        assert Partner.objects.get(external_id="U-1").region == "EMEA"


def test_created_partners_get_a_history_row(worlds):
    alpha, _ = worlds
    import_csv(alpha, "external_id,name,country\nH-1,History Ltd,FR\n")
    with tenant_scope(alpha.tenant):
        partner = Partner.objects.get(external_id="H-1")
        event = AuditEvent.objects.get(entity_id=partner.pk, entity="partners.partner")
    assert event.action == "imported_created"
    assert event.changes["name"] == [None, "History Ltd"]
    assert event.changes["country"] == [None, "FR"]


def test_run_resumes_from_processed_rows_and_a_redelivery_counts_nothing_twice(worlds, monkeypatch):
    alpha, _ = worlds
    monkeypatch.setattr(csv_io, "CHUNK_ROWS", 2)
    job = start(alpha, rows(5))
    assert (job.status, job.total_rows) == (PartnerImport.Status.PENDING, 5)
    with tenant_scope(alpha.tenant):
        job = partner_import_run(import_id=job.pk)
        assert (job.status, job.processed_rows, job.created_count) == ("running", 2, 2)
        assert job.started_at is not None
        # The same message delivered again goes on where the last chunk ended.
        job = partner_import_run(import_id=job.pk)
        assert (job.processed_rows, job.created_count) == (4, 4)
        job = partner_import_run(import_id=job.pk)
        assert (job.status, job.processed_rows, job.created_count) == ("done", 5, 5)
        finished_at = job.finished_at
        job = partner_import_run(import_id=job.pk)
    assert (job.processed_rows, job.created_count, job.unchanged_count) == (5, 5, 0)
    assert job.finished_at == finished_at
    assert len(partners_by_crm_id(alpha)) == 5


def test_stored_errors_are_capped_and_the_count_stays_exact(worlds):
    alpha, _ = worlds
    bad = "\n".join(f"E-{n},Bad {n},XYZ" for n in range(1100))
    job = import_csv(alpha, f"external_id,name,country\n{bad}\n")
    assert job.error_count == 1100
    assert len(job.errors) == csv_io.MAX_STORED_ERRORS
    assert job.errors[-1]["row"] == csv_io.MAX_STORED_ERRORS + 1


def partner_events(world) -> list[tuple[str, int, dict]]:
    with tenant_scope(world.tenant):
        return list(
            DomainEvent.objects.filter(aggregate_type="partners.partner")
            .order_by("pk")
            .values_list("kind", "aggregate_id", "payload")
        )


def test_import_publishes_one_event_a_created_or_changed_partner_and_none_when_unchanged(
    worlds, monkeypatch
):
    alpha, bravo = worlds
    monkeypatch.setattr(csv_io, "CHUNK_ROWS", 2)
    job = import_csv(alpha, rows(5))
    partners = partners_by_crm_id(alpha)
    created = [
        ("partner.created", partners[f"CRM-{n:05d}"].pk, {"import_id": job.pk}) for n in range(5)
    ]
    assert partner_events(alpha) == created
    assert import_csv(alpha, rows(5)).unchanged_count == 5
    assert partner_events(alpha) == created
    job = import_csv(alpha, rows(2, region="APAC"))
    changed = {"fields": ["region"], "import_id": job.pk}
    assert partner_events(alpha)[5:] == [
        ("partner.changed", partners[f"CRM-{n:05d}"].pk, changed) for n in range(2)
    ]
    assert partner_events(bravo) == []


def test_upload_queues_the_run_on_commit(worlds, django_capture_on_commit_callbacks, monkeypatch):
    from partners.tasks import partner_import_run_task

    alpha, _ = worlds
    sent = []
    monkeypatch.setattr(partner_import_run_task, "apply_async", lambda kwargs: sent.append(kwargs))
    with django_capture_on_commit_callbacks(execute=True):
        job = start(alpha, rows(1))
    assert sent == [{"tenant_id": alpha.tenant.pk, "import_id": job.pk}]


# Upload checks and roles


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"external_id,name\n" + b"x" * csv_io.MAX_FILE_BYTES, "larger than 10 MB"),
        ("external_id,name\nA,Café\n".encode("latin-1"), "not UTF-8"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not UTF-8"),
        (b"external_id,name\nA," + b"x" * 200_000 + b"\n", "not valid CSV"),
    ],
)
def test_upload_refuses_files_that_are_not_csv_text(worlds, data, reason):
    alpha, _ = worlds
    with tenant_scope(alpha.tenant), pytest.raises(ApplicationError) as caught:
        partner_import_start(actor=alpha.member(Role.VENDOR_ADMIN), file_name="x.csv", data=data)
    assert list(caught.value.errors) == ["file"]
    assert reason in caught.value.message


@pytest.mark.parametrize("role", [Role.CLAIMS_REVIEWER, Role.PARTNER_ADMIN, Role.PARTNER_REP])
def test_only_partner_editors_may_import(worlds, role):
    alpha, _ = worlds
    with pytest.raises(NotPermitted):
        start(alpha, rows(1), role=role)


@pytest.mark.parametrize("role", [Role.PARTNER_REP, Role.CLAIMS_REVIEWER])
def test_rep_and_claims_reviewer_cannot_import_through_page_or_api(worlds, role):
    alpha, _ = worlds
    client = Client()
    client.force_login(alpha.user(role))
    page = client.post(reverse("partner_import", args=["alpha"]), {"file": _upload(rows(1))})
    assert page.status_code == 403
    api = client_for(alpha.user(role)).post(
        "/api/v1/t/alpha/partner-imports/", {"file": _upload(rows(1))}, format="multipart"
    )
    assert api.status_code == 403
    with tenant_scope(alpha.tenant):
        assert not PartnerImport.objects.filter(file_name="crm.csv").exists()


# Pages


def _upload(text: str, name: str = "crm.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode("utf-8"), content_type="text/csv")


def _page_client(world, role: str = Role.CHANNEL_MANAGER) -> Client:
    client = Client()
    client.force_login(world.user(role))
    return client


def test_upload_through_the_page_redirects_to_the_import(worlds):
    alpha, _ = worlds
    response = _page_client(alpha).post(
        reverse("partner_import", args=["alpha"]), {"file": _upload(rows(3))}
    )
    with tenant_scope(alpha.tenant):
        job = PartnerImport.objects.get(file_name="crm.csv")
    assert response.status_code == 302
    assert response["Location"] == reverse("partner_import_detail", args=["alpha", job.pk])
    assert (job.status, job.total_rows, job.created_by) == (
        "pending",
        3,
        alpha.user(Role.CHANNEL_MANAGER),
    )


def test_page_shows_a_refused_file_on_its_field(worlds):
    alpha, _ = worlds
    data = {"file": _upload("", name="empty.csv")}
    response = _page_client(alpha).post(reverse("partner_import", args=["alpha"]), data)
    assert response.status_code == 200
    assert response.context["form"].errors["file"]


def test_import_page_documents_the_columns_and_links_the_template(worlds):
    alpha, _ = worlds
    page = _page_client(alpha, Role.CLAIMS_REVIEWER).get(reverse("partner_import", args=["alpha"]))
    body = page.content.decode()
    assert page.status_code == 200
    assert (
        "An empty cell leaves the value unchanged on update, and takes the default on create"
        in (body)
    )
    assert reverse("partner_import_template", args=["alpha"]) in body
    assert "channel_manager_email" in body
    assert 'enctype="multipart/form-data"' not in body  # a claims reviewer cannot upload
    assert alpha.partner_import.file_name in body


def test_template_download_is_a_csv_with_every_column(worlds):
    alpha, _ = worlds
    response = _page_client(alpha).get(reverse("partner_import_template", args=["alpha"]))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    header, example = response.content.decode().splitlines()
    assert header.split(",") == list(csv_format.COLUMNS)
    # The example row names this workspace's tier and the downloader, so it imports as is.
    assert "Alpha Gold" in example
    assert example.endswith("channel_manager@alpha.example")
    job = import_csv(alpha, response.content.decode())
    assert (job.created_count, job.error_count) == (1, 0)


def test_detail_polls_while_running_and_stops_when_done(worlds):
    alpha, _ = worlds
    job = start(alpha, "external_id,name,country\nP-1,Poll Ltd,DE\nP-2,Bad,XYZ\n")
    client = _page_client(alpha)
    url = reverse("partner_import_detail", args=["alpha", job.pk])

    running = client.get(url).content.decode()
    assert 'hx-trigger="every 1s"' in running
    assert f'hx-get="{url}"' in running
    assert 'hx-select="#import-progress"' in running
    assert 'hx-target="#import-progress"' in running
    assert 'hx-swap="outerHTML"' in running
    assert '<progress max="100" value="0"' in running
    assert "style=" not in running
    assert "<script>" not in running

    run_to_end(alpha, job)
    fragment = client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert fragment.startswith('<div id="import-progress">')
    assert "hx-trigger" not in fragment
    assert '<progress max="100" value="100"' in fragment
    assert '<td class="num">3</td><td><code>country</code></td>' in fragment
    assert "<html" not in fragment


def test_another_tenants_import_is_not_found_like_a_missing_one(worlds):
    alpha, bravo = worlds
    client = _page_client(bravo)
    foreign = client.get(reverse("partner_import_detail", args=["bravo", alpha.partner_import.pk]))
    missing = client.get(reverse("partner_import_detail", args=["bravo", 987654321]))
    assert foreign.status_code == missing.status_code == 404
    assert _without_csrf(foreign.content) == _without_csrf(missing.content)


def _without_csrf(body: bytes) -> str:
    """The page without its CSRF token, which is masked anew on every render."""
    return re.sub(r'(csrfmiddlewaretoken" value="|X-CSRFToken": ")[^"]+', r"\1-", body.decode())


@pytest.mark.parametrize("errors", [3, 1000])
def test_detail_page_makes_a_fixed_number_of_queries(worlds, django_assert_max_num_queries, errors):
    alpha, _ = worlds
    bad = "\n".join(f"E-{n},Bad {n},XYZ" for n in range(errors))
    job = import_csv(alpha, f"external_id,name,country\n{bad}\n")
    assert len(job.errors) == errors
    client = _page_client(alpha)
    with django_assert_max_num_queries(11):
        page = client.get(reverse("partner_import_detail", args=["alpha", job.pk]))
    assert page.content.decode().count("<code>country</code>") == errors


@pytest.mark.parametrize("imports", [1, 15])
def test_import_page_makes_a_fixed_number_of_queries(
    worlds, django_assert_max_num_queries, imports
):
    alpha, _ = worlds
    for _ in range(imports):
        start(alpha, rows(1))
    client = _page_client(alpha)
    with django_assert_max_num_queries(12):
        page = client.get(reverse("partner_import", args=["alpha"]))
    assert page.content.decode().count(">crm.csv</a>") == imports


# Set-based


def _queries_of_one_run(world, job) -> int:
    with tenant_scope(world.tenant), CaptureQueriesContext(connection) as captured:
        job = partner_import_run(import_id=job.pk)
    assert job.status == PartnerImport.Status.DONE
    return len(captured)


def test_import_takes_the_same_few_queries_for_100_or_1000_rows(
    worlds, monkeypatch, django_assert_max_num_queries
):
    alpha, _ = worlds
    monkeypatch.setattr(csv_io, "CHUNK_ROWS", 1000)
    counts = {}
    for size, offset in ((100, 0), (1000, 5000)):
        job = start(alpha, rows(size, start_at=offset))
        counts[("create", size)] = _queries_of_one_run(alpha, job)
        changed = start(alpha, rows(size, start_at=offset, region="APAC"))
        counts[("update", size)] = _queries_of_one_run(alpha, changed)
    assert counts[("create", 100)] == counts[("create", 1000)]
    assert counts[("update", 100)] == counts[("update", 1000)]
    assert counts[("update", 1000)] <= 12
    assert len(partners_by_crm_id(alpha)) == 1100
    assert {p.region for p in partners_by_crm_id(alpha).values()} == {"APAC"}


def test_a_chunk_of_500_rows_is_one_task_of_fixed_queries(worlds, django_assert_max_num_queries):
    alpha, _ = worlds
    job = start(alpha, rows(1000))
    with tenant_scope(alpha.tenant):
        for expected in (500, 1000):
            with django_assert_max_num_queries(12):
                job = partner_import_run(import_id=job.pk)
            assert job.processed_rows == expected
    assert job.status == PartnerImport.Status.DONE


# API


def test_api_upload_returns_the_import_and_lists_it(worlds):
    alpha, _ = worlds
    client = client_for(alpha.user(Role.CHANNEL_MANAGER))
    response = client.post(
        "/api/v1/t/alpha/partner-imports/", {"file": _upload(rows(2))}, format="multipart"
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["file_name"], body["status"], body["total_rows"]) == ("crm.csv", "pending", 2)
    listed = client.get("/api/v1/t/alpha/partner-imports/").json()["results"]
    assert [row["id"] for row in listed][:1] == [body["id"]]
    detail = client.get(f"/api/v1/t/alpha/partner-imports/{body['id']}/")
    assert detail.status_code == 200


def test_api_refuses_a_bad_file_with_the_error_body(worlds):
    alpha, _ = worlds
    client = client_for(alpha.user(Role.VENDOR_ADMIN))
    response = client.post(
        "/api/v1/t/alpha/partner-imports/",
        {"file": SimpleUploadedFile("x.csv", b"\xff\xfe\x00", content_type="text/csv")},
        format="multipart",
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert list(response.json()["errors"]) == ["file"]
    missing = client.post("/api/v1/t/alpha/partner-imports/", {}, format="multipart")
    assert missing.status_code == 400
    assert list(missing.json()["errors"]) == ["file"]


def test_api_answers_404_for_another_tenants_import(worlds):
    alpha, bravo = worlds
    client = client_for(bravo.user(Role.VENDOR_ADMIN))
    foreign = client.get(f"/api/v1/t/bravo/partner-imports/{alpha.partner_import.pk}/")
    missing = client.get("/api/v1/t/bravo/partner-imports/987654321/")
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json() == missing.json()


# The real worker


@pytest.mark.worker
def test_upload_through_the_page_is_imported_by_the_worker(transactional_db, celery_worker):

    alpha = build_world("alpha")
    build_world("bravo")
    MembershipFactory(tenant=alpha.tenant, role=Role.CHANNEL_MANAGER, user__email="cam@x.example")
    client = Client()
    client.force_login(alpha.user(Role.VENDOR_ADMIN))
    text = rows(3) + "CRM-00009,Bad,var,Nope,EMEA,DACH,DE,new,achiever,active\n"
    response = client.post(reverse("partner_import", args=["alpha"]), {"file": _upload(text)})
    assert response.status_code == 302
    job_id = int(response["Location"].rstrip("/").rsplit("/", 1)[1])

    deadline = time.monotonic() + 60
    while True:
        with tenant_scope(alpha.tenant):
            job = PartnerImport.objects.get(pk=job_id)
        if job.status in csv_io.FINISHED or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    # Let the work the import set going finish before the tables are emptied.
    settle(alpha.tenant.pk)

    assert job.status == PartnerImport.Status.DONE, celery_worker.log_text()
    assert (job.created_count, job.error_count, job.processed_rows) == (3, 1, 4)
    assert job.errors[0]["column"] == "tier"
    page = client.get(reverse("partner_import_detail", args=["alpha", job_id]))
    assert "hx-trigger" not in page.content.decode()
    assert len(partners_by_crm_id(alpha)) == 3


@pytest.mark.django_db(transaction=True, databases=["default", "unscoped"])
def test_sweeper_requeues_imports_whose_message_was_lost(worlds, monkeypatch):
    from datetime import timedelta

    from django.utils import timezone

    from partners.tasks import partner_import_run_task, partner_imports_sweep_task

    alpha, bravo = worlds
    sent = []
    monkeypatch.setattr(partner_import_run_task, "apply_async", lambda kwargs: sent.append(kwargs))
    lost = start(alpha, rows(1))
    fresh = start(bravo, rows(1))
    with tenant_scope(alpha.tenant):
        PartnerImport.objects.filter(pk=lost.pk).update(
            created_at=timezone.now() - timedelta(minutes=10),
            heartbeat_at=timezone.now() - timedelta(minutes=10),
        )
    sent.clear()  # the messages of the two starts (committed at once: no transaction is open)
    assert partner_imports_sweep_task() == 1
    assert sent == [{"tenant_id": alpha.tenant.pk, "import_id": lost.pk}]
    assert fresh.pk not in [kwargs["import_id"] for kwargs in sent]


# Reading the file once: budgets, continuations, redelivery and the bulk queue


def test_a_run_reads_the_file_once_and_imports_every_chunk_within_its_budget(worlds, monkeypatch):
    alpha, _ = worlds
    monkeypatch.setattr(csv_io, "CHUNK_ROWS", 2)
    opened, queued = [], []

    class CountingReader(csv_format.RecordReader):
        def __init__(self, text: str, **kwargs) -> None:
            opened.append(kwargs)
            super().__init__(text, **kwargs)

    job = start(alpha, rows(7) + "CRM-00002,Again,var\n")
    monkeypatch.setattr(csv_io, "RecordReader", CountingReader)
    monkeypatch.setattr(csv_io, "enqueue_on_commit", lambda task, **kw: queued.append(task))
    with tenant_scope(alpha.tenant):
        job = partner_import_run(import_id=job.pk, seconds=60)
    assert (job.status, job.processed_rows, job.created_count, job.error_count) == ("done", 8, 7, 1)
    assert "first at row 4" in job.errors[0]["message"]
    assert opened == [{"offset": 0, "row": 2}]
    assert queued == []  # no continuation: the run finished within its budget


def test_a_continuation_seeks_to_the_stored_offset_without_reading_the_rows_before_it(
    worlds, monkeypatch
):
    alpha, _ = worlds
    monkeypatch.setattr(csv_io, "CHUNK_ROWS", 3)
    text = rows(8)
    job = start(alpha, text)
    queued = []
    monkeypatch.setattr(csv_io, "enqueue_on_commit", lambda task, **kw: queued.append(kw))
    with tenant_scope(alpha.tenant):
        job = partner_import_run(import_id=job.pk)  # no time budget: one chunk, then go on later
    assert (job.status, job.processed_rows, job.next_row) == ("running", 3, 5)
    assert text[job.next_offset :].startswith("CRM-00003,")
    assert queued == [{"tenant_id": alpha.tenant.pk, "import_id": job.pk}]
    # Garble the rows already imported: an unclosed quote there would swallow the whole rest of
    # the file, so a continuation that parsed from the top could not import rows 5 to 9.
    header_end = text.index("\n") + 1
    garbled = text[:header_end] + '"' + "x" * (job.next_offset - header_end - 1)
    with tenant_scope(alpha.tenant):
        PartnerImport.objects.filter(pk=job.pk).update(content=garbled + text[job.next_offset :])
    job = run_to_end(alpha, job)
    assert (job.processed_rows, job.created_count, job.error_count) == (8, 8, 0), job.errors
    assert sorted(partners_by_crm_id(alpha)) == [f"CRM-{n:05d}" for n in range(8)]


def test_an_import_stored_before_offsets_were_kept_goes_on_from_processed_rows(worlds, monkeypatch):
    alpha, _ = worlds
    monkeypatch.setattr(csv_io, "CHUNK_ROWS", 2)
    job = start(alpha, rows(3) + "CRM-00000,Again,var\n")
    with tenant_scope(alpha.tenant):
        job = partner_import_run(import_id=job.pk)
        PartnerImport.objects.filter(pk=job.pk).update(next_offset=0, next_row=2, repeated_ids=None)
    job = run_to_end(alpha, job)
    assert (job.processed_rows, job.created_count, job.error_count) == (4, 3, 1)
    assert job.errors[0]["row"] == 5


def _committed_import_without_a_worker(monkeypatch, *, chunk_rows: int, count: int):
    """Alpha (beside bravo) with a committed import of `count` rows that the test runs itself:
    no task and no outbox relay is sent, as no worker listens here."""
    alpha = build_world("alpha")
    build_world("bravo")
    monkeypatch.setattr(csv_io, "CHUNK_ROWS", chunk_rows)
    monkeypatch.setattr(csv_io, "enqueue_on_commit", lambda task, **kw: None)
    monkeypatch.setattr(events, "request_relay", lambda tenant_id: None)
    return alpha, start(alpha, rows(count))


@pytest.mark.django_db(transaction=True)
def test_two_deliveries_running_at_once_import_every_row_exactly_once(monkeypatch):
    import threading

    from django.db import connection as default_connection

    alpha, job = _committed_import_without_a_worker(monkeypatch, chunk_rows=7, count=150)
    failures = []

    def deliver() -> None:
        try:
            with tenant_scope(alpha.tenant):
                partner_import_run(import_id=job.pk, seconds=60)
        except Exception as error:
            failures.append(error)
        finally:
            default_connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert failures == []
    with tenant_scope(alpha.tenant):
        job = PartnerImport.objects.get(pk=job.pk)
    assert (job.status, job.processed_rows, job.created_count) == ("done", 150, 150)
    assert (job.updated_count, job.unchanged_count, job.error_count) == (0, 0, 0)
    assert len(partners_by_crm_id(alpha)) == 150
    assert audit_count(alpha) == 150


def test_imports_and_re_syncs_are_sent_to_the_bulk_queue_never_to_validation(
    worlds, monkeypatch, django_capture_on_commit_callbacks
):
    from celery.signals import before_task_publish

    from config.celery import app
    from incentives.tasks import (
        auto_enroll_requests_sweep_task,
        programs_auto_enroll_sweep_task,
        programs_auto_enroll_task,
    )
    from partners.tasks import partner_import_run_task, partner_imports_sweep_task

    for task in (
        partner_import_run_task,
        partner_imports_sweep_task,
        programs_auto_enroll_task,
        programs_auto_enroll_sweep_task,
        auto_enroll_requests_sweep_task,
    ):
        assert task.uplift_queue == "bulk"
    alpha, _ = worlds
    monkeypatch.setattr(csv_io, "CHUNK_ROWS", 2)
    sent = []

    def record(sender=None, routing_key=None, **kwargs) -> None:
        sent.append((sender, routing_key))

    before_task_publish.connect(record)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            job = start(alpha, rows(5))
        while job.status not in csv_io.FINISHED:
            with django_capture_on_commit_callbacks(execute=True), tenant_scope(alpha.tenant):
                job = partner_import_run(import_id=job.pk)
    finally:
        before_task_publish.disconnect(record)
    # The worker in this Redis database finds nothing committed to import; leave it nothing.
    app.control.purge()
    ours = [(name, queue) for name, queue in sent if name.startswith("partners.")]
    assert ours == [("partners.tasks.partner_import_run_task", "bulk")] * 3
    # The outbox relays the partners' events on its own queue: nothing reaches validation.
    others = {(name, queue) for name, queue in sent if not name.startswith("partners.")}
    assert others <= {("tenancy.tasks.event_relay_task", "events")}
    assert "validation" not in {queue for _, queue in sent}


@pytest.mark.worker
def test_a_message_delivered_twice_to_the_worker_imports_every_row_once(
    transactional_db, celery_worker
):
    from partners.tasks import partner_import_run_task
    from tenancy.tasks import tenant_healthcheck_task

    alpha = build_world("alpha")
    build_world("bravo")
    job = start(alpha, rows(1200))  # three chunks; the upload queued its run on commit
    partner_import_run_task.apply_async(kwargs={"tenant_id": alpha.tenant.pk, "import_id": job.pk})
    kwargs = {"tenant_id": alpha.tenant.pk}
    tenant_healthcheck_task.apply_async(kwargs=kwargs, queue="bulk").get(timeout=120)
    settle(alpha.tenant.pk)  # the partners' events, before the tables are emptied
    with tenant_scope(alpha.tenant):
        job = PartnerImport.objects.get(pk=job.pk)
    assert (job.status, job.processed_rows, job.created_count) == ("done", 1200, 1200), (
        celery_worker.log_text()
    )
    assert (job.updated_count, job.unchanged_count, job.error_count) == (0, 0, 0)
    assert len(partners_by_crm_id(alpha)) == 1200
    assert audit_count(alpha) == 1200


@pytest.mark.django_db(transaction=True)
def test_each_chunk_is_committed_before_the_next_one_starts(monkeypatch):
    import threading

    from django.db import connection as default_connection

    alpha, job = _committed_import_without_a_worker(monkeypatch, chunk_rows=2, count=7)
    seen = []

    def committed_progress() -> None:
        """What the progress page would read now, on a connection of its own."""
        try:
            with tenant_scope(alpha.tenant):
                seen.append(PartnerImport.objects.get(pk=job.pk).processed_rows)
        finally:
            default_connection.close()

    real_write = csv_io._write

    def write_after_looking(job_, chunk) -> None:
        reader = threading.Thread(target=committed_progress)
        reader.start()
        reader.join(timeout=30)
        real_write(job_, chunk)

    monkeypatch.setattr(csv_io, "_write", write_after_looking)
    with tenant_scope(alpha.tenant):
        job = partner_import_run(import_id=job.pk, seconds=60)
    assert (job.status, job.processed_rows) == ("done", 7)
    assert seen == [0, 2, 4, 6]
