"""A real Celery worker process on the test database and this test process's Redis database."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import dj_database_url
from django.conf import settings
from django.db import connection

from config.celery import app
from tenancy import tasking

QUEUES = ",".join(tasking.QUEUES)


class WorkerProcess:
    def __init__(self, mail_dir: Path) -> None:
        self.mail_dir = mail_dir
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        app.control.purge()  # messages left in this Redis database by an earlier run

        def test_database(url: str) -> str:
            database = dj_database_url.parse(url)
            return (
                f"postgres://{database['USER']}:{database['PASSWORD'] or ''}@{database['HOST']}:"
                f"{database['PORT']}/{connection.settings_dict['NAME']}"
            )

        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "DATABASE_URL": test_database(settings.DATABASE_URL),
            "DATABASE_UNSCOPED_URL": test_database(settings.DATABASE_UNSCOPED_URL),
            "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "EMAIL_FILE_PATH": str(self.mail_dir),
            "SITE_URL": os.environ.get("SITE_URL", "http://testserver"),
        }
        name = f"test-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}-{os.getpid()}@%h"
        self.log = open(self.mail_dir.parent / "worker.log", "w")  # noqa: SIM115
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "-Q",
                QUEUES,
                "--concurrency",
                "1",
                "--loglevel",
                "INFO",
                "-n",
                name,
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            cwd=settings.BASE_DIR,
        )

    def set_site_url(self, url: str) -> None:
        """Restart with another SITE_URL (links in emails point at the live server)."""
        self.stop()
        os.environ["SITE_URL"] = url
        self.start()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
        if self.process:
            self.log.close()
        self.process = None

    def log_text(self) -> str:
        return (self.mail_dir.parent / "worker.log").read_text()

    def clear_mails(self) -> None:
        for path in self.mail_dir.glob("*.log"):
            path.unlink()

    def mails(self) -> list[str]:
        """The mails written so far; one still being written (Django's file backend creates the
        file first and ends each message with a line of dashes) is not counted yet."""
        texts = [p.read_text() for p in sorted(self.mail_dir.glob("*.log"))]
        return [text for text in texts if text.endswith("-" * 79 + "\n")]

    def wait_for_mails(self, count: int, timeout: float = 30) -> list[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            mails = self.mails()
            if len(mails) >= count:
                return mails
            time.sleep(0.1)
        raise AssertionError(
            f"{count} mails expected, {len(self.mails())} arrived:\n{self.log_text()}"
        )


def settle(tenant_id: int, *, timeout: float = 120) -> None:
    """Wait until the worker has handled everything a test's writes set going: the outbox's
    relays and deliveries (events) and the re-syncs they ask for (bulk). A healthcheck sent
    to a queue returns after every message sent to it before; the outbox is settled when no
    event of the tenant is left undelivered."""
    from tenancy.context import tenant_scope
    from tenancy.models import DomainEvent
    from tenancy.tasks import tenant_healthcheck_task

    deadline = time.monotonic() + timeout
    while True:
        for queue in ("events", "bulk"):
            tenant_healthcheck_task.apply_async(kwargs={"tenant_id": tenant_id}, queue=queue).get(
                timeout=timeout
            )
        with tenant_scope(tenant_id):
            if not DomainEvent.objects.filter(delivered_at__isnull=True).exists():
                return
        if time.monotonic() > deadline:
            raise AssertionError("events of the tenant are still undelivered")
