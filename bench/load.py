"""HTTP load: a fixed number of concurrent clients for a fixed time, reporting throughput and
latency percentiles.

`wrk` when it is installed (or can be, with apt-get); otherwise a load generator in Python:
asyncio with raw HTTP/1.1 keep-alive connections, one coroutine a client, reconnecting when the
server closes the connection (gunicorn's sync workers close it after every response).
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import time
from dataclasses import asdict, dataclass
from urllib.parse import urlsplit

WRK_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


@dataclass
class LoadResult:
    requests: int
    seconds: float
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int  # socket errors and responses other than 2xx/3xx

    def as_dict(self) -> dict:
        return asdict(self)


# --- wrk -----------------------------------------------------------------------------------------


def find_wrk(install: bool = True) -> str | None:
    """The path of `wrk`; installs it with apt-get when missing and allowed (as root)."""
    found = shutil.which("wrk")
    if found or not install:
        return found
    apt = shutil.which("apt-get")
    if apt is None or os.geteuid() != 0:
        print("wrk is not installed and cannot be installed here; using the Python client.")
        return None
    print("wrk is not installed: installing it with `apt-get install -y wrk`…", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = [apt, "install", "-y", "wrk"]
    if subprocess.run(install, capture_output=True, env=env, check=False).returncode != 0:
        # A fresh machine may have no package lists yet.
        subprocess.run([apt, "update"], capture_output=True, env=env, check=False)
        subprocess.run(install, capture_output=True, env=env, check=False)
    found = shutil.which("wrk")
    print(f"wrk {'installed' if found else 'could not be installed; using the Python client'}.")
    return found


def parse_wrk(output: str) -> LoadResult:
    """Requests, duration, requests/s, the 50th and 99th percentiles and errors from the text
    `wrk --latency` prints."""

    def latency(percent: str) -> float:
        match = re.search(rf"^\s*{percent}%\s+([\d.]+)(us|ms|s|m)\s*$", output, re.MULTILINE)
        if match is None:
            raise ValueError(f"no {percent}% latency in wrk output:\n{output}")
        return float(match[1]) * WRK_UNITS[match[2]]

    done = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)", output)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if done is None or rate is None:
        raise ValueError(f"unexpected wrk output:\n{output}")
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = sum(map(int, sockets.groups())) if sockets else 0
    errors += int(non_2xx[1]) if non_2xx else 0
    return LoadResult(
        requests=int(done[1]),
        seconds=float(done[2]) * WRK_UNITS[done[3]] / 1000,
        requests_per_second=float(rate[1]),
        p50_ms=round(latency("50"), 2),
        p99_ms=round(latency("99"), 2),
        errors=errors,
    )


def run_wrk(
    wrk: str, url: str, headers: dict[str, str], clients: int, seconds: int, threads: int
) -> LoadResult:
    # A long timeout: a slow endpoint's tail belongs in its p99, not among its errors.
    command = [
        wrk,
        "--latency",
        f"-t{threads}",
        f"-c{clients}",
        f"-d{seconds}s",
        "--timeout",
        "60s",
    ]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    done = subprocess.run([*command, url], capture_output=True, text=True, check=True)
    return parse_wrk(done.stdout)


# --- the Python client ---------------------------------------------------------------------------


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """Reads one response; returns its status and whether the connection stays open."""
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
    status = int(head[0].split()[1])
    fields = {}
    for line in head[1:]:
        name, _, value = line.partition(":")
        fields[name.strip().lower()] = value.strip().lower()
    if "content-length" in fields:
        await reader.readexactly(int(fields["content-length"]))
    elif fields.get("transfer-encoding") == "chunked":
        while size := int((await reader.readuntil(b"\r\n")).strip(), 16):
            await reader.readexactly(size + 2)
        await reader.readuntil(b"\r\n")
    else:
        await reader.read()
        return status, False
    return status, fields.get("connection") != "close"


async def _client(
    host: str, port: int, request: bytes, deadline: float, latencies: list, errors: list
) -> None:
    reader = writer = None
    while time.perf_counter() < deadline:
        if writer is None:
            reader, writer = await asyncio.open_connection(host, port)
        started = time.perf_counter()
        try:
            writer.write(request)
            status, keep_alive = await _read_response(reader)
        except (OSError, asyncio.IncompleteReadError, ValueError):
            errors.append(1)
            writer.close()
            writer = None
            continue
        latencies.append(time.perf_counter() - started)
        if status >= 400:
            errors.append(1)
        if not keep_alive:
            writer.close()
            writer = None
    if writer is not None:
        writer.close()


async def _drive(url: str, headers: dict[str, str], clients: int, seconds: float) -> LoadResult:
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    lines = [f"GET {target} HTTP/1.1", f"Host: {parts.netloc}", "Connection: keep-alive"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode()
    latencies: list[float] = []
    errors: list[int] = []
    started = time.perf_counter()
    deadline = started + seconds
    await asyncio.gather(
        *(
            _client(parts.hostname, parts.port, request, deadline, latencies, errors)
            for _ in range(clients)
        )
    )
    elapsed = time.perf_counter() - started
    ordered = sorted(latencies) or [0.0]

    def percentile(share: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000, 2)

    return LoadResult(
        requests=len(latencies),
        seconds=round(elapsed, 2),
        requests_per_second=round(len(latencies) / elapsed, 2),
        p50_ms=percentile(0.50),
        p99_ms=percentile(0.99),
        errors=len(errors),
    )


def run_python(url: str, headers: dict[str, str], clients: int, seconds: int) -> LoadResult:
    return asyncio.run(_drive(url, headers, clients, seconds))


def run_load(
    wrk: str | None,
    url: str,
    headers: dict[str, str],
    clients: int,
    seconds: int,
    threads: int = 1,
) -> LoadResult:
    if wrk:
        return run_wrk(wrk, url, headers, clients, seconds, threads)
    return run_python(url, headers, clients, seconds)
