"""`make demo` keeps its worker and beat running: one that dies (its Redis restarted under it,
an out-of-memory kill) is started again and the demo carries on; one that keeps dying, or the web
server dying, ends the demo with the log's tail. Real processes of a trivial command stand in for
the services, so the supervision runs as it does in the demo, in a second."""

from __future__ import annotations

import signal
import sys
import time

import pytest

from config import demo

SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]


@pytest.fixture
def services(tmp_path, monkeypatch):
    monkeypatch.setattr(demo, "LOG_DIR", tmp_path)
    monkeypatch.setattr(demo, "ROOT", tmp_path)
    commands = {"web": SLEEPER, "worker": SLEEPER, "beat": SLEEPER}
    monkeypatch.setattr(demo, "service_commands", lambda: commands)
    started = demo.start_services({"PATH": "/usr/bin:/bin"})
    yield started
    demo.stop_services(started)


def _kill(process) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)


def test_a_dead_worker_and_beat_are_started_again_and_the_demo_carries_on(services, tmp_path):
    worker, beat = services["worker"], services["beat"]
    (tmp_path / "worker.log").write_text("Traceback: AttributeError: ... 'hostname'\n")
    _kill(worker)
    _kill(beat)

    demo.check_services(services)  # does not raise: the demo goes on

    assert services["worker"] is not worker
    assert services["beat"] is not beat
    assert services["worker"].poll() is None
    assert services["beat"].poll() is None
    # The log of the process that died is kept, for whoever wonders why it restarted.
    assert "'hostname'" in (tmp_path / "worker.log").read_text()


def test_a_worker_that_keeps_dying_ends_the_demo(services, monkeypatch):
    monkeypatch.setattr(demo, "MAX_RESTARTS", 2)
    for _ in range(2):
        _kill(services["worker"])
        demo.check_services(services)
    _kill(services["worker"])
    with pytest.raises(demo.DemoFailed, match="worker"):
        demo.check_services(services)


def test_restarts_long_ago_do_not_count(services, monkeypatch):
    monkeypatch.setattr(demo, "MAX_RESTARTS", 1)
    monkeypatch.setattr(demo, "RESTART_WINDOW", 0.5)
    _kill(services["beat"])
    demo.check_services(services)
    time.sleep(0.6)
    _kill(services["beat"])
    demo.check_services(services)
    assert services["beat"].poll() is None


def test_the_web_server_dying_ends_the_demo(services):
    _kill(services["web"])
    with pytest.raises(demo.DemoFailed, match="web"):
        demo.check_services(services)


def test_the_demo_worker_runs_without_the_cluster_chatter_that_breaks_on_a_reconnect():
    worker = demo.service_commands()["worker"]
    assert {"--without-gossip", "--without-mingle", "--without-heartbeat"} <= set(worker)
