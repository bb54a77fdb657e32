"""A partner import survives the death of its worker and of Redis, on real processes: a worker,
beat and a Redis server of the test's own. Each chunk commits the import's heartbeat with its
rows; the sweeper, run by beat, re-queues an import whose heartbeat has gone stale, and the run
goes on from the last committed chunk, so every row is imported exactly once.

The time from the crash to the finished import is printed (`-s`) and written to
`bench/out/crash.json`; it is reported, never asserted."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings

from partners.models import Partner, PartnerImport
from tenancy.context import tenant_scope
from tenancy.models import AuditEvent, DomainEvent
from tests.conftest import build_world
from tests.partners.test_csv_import import rows, start
from tests.worker import BeatProcess, RedisServer, WorkerProcess, broker_of_this_process

ROWS = 3000
CHUNK_ROWS = 20
STALE_SECONDS = 3
SWEEP_SECONDS = 1
# Generous: a recovery takes the stale threshold, a sweep and the rest of the import.
FINISH_TIMEOUT = 150


@dataclass
class CrashSite:
    """A Redis of the test's own, the worker and beat on it, and this process sending to it."""

    folder: Path
    redis: RedisServer
    env: dict[str, str]
    workers: list[WorkerProcess]
    beat: BeatProcess

    def start_worker(self, *, purge: bool) -> WorkerProcess:
        worker = WorkerProcess(
            self.folder / "mail", env=self.env, name=f"worker-{len(self.workers) + 1}"
        )
        worker.start(purge=purge)
        self.workers.append(worker)
        return worker

    def logs(self) -> str:
        texts = [f"--- {w.name}\n{w.log_text()}" for w in self.workers]
        return "\n".join([*texts, f"--- beat\n{self.beat.log_text()}"])[-20000:]


@pytest.fixture
def crash_site(transactional_db, tmp_path):
    (tmp_path / "mail").mkdir()
    redis = RedisServer(tmp_path)
    redis.start()
    env = {
        "TEST_REDIS_URL": redis.url,
        "PARTNER_IMPORT_CHUNK_ROWS": str(CHUNK_ROWS),
        "BULK_TASK_SECONDS": "2",
        "BULK_STALE_SECONDS": str(STALE_SECONDS),
        "BULK_SWEEP_SECONDS": str(SWEEP_SECONDS),
    }
    site = CrashSite(tmp_path, redis, env, [], BeatProcess(tmp_path, env=env))
    try:
        with broker_of_this_process(redis.url):
            yield site
    finally:
        site.beat.stop()
        for worker in site.workers:
            worker.stop()
        redis.kill()


def import_progress(world, job_id: int) -> PartnerImport:
    with tenant_scope(world.tenant):
        return PartnerImport.objects.get(pk=job_id)


def wait_until_mid_import(world, job_id: int, site: CrashSite) -> int:
    """Wait until at least one chunk is committed and at least two remain; the rows imported."""
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        job = import_progress(world, job_id)
        assert job.processed_rows < ROWS - 2 * CHUNK_ROWS, "the import ended before the crash"
        if job.processed_rows >= CHUNK_ROWS:
            return job.processed_rows
        time.sleep(0.02)
    raise AssertionError(f"the import never started:\n{site.logs()}")


def wait_until_finished(
    world, job_id: int, site: CrashSite, *, stalled_at: int
) -> tuple[PartnerImport, float]:
    """The finished import, and when it first went past `stalled_at` rows (monotonic time)."""
    deadline = time.monotonic() + FINISH_TIMEOUT
    moved_at = None
    while time.monotonic() < deadline:
        job = import_progress(world, job_id)
        if moved_at is None and job.processed_rows > stalled_at:
            moved_at = time.monotonic()
        if job.status not in (PartnerImport.Status.PENDING, PartnerImport.Status.RUNNING):
            return job, moved_at or time.monotonic()
        time.sleep(0.05)
    raise AssertionError(
        f"the import is still {job.status} at row {job.processed_rows} of {ROWS}, "
        f"{FINISH_TIMEOUT} s after the crash:\n{site.logs()}"
    )


def assert_every_row_imported_once(world, job: PartnerImport) -> None:
    assert job.status == PartnerImport.Status.DONE, job.failure
    assert (job.processed_rows, job.created_count) == (ROWS, ROWS)
    assert (job.updated_count, job.unchanged_count, job.error_count) == (0, 0, 0)
    with tenant_scope(world.tenant):
        crm_ids = list(
            Partner.objects.filter(external_id__startswith="CRM-").values_list(
                "external_id", flat=True
            )
        )
        history = AuditEvent.objects.filter(entity="partners.partner", action="imported_created")
        created_events = DomainEvent.objects.filter(kind="partner.created")
        assert sorted(crm_ids) == [f"CRM-{n:05d}" for n in range(ROWS)]  # none twice, none missing
        assert history.count() == ROWS
        assert created_events.count() == ROWS


def report(name: str, **figures) -> None:
    """Print the figures and keep them in bench/out/crash.json, one entry a test."""
    print(f"\n{name}: " + ", ".join(f"{key}={value}" for key, value in figures.items()))
    out = Path(settings.BASE_DIR) / "bench" / "out" / "crash.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    known = json.loads(out.read_text()) if out.exists() else {}
    known[name] = figures
    out.write_text(json.dumps(known, indent=2) + "\n")


@pytest.mark.worker
@pytest.mark.timeout(420)
def test_an_import_whose_worker_is_killed_finishes_with_every_row_once(crash_site):
    alpha = build_world("alpha")
    build_world("bravo")
    first = crash_site.start_worker(purge=True)
    crash_site.beat.start()
    job = start(alpha, rows(ROWS))  # its run is sent to the test's Redis on commit

    at_row = wait_until_mid_import(alpha, job.pk, crash_site)
    killed_at = time.monotonic()
    first.kill()  # its message stays unacknowledged in Redis: nothing redelivers it soon
    committed = import_progress(alpha, job.pk).processed_rows  # the chunk in flight rolled back
    crash_site.start_worker(purge=False)
    job, moved_at = wait_until_finished(alpha, job.pk, crash_site, stalled_at=committed)
    finished_at = time.monotonic()

    assert_every_row_imported_once(alpha, job)
    report(
        "worker_killed",
        rows=ROWS,
        chunk_rows=CHUNK_ROWS,
        rows_committed_at_kill=committed,
        seen_at_row=at_row,
        stale_seconds=STALE_SECONDS,
        sweep_seconds=SWEEP_SECONDS,
        seconds_from_kill_to_import_moving_again=round(moved_at - killed_at, 1),
        seconds_from_kill_to_finished=round(finished_at - killed_at, 1),
    )


@pytest.mark.worker
@pytest.mark.timeout(420)
def test_an_import_whose_redis_is_killed_and_restarted_finishes_with_every_row_once(crash_site):
    alpha = build_world("alpha")
    build_world("bravo")
    crash_site.start_worker(purge=True)
    crash_site.beat.start()
    job = start(alpha, rows(ROWS))

    at_row = wait_until_mid_import(alpha, job.pk, crash_site)
    killed_at = time.monotonic()
    crash_site.redis.kill()  # every queued and unacknowledged message goes with it
    time.sleep(2)  # long enough for the worker to find its broker gone
    crash_site.redis.start()  # same port, empty
    restarted_at = time.monotonic()
    # The run in flight stopped at its first commit without a broker (or carries on, if the
    # broker came back in time); either way the rows counted now are a floor.
    stalled_at = import_progress(alpha, job.pk).processed_rows
    job, moved_at = wait_until_finished(alpha, job.pk, crash_site, stalled_at=stalled_at)
    finished_at = time.monotonic()

    assert crash_site.workers[0].process.poll() is None, "the worker died with its Redis"
    assert_every_row_imported_once(alpha, job)
    report(
        "redis_restarted",
        rows=ROWS,
        chunk_rows=CHUNK_ROWS,
        seen_at_row=at_row,
        rows_committed_at_restart=stalled_at,
        redis_down_seconds=round(restarted_at - killed_at, 1),
        stale_seconds=STALE_SECONDS,
        sweep_seconds=SWEEP_SECONDS,
        seconds_from_kill_to_import_moving_again=round(moved_at - killed_at, 1),
        seconds_from_kill_to_finished=round(finished_at - killed_at, 1),
    )


# The rules the sweeper follows, one sweep at a time


def _sent_by_sweeper(monkeypatch) -> list[dict]:
    from partners.tasks import partner_import_run_task

    sent: list[dict] = []
    monkeypatch.setattr(partner_import_run_task, "apply_async", lambda kwargs: sent.append(kwargs))
    return sent


def _set(world, job_id: int, **fields) -> None:
    with tenant_scope(world.tenant):
        PartnerImport.objects.filter(pk=job_id).update(**fields)


@pytest.mark.django_db(transaction=True, databases=["default", "unscoped"])
def test_sweeper_requeues_an_import_whose_heartbeat_is_stale_once_a_threshold(worlds, monkeypatch):
    from datetime import timedelta

    from django.utils import timezone

    from partners.tasks import partner_imports_sweep_task

    alpha, bravo = worlds
    sent = _sent_by_sweeper(monkeypatch)
    now = timezone.now()
    stale = now - timedelta(seconds=settings.BULK_STALE_SECONDS + 5)
    # Killed mid-import a few minutes after it started.
    killed = start(alpha, rows(3))
    _set(alpha, killed.pk, status="running", started_at=stale, heartbeat_at=stale)
    # Its message lost on the way to the worker.
    lost = start(bravo, rows(3))
    _set(bravo, lost.pk, created_at=stale, heartbeat_at=stale)
    # Long, and alive: its last chunk committed a moment ago.
    alive = start(alpha, rows(3))
    _set(alpha, alive.pk, status="running", started_at=now - timedelta(hours=2), heartbeat_at=now)
    finished = start(bravo, rows(3))
    _set(bravo, finished.pk, status="done", heartbeat_at=stale)
    sent.clear()  # the messages of the starts

    assert partner_imports_sweep_task() == 2
    assert sorted(sent, key=lambda kwargs: kwargs["import_id"]) == [
        {"tenant_id": alpha.tenant.pk, "import_id": killed.pk},
        {"tenant_id": bravo.tenant.pk, "import_id": lost.pk},
    ]
    # The next sweep, a minute later, finds their heartbeat moved on: one message a threshold.
    sent.clear()
    assert partner_imports_sweep_task() == 0
    assert sent == []


@pytest.mark.django_db(transaction=True, databases=["default", "unscoped"])
def test_sweeper_leaves_an_import_whose_chunk_is_being_committed(worlds, monkeypatch):
    """A chunk in flight holds the import's row lock: the import is alive, however old its
    heartbeat, and the sweeper neither re-queues it nor waits for the lock."""
    import threading
    from datetime import timedelta

    from django.db import connection as default_connection
    from django.db import transaction
    from django.utils import timezone

    from partners.tasks import partner_imports_sweep_task

    alpha, _ = worlds
    sent = _sent_by_sweeper(monkeypatch)
    job = start(alpha, rows(3))
    stale = timezone.now() - timedelta(seconds=settings.BULK_STALE_SECONDS + 5)
    _set(alpha, job.pk, status="running", heartbeat_at=stale)
    sent.clear()
    locked, release = threading.Event(), threading.Event()

    def chunk_in_flight() -> None:
        try:
            with tenant_scope(alpha.tenant), transaction.atomic():
                PartnerImport.objects.select_for_update(no_key=True).get(pk=job.pk)
                locked.set()
                release.wait(timeout=30)
        finally:
            default_connection.close()

    holder = threading.Thread(target=chunk_in_flight)
    holder.start()
    try:
        assert locked.wait(timeout=30)
        assert partner_imports_sweep_task() == 0
        assert sent == []
    finally:
        release.set()
        holder.join(timeout=30)
    assert partner_imports_sweep_task() == 1


def test_each_committed_chunk_moves_the_heartbeat(worlds, monkeypatch):
    from datetime import timedelta

    from django.utils import timezone

    from partners import csv_io

    alpha, _ = worlds
    monkeypatch.setattr(csv_io, "CHUNK_ROWS", 2)
    monkeypatch.setattr(csv_io, "enqueue_on_commit", lambda task, **kw: None)
    job = start(alpha, rows(5))
    long_ago = timezone.now() - timedelta(hours=1)
    beats = []
    with tenant_scope(alpha.tenant):
        while job.status not in csv_io.FINISHED:
            PartnerImport.objects.filter(pk=job.pk).update(heartbeat_at=long_ago)
            job = csv_io.partner_import_run(import_id=job.pk)
            beats.append(PartnerImport.objects.get(pk=job.pk).heartbeat_at)
    assert len(beats) == 3
    assert all(beat > long_ago + timedelta(minutes=59) for beat in beats)


def test_chunk_size_is_a_setting():
    from partners import csv_io

    assert csv_io.CHUNK_ROWS == settings.PARTNER_IMPORT_CHUNK_ROWS


def test_the_sweepers_run_every_minute_on_the_bulk_queue_and_the_numbers_agree():
    """The figures of DEVELOPERS.md, "Crash recovery": a live bulk job shows a heartbeat far
    more often than the stale threshold; the broker keeps a message unacknowledged longer than
    any task may run; the sweeper acts before the broker would."""
    from config.celery import app
    from incentives.tasks import invite_jobs_sweep_task
    from partners.tasks import partner_imports_sweep_task

    schedule = app.conf.beat_schedule
    for entry, task in (
        ("partner-imports-sweep", partner_imports_sweep_task),
        ("invite-jobs-sweep", invite_jobs_sweep_task),
    ):
        assert schedule[entry]["task"] == task.name
        assert schedule[entry]["schedule"] == settings.BULK_SWEEP_SECONDS == 60
        assert task.uplift_queue == "bulk"
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    assert settings.BULK_STALE_SECONDS == 180
    assert settings.BULK_TASK_SECONDS < settings.BULK_STALE_SECONDS
    assert settings.BULK_TASK_SECONDS < settings.CELERY_TASK_SOFT_TIME_LIMIT
    assert settings.CELERY_TASK_SOFT_TIME_LIMIT < settings.CELERY_TASK_TIME_LIMIT
    longest_delay = settings.AUTO_ENROLL_COALESCE_SECONDS
    assert settings.CELERY_TASK_TIME_LIMIT + longest_delay < visibility
    assert settings.BULK_STALE_SECONDS + settings.BULK_SWEEP_SECONDS < visibility <= 600
    assert settings.CELERY_TASK_ACKS_LATE
    assert settings.CELERY_TASK_REJECT_ON_WORKER_LOST
    assert settings.CELERY_WORKER_PREFETCH_MULTIPLIER == 1
