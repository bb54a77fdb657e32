"""Connection URLs of the benchmark database, derived from the project's own settings variables.

`DATABASE_OWNER_URL` and `DATABASE_URL` name the server and the roles (as for `manage.py`); only
the database name is swapped for the benchmark's, so a benchmark never touches the main database.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg2

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
DEFAULT_DATABASE = "uplift_bench"
DEFAULT_TENANT = "bench"
OWNER_URL = "postgres://postgres@127.0.0.1:5432/uplift"
APP_URL = "postgres://uplift_app@127.0.0.1:5432/uplift"


def _with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{database}"))


def owner_url(database: str) -> str:
    """The owner of the tables (a superuser here), on `database`."""
    return _with_database(os.environ.get("DATABASE_OWNER_URL", OWNER_URL), database)


def app_url(database: str) -> str:
    """The application role (neither superuser nor BYPASSRLS), on `database`."""
    return _with_database(os.environ.get("DATABASE_URL", APP_URL), database)


def unscoped_url(database: str) -> str:
    """The unscoped role (platform admin, fan-out jobs), on `database`."""
    return _with_database(
        os.environ.get("DATABASE_UNSCOPED_URL", "postgres://uplift_unscoped@127.0.0.1:5432/uplift"),
        database,
    )


def secret_key() -> str:
    """The benchmark's SECRET_KEY, made once and kept in `bench/out/`: `migrate` stores a key
    derived from it (the signature of a user's claim to their own memberships), so the servers
    a benchmark starts must run with the same one."""
    path = OUT / "secret_key"
    if not path.exists():
        OUT.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


def connect(url: str, *, autocommit: bool = False):
    conn = psycopg2.connect(url)
    conn.autocommit = autocommit
    return conn


def token_path() -> Path:
    return OUT / "token"


def configured_databases() -> set[str]:
    """The databases the project's settings point at, which a benchmark must never recreate."""
    urls = (
        os.environ.get("DATABASE_OWNER_URL", OWNER_URL),
        os.environ.get("DATABASE_URL", APP_URL),
    )
    return {urlsplit(url).path.lstrip("/") for url in urls}
