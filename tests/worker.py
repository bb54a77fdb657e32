"""A real Celery worker process on the test database and this test process's Redis database."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import dj_database_url
from django.conf import settings
from django.db import connection

from config.celery import app
from tenancy import tasking

QUEUES = ",".join(tasking.QUEUES)


def _test_database(url: str) -> str:
    database = dj_database_url.parse(url)
    return (
        f"postgres://{database['USER']}:{database['PASSWORD'] or ''}@{database['HOST']}:"
        f"{database['PORT']}/{connection.settings_dict['NAME']}"
    )


def child_environment(**extra: str) -> dict[str, str]:
    """The environment of a Celery process the tests start: the test settings on the test
    database, plus `extra` (settings that read the environment, such as `TEST_REDIS_URL`)."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": _test_database(settings.DATABASE_URL),
        "DATABASE_UNSCOPED_URL": _test_database(settings.DATABASE_UNSCOPED_URL),
        "SITE_URL": os.environ.get("SITE_URL", "http://testserver"),
        **extra,
    }


class WorkerProcess:
    """A worker on every queue. `env` adds settings for this worker only; `name` names its log
    (`<name>.log` beside the mail folder); `purge` empties the queues before it starts."""

    def __init__(
        self, mail_dir: Path, *, env: dict[str, str] | None = None, name: str = "worker"
    ) -> None:
        self.mail_dir = mail_dir
        self.env = env or {}
        self.name = name
        self.process: subprocess.Popen | None = None

    @property
    def log_path(self) -> Path:
        return self.mail_dir.parent / f"{self.name}.log"

    def start(self, *, purge: bool = True) -> None:
        if purge:
            app.control.purge()  # messages left in this Redis database by an earlier run
        env = child_environment(
            EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
            EMAIL_FILE_PATH=str(self.mail_dir),
            **self.env,
        )
        name = f"test-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}-{os.getpid()}@%h"
        self.log = open(self.log_path, "w")  # noqa: SIM115
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

    def kill(self) -> None:
        """SIGKILL to the worker's main process alone, as an out-of-memory kill or a lost
        machine would end it: no warm shutdown, its message is neither acknowledged nor given
        back. (Its pool process dies with it: Celery asks the kernel for that.)"""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=20)
        self.log.close()
        self.process = None

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
        return self.log_path.read_text()

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


class BeatProcess:
    """Celery beat with its schedule in a file of its own (not the database scheduler's tables,
    which the tests empty), on the broker `env` names, logging to `<folder>/beat.log`."""

    def __init__(self, folder: Path, *, env: dict[str, str] | None = None) -> None:
        self.folder = folder
        self.env = env or {}
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.log = open(self.folder / "beat.log", "w")  # noqa: SIM115
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "beat",
                "--loglevel",
                "INFO",
                "--scheduler",
                "celery.beat:PersistentScheduler",
                "--schedule",
                str(self.folder / "beat-schedule"),
                "--max-interval",
                "1",
            ],
            env=child_environment(**self.env),
            stdout=self.log,
            stderr=subprocess.STDOUT,
            cwd=settings.BASE_DIR,
        )

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process:
            self.log.close()
        self.process = None

    def log_text(self) -> str:
        return (self.folder / "beat.log").read_text()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RedisServer:
    """A Redis server of a test's own on a free local port, without persistence: a test may
    kill it and start it again on the same port, which empties it, as a restart of a Redis
    without a snapshot does. (The Redis the rest of the suite shares is never touched.)"""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    def start(self, timeout: float = 20) -> None:
        self.log = open(self.folder / f"redis-{self.port}.log", "a")  # noqa: SIM115
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--databases",
                "64",
                "--dir",
                str(self.folder),
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while not self._answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"redis-server did not start on port {self.port}")
            time.sleep(0.05)

    def _answers(self) -> bool:
        with socket.socket() as probe:
            probe.settimeout(1)
            try:
                probe.connect(("127.0.0.1", self.port))
                probe.sendall(b"PING\r\n")
                return probe.recv(16).startswith(b"+PONG")
            except OSError:
                return False

    def kill(self) -> None:
        """SIGKILL: the server is gone at once, and what it held with it."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=20)
        if self.process:
            self.log.close()
        self.process = None


@contextlib.contextmanager
def broker_of_this_process(url: str) -> Iterator[None]:
    """Point this process's Celery app (what the web process sends with) at another Redis
    for the block, with pools and a result backend of its own; the app's own are set aside and
    given back afterwards."""
    saved = (
        app.conf.broker_url,
        app.conf.result_backend,
        app._pool,
        app.amqp._producer_pool,
        app._backend_cache,
        getattr(app._local, "backend", None),
    )

    def use(broker, backend, pool, producers, backend_cache, local_backend) -> None:
        app.conf.broker_url, app.conf.result_backend = broker, backend
        app._pool, app.amqp._producer_pool = pool, producers
        app._backend_cache, app._local.backend = backend_cache, local_backend

    db = settings.REDIS_URL.rsplit("/", 1)[1]
    use(f"{url}/{db}", f"{url}/{db}", None, None, None, None)
    try:
        yield
    finally:
        if app._pool is not None:
            app._pool.force_close_all()
        use(*saved)
