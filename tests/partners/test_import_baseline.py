"""The baseline `bench.partner_import` measures the import against still imports: the same file
gives the same partners and counts as the application's import."""

from __future__ import annotations

from bench import import_baseline
from partners import csv_io
from tenancy.context import tenant_scope
from tests.partners.test_csv_import import partners_by_crm_id, rows, run_to_end, start


def test_the_baseline_import_gives_what_the_import_gives(worlds):
    alpha, beta = worlds
    text = rows(csv_io.CHUNK_ROWS + 7)
    expected = run_to_end(alpha, start(alpha, text))
    job = start(beta, text)
    with tenant_scope(beta.tenant):
        for _ in range(job.total_rows):
            job = import_baseline.partner_import_run(import_id=job.pk)
            if job.status in csv_io.FINISHED:
                break
    assert job.status == expected.status == "done"
    assert (job.created_count, job.error_count) == (expected.created_count, 0)
    assert set(partners_by_crm_id(beta)) == set(partners_by_crm_id(alpha))
