"""The partner and program list APIs under load, next to a bare DRF endpoint measured in the
same run, before and after each of them.

    .venv/bin/python -m bench.lists [--database uplift_bench] [--clients 32] [--seconds 20]

Needs the database `bench.generate` builds (`make bench-data`). Starts gunicorn as production
runs it (2 sync workers, production settings, the application role, so row-level security is in
every query), then puts each endpoint under `--clients` concurrent clients for `--seconds`: the
partner list, the program list with live figures and a filtered partner list, each between two
runs of the bare endpoint. Prints requests/s, p50 and p99 with ratios to those two runs and
writes them to `bench/out/lists.json`. Gunicorn is stopped at the end, whatever happens.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.error import HTTPError, URLError

import psycopg2

from bench.db import (
    DEFAULT_DATABASE,
    DEFAULT_TENANT,
    OUT,
    ROOT,
    app_url,
    secret_key,
    token_path,
    unscoped_url,
)
from bench.load import find_wrk, run_load

HOST = "127.0.0.1"
WORKERS = 2
STARTUP_TIMEOUT = 30
STOP_TIMEOUT = 15
WARM_UP_SECONDS = 3


@dataclass(frozen=True)
class Endpoint:
    name: str
    path: str
    kind: str = "api"  # `api` (token) or `page` (a signed-in session)


BASELINE = Endpoint("bare DRF list (baseline)", "/bench/bare/")


def endpoints(tenant: str, gold_tier_id: int | None) -> list[Endpoint]:
    """The endpoints compared with the baseline: every list of the tenant API, every list page
    and the dashboard home."""
    api, page = f"/api/v1/t/{tenant}", f"/t/{tenant}"
    found = [
        Endpoint("API partners", f"{api}/partners/?page_size=50"),
        Endpoint("API partners, search", f"{api}/partners/?q=meridian&page_size=50"),
        Endpoint("API programs", f"{api}/programs/?page_size=50"),
        Endpoint("API enrollments", f"{api}/enrollments/?page_size=50"),
        Endpoint("API members", f"{api}/members/?page_size=50"),
        Endpoint("API invitations", f"{api}/invitations/?page_size=50"),
        Endpoint("API partner imports", f"{api}/partner-imports/?page_size=50"),
        Endpoint("API tiers", f"{api}/tiers/"),
        Endpoint("page dashboard", f"{page}/", kind="page"),
        Endpoint("page partners", f"{page}/partners/", kind="page"),
        Endpoint("page programs", f"{page}/programs/", kind="page"),
        Endpoint("page people", f"{page}/members/", kind="page"),
        Endpoint("page partner import", f"{page}/partners/import/", kind="page"),
    ]
    if gold_tier_id is not None:
        query = f"type=var&tier={gold_tier_id}&page_size=50"
        found.insert(1, Endpoint("API partners, VAR + Gold", f"{api}/partners/?{query}"))
    return found


# --- gunicorn ------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def server_environment(database: str) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DATABASE_URL": app_url(database),
        "DATABASE_UNSCOPED_URL": unscoped_url(database),
        "SECRET_KEY": secret_key(),
        "PYTHONUNBUFFERED": "1",
    }


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, object]:
    """Status and decoded body of one request (JSON when it is), asked directly (never through
    a proxy)."""
    request = urllib.request.Request(url)  # noqa: S310  (a loopback URL this module builds)
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=30) as response:
            body = response.read()
            if "json" not in response.headers.get("Content-Type", ""):
                return response.status, body.decode(errors="replace")
            return response.status, json.loads(body or b"null")
    except HTTPError as error:
        return error.code, None


def session_cookie(database: str) -> str:
    """A signed-in session of the bench tenant's admin, made by the application itself (in a
    process with the server's settings), for the pages."""
    script = (
        "import django; django.setup();"
        "from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY;"
        "from django.contrib.sessions.backends.cached_db import SessionStore;"
        "from tenancy.models import User;"
        "user = User.objects.get(email='admin@bench.example');"
        "s = SessionStore();"
        "s[SESSION_KEY] = str(user.pk);"
        "s[BACKEND_SESSION_KEY] = 'tenancy.auth.ModelBackend';"
        "s[HASH_SESSION_KEY] = user.get_session_auth_hash();"
        "s.create(); print(s.session_key)"
    )
    output = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=server_environment(database),
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return f"sessionid={output.strip().splitlines()[-1]}"


@dataclass(frozen=True)
class Credentials:
    token: str
    cookie: str

    def headers(self, endpoint: Endpoint) -> dict[str, str]:
        if endpoint.kind == "page":
            return {"Cookie": self.cookie}
        return {"Authorization": f"Token {self.token}"}


def wait_until_up(process: subprocess.Popen, base_url: str) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while True:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited ({process.returncode}); see bench/out/gunicorn.log")
        try:
            if get(f"{base_url}/healthz")[0] == 200:
                return
        except (URLError, OSError):
            pass
        if time.monotonic() > deadline:
            raise SystemExit(f"gunicorn did not answer within {STARTUP_TIMEOUT} s")
        time.sleep(0.2)


def stop(process: subprocess.Popen) -> None:
    """SIGTERM to the master (a graceful stop of its workers), SIGKILL to its own process group
    if it outlives STOP_TIMEOUT."""
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@contextmanager
def gunicorn(database: str, port: int) -> Iterator[str]:
    """Runs gunicorn for the duration of the block; yields its base URL."""
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "config.wsgi:application",
        "--bind",
        f"{HOST}:{port}",
        "--workers",
        str(WORKERS),
        "--worker-class",
        "sync",
    ]
    OUT.mkdir(parents=True, exist_ok=True)
    with open(OUT / "gunicorn.log", "w") as log:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=server_environment(database),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            base_url = f"http://{HOST}:{port}"
            wait_until_up(process, base_url)
            yield base_url
        finally:
            stop(process)


# --- the run -------------------------------------------------------------------------------------


def check_database(database: str) -> None:
    try:
        psycopg2.connect(app_url(database)).close()
    except psycopg2.OperationalError as error:
        raise SystemExit(
            f"Cannot reach {database} ({error}); run `make bench-data` first."
        ) from None


def read_token(database: str) -> str:
    """The API token `bench.generate` wrote, refused when it was written for another database."""
    path, summary = token_path(), OUT / "data.json"
    if not path.exists() or not summary.exists():
        raise SystemExit(f"No {path.relative_to(ROOT)}; run `make bench-data` first.")
    built_for = json.loads(summary.read_text()).get("database")
    if built_for != database:
        raise SystemExit(
            f"{path.relative_to(ROOT)} is a token of {built_for}; rebuild {database} with"
            f" `python -m bench.generate --database {database}`."
        )
    return path.read_text().strip()


def gold_tier(base_url: str, tenant: str, token: str) -> int | None:
    headers = {"Authorization": f"Token {token}"}
    status, body = get(f"{base_url}/api/v1/t/{tenant}/tiers/?page_size=100", headers)
    if status != 200:
        return None
    rows = body.get("results", []) if isinstance(body, dict) else body
    return next((row["id"] for row in rows if row["name"] == "Gold"), None)


def probe(base_url: str, endpoint: Endpoint, credentials: Credentials) -> dict:
    """The endpoint's status and, for a list, its `count` (which shows whether a filter held)."""
    status, body = get(base_url + endpoint.path, credentials.headers(endpoint))
    row = {"endpoint": endpoint.name, "kind": endpoint.kind, "path": endpoint.path}
    row["status"] = status
    if isinstance(body, dict) and "count" in body:
        row["count"] = body["count"]
    if status != 200:
        print(f"  {endpoint.name}: HTTP {status}, not measured", flush=True)
    return row


def measure(base_url: str, endpoint: Endpoint, credentials, options, wrk: str | None) -> dict:
    """Warms the endpoint up, then measures it."""
    load = (wrk, base_url + endpoint.path, credentials.headers(endpoint), options.clients)
    run_load(*load, min(WARM_UP_SECONDS, options.seconds), options.threads)
    result = run_load(*load, options.seconds, options.threads).as_dict()
    print(f"  {endpoint.name}: {result['requests_per_second']:.0f} req/s", flush=True)
    return {"endpoint": endpoint.name, "kind": endpoint.kind, "path": endpoint.path, **result}


def measure_interleaved(base_url: str, targets: list[Endpoint], credentials, options, wrk):
    """Baseline, first endpoint, baseline, second endpoint, …, baseline. Each endpoint is
    compared with the baseline runs just before and after it, so a machine whose load changes
    during the run (other work on it) skews a ratio far less than one baseline at the start.
    Returns the baseline runs and the endpoints' rows with their ratios."""
    baselines = [measure(base_url, BASELINE, credentials, options, wrk)]
    rows = []
    for endpoint in targets:
        row = measure(base_url, endpoint, credentials, options, wrk)
        baselines.append(measure(base_url, BASELINE, credentials, options, wrk))
        rows.append(with_ratios(row, baselines[-2:]))
    return baselines, rows


def with_ratios(row: dict, around: list[dict]) -> dict:
    """Throughput and p99 as multiples of the mean of the baseline runs around the row."""
    rate = sum(b["requests_per_second"] for b in around) / len(around)
    p99 = sum(b["p99_ms"] for b in around) / len(around)
    return {
        **row,
        "baseline_requests_per_second": round(rate, 2),
        "baseline_p99_ms": round(p99, 2),
        "throughput_ratio": round(row["requests_per_second"] / rate, 3),
        "p99_ratio": round(row["p99_ms"] / p99, 2),
    }


def summarise_baseline(baselines: list[dict]) -> dict:
    rates = [b["requests_per_second"] for b in baselines]
    return {
        "endpoint": BASELINE.name,
        "kind": BASELINE.kind,
        "path": BASELINE.path,
        "runs": len(baselines),
        "requests": sum(b["requests"] for b in baselines),
        "seconds": round(sum(b["seconds"] for b in baselines), 2),
        "requests_per_second": round(sum(rates) / len(rates), 2),
        "p50_ms": round(sum(b["p50_ms"] for b in baselines) / len(baselines), 2),
        "p99_ms": round(sum(b["p99_ms"] for b in baselines) / len(baselines), 2),
        "errors": sum(b["errors"] for b in baselines),
        "lowest_requests_per_second": min(rates),
        "highest_requests_per_second": max(rates),
        "throughput_ratio": 1.0,
        "p99_ratio": 1.0,
    }


# Targets of issue 7: (least throughput ratio to the bare list, highest p99 in ms) by kind.
TARGETS = {"api": (1.0, 100.0), "page": (0.75, 150.0)}


def public_row(row: dict) -> dict:
    """The row as `lists.json` reports it: `name`, `kind`, `rps`, `p50_ms`, `p99_ms`,
    `ratio_to_bare_list` first, then the details of the run."""
    if "requests_per_second" not in row:
        return {"name": row["endpoint"], "kind": row.get("kind", "api"), **row}
    ratio = row["throughput_ratio"]
    kind = row.get("kind", "api")
    least, p99_limit = TARGETS.get(kind, (1.0, 100.0))
    return {
        "name": row["endpoint"],
        "kind": kind,
        "rps": row["requests_per_second"],
        "p50_ms": row["p50_ms"],
        "p99_ms": row["p99_ms"],
        "ratio_to_bare_list": ratio,
        "meets_target": row["endpoint"] == BASELINE.name
        or (ratio >= least and row["p99_ms"] <= p99_limit),
        **row,
    }


def print_table(rows: list[dict]) -> None:
    print(
        f"\n{'endpoint':<28} {'kind':<5} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7}"
        f" {'ratio to bare':>13} {'target':>15} {'errors':>6}"
    )
    for row in rows:
        if "rps" not in row:
            print(f"{row['name']:<28} not measured: HTTP {row['status']} at {row['path']}")
            continue
        if row["requests"] == 0:
            print(f"{row['name']:<28} no request completed in {row['seconds']:.0f} s")
            continue
        least, p99_limit = TARGETS.get(row["kind"], (1.0, 100.0))
        target = f">={least:.2f}x,<={p99_limit:.0f}ms"
        mark = "" if row["meets_target"] else " MISS"
        print(
            f"{row['name']:<28} {row['kind']:<5} {row['rps']:>7.0f} {row['p50_ms']:>7.1f}"
            f" {row['p99_ms']:>7.1f} {row['ratio_to_bare_list']:>12.3f}x {target:>15}"
            f" {row['errors']:>6}{mark}"
        )


def parse_arguments(argv: list[str] | None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default=DEFAULT_DATABASE)
    parser.add_argument("--tenant", default=DEFAULT_TENANT)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument(
        "--only", nargs="*", default=[], help="measure only endpoints whose name has one of these"
    )
    # One wrk thread drives thousands of requests a second; on a small machine a second one
    # only takes CPU from the server under test.
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (default 1)")
    parser.add_argument(
        "--client",
        choices=["auto", "wrk", "python"],
        default="auto",
        help="load generator: wrk (installed if missing), the Python client, or auto",
    )
    return parser.parse_args(argv)


def load_generator(choice: str) -> str | None:
    if choice == "python":
        return None
    wrk = find_wrk(install=True)
    if wrk is None and choice == "wrk":
        raise SystemExit("wrk is not available.")
    return wrk


def run(options, token: str, wrk: str | None) -> tuple[list[dict], list[dict]]:
    """Starts gunicorn, probes every endpoint, measures those answering 200 between baseline
    runs; returns the baseline runs and one row an endpoint, the baseline's summary first."""
    credentials = Credentials(token=token, cookie=session_cookie(options.database))
    with gunicorn(options.database, free_port()) as base_url:
        targets = endpoints(options.tenant, gold_tier(base_url, options.tenant, token))
        if options.only:
            targets = [e for e in targets if any(word in e.name for word in options.only)]
        if probe(base_url, BASELINE, credentials)["status"] != 200:
            raise SystemExit("The baseline endpoint does not answer 200.")
        probes = {e: probe(base_url, e, credentials) for e in targets}
        answering = [e for e in targets if probes[e]["status"] == 200]
        baselines, measured = measure_interleaved(base_url, answering, credentials, options, wrk)
    by_path = {row["path"]: row for row in measured}
    rows = [{**probes[e], **by_path.get(e.path, {})} for e in targets]
    return baselines, [summarise_baseline(baselines), *rows]


def main(argv: list[str] | None = None) -> int:
    options = parse_arguments(argv)
    # A SIGTERM ends the run through the same `finally` as Ctrl-C, so gunicorn is stopped.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    check_database(options.database)
    token = read_token(options.database)
    wrk = load_generator(options.client)
    threads = f"{options.threads} thread{'s' if options.threads > 1 else ''}"
    tool = f"wrk ({threads})" if wrk else "Python asyncio client"
    print(
        f"{options.clients} clients x {options.seconds} s an endpoint, gunicorn {WORKERS} sync"
        f" workers, load by {tool}, {os.cpu_count()} CPUs",
        flush=True,
    )
    baselines, rows = run(options, token, wrk)
    rows = [public_row(row) for row in rows]
    print_table(rows)
    summary = rows[0]
    print(
        f"Baseline: mean of {summary['runs']} runs, one before and after each endpoint, between"
        f" {summary['lowest_requests_per_second']:.0f} and"
        f" {summary['highest_requests_per_second']:.0f} req/s; each ratio is to the two runs"
        " around its endpoint."
    )
    report = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "database": options.database,
        "tenant": options.tenant,
        "clients": options.clients,
        "seconds": options.seconds,
        "load_generator": tool,
        "server": f"gunicorn, {WORKERS} sync workers, bench.settings (production)",
        "cpus": os.cpu_count(),
        "baseline_runs": baselines,
        "results": rows,
    }
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "lists.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nWritten to {(OUT / 'lists.json').relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
