"""A kept database connection is checked (`SELECT 1`) only after it has been idle: one that
answered within `HEALTH_CHECK_IDLE_SECONDS` goes straight to the request's first statement."""

from __future__ import annotations

import psycopg2
import pytest
from django.db import OperationalError, connection

from tenancy.db import base

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def kept_connection(monkeypatch):
    """The default connection as production keeps it (health checks on, kept between
    requests), and the list of health checks it runs."""
    monkeypatch.setitem(connection.settings_dict, "CONN_HEALTH_CHECKS", True)
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 60)
    connection.close()
    connection.ensure_connection()
    checks = []
    real_is_usable = connection.is_usable

    def is_usable():
        checks.append(True)
        return real_is_usable()

    monkeypatch.setattr(connection, "is_usable", is_usable)
    yield checks
    connection.close()


def backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def terminate(pid: int) -> None:
    killer = psycopg2.connect(**connection.get_connection_params())
    try:
        killer.autocommit = True
        with killer.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    finally:
        killer.close()


def next_request() -> None:
    """What Django does as a request starts (`request_started`)."""
    connection.close_if_unusable_or_obsolete()


def test_a_connection_that_answered_just_now_is_not_checked(kept_connection):
    pid = backend_pid()
    for _ in range(3):
        next_request()
        assert backend_pid() == pid
    assert kept_connection == []


def test_a_connection_idle_for_longer_is_checked_and_replaced_when_dead(kept_connection):
    pid = backend_pid()
    terminate(pid)
    connection.answered_at -= base.HEALTH_CHECK_IDLE_SECONDS + 1
    next_request()
    assert backend_pid() != pid
    assert kept_connection == [True]


def test_a_connection_lost_within_the_second_fails_once_and_is_replaced(kept_connection):
    pid = backend_pid()
    terminate(pid)
    next_request()
    with pytest.raises(OperationalError):
        backend_pid()
    next_request()  # the failed connection is closed as the request ends
    assert backend_pid() != pid
