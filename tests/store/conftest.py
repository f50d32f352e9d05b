"""Stores to run the contract against: a SQLite file, and a PostgreSQL schema of its own.

PostgreSQL: the server is ``TRUCELINE_TEST_PG_URL`` (default
``postgresql://postgres@127.0.0.1:5432/postgres``). The session gets a database of its own with
PostGIS enabled once (enabling PostGIS takes seconds); each test gets a fresh schema in it, named
first on the store URL's ``search_path``, and drops it afterwards. With
``TRUCELINE_REQUIRE_POSTGRES=1`` (CI) a missing server or PostGIS fails the tests instead of
skipping them.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from truceline.adapters.store import open_store
from truceline.services.ports import Store

PG_URL = os.environ.get("TRUCELINE_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REQUIRE_PG = os.environ.get("TRUCELINE_REQUIRE_POSTGRES") == "1"


def pg_unavailable(reason: str) -> None:
    """Skip, or fail when CI says PostgreSQL must be there."""
    if REQUIRE_PG:
        pytest.fail(f"{reason} (TRUCELINE_REQUIRE_POSTGRES=1: PostgreSQL tests must run)",
                    pytrace=False)
    pytest.skip(f"{reason}; set TRUCELINE_TEST_PG_URL to a server with PostGIS")


def with_database(url: str, dbname: str, search_path: str | None = None) -> str:
    """``url`` pointing at another database, optionally with a search_path of its own."""
    parts = urlsplit(url)
    query = parts.query
    if search_path is not None:
        opt = "options=-csearch_path%3D" + search_path.replace(",", "%2C")
        query = f"{query}&{opt}" if query else opt
    return parts._replace(path="/" + dbname, query=query).geturl()


@dataclass
class PgServer:
    """The session's own database on the test server (PostGIS enabled in ``public``)."""

    admin_url: str
    url: str
    dbname: str

    def connect(self, **kw: object):  # -> psycopg.Connection
        import psycopg

        return psycopg.connect(self.url, autocommit=True, **kw)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    try:
        import psycopg
        from psycopg import sql
    except ImportError:  # pragma: no cover - psycopg is a dependency
        pg_unavailable("psycopg is not installed")
    try:
        admin = psycopg.connect(PG_URL, autocommit=True, connect_timeout=5)
    except psycopg.Error as exc:
        pg_unavailable(f"no PostgreSQL server at {PG_URL}: {str(exc).strip().splitlines()[0]}")
    dbname = f"truceline_test_{os.getpid()}_{secrets.token_hex(3)}"
    try:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
    except psycopg.Error as exc:
        admin.close()
        pg_unavailable(f"cannot create a test database on {PG_URL}: {exc}")
    server = PgServer(PG_URL, with_database(PG_URL, dbname), dbname)
    try:
        with server.connect() as conn:
            conn.execute("CREATE EXTENSION postgis")
    except psycopg.Error as exc:
        admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(dbname)))
        admin.close()
        pg_unavailable(f"PostGIS is not available on {PG_URL}: {str(exc).splitlines()[0]}")
    try:
        yield server
    finally:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
                      .format(sql.Identifier(dbname)))
        admin.close()


@pytest.fixture()
def pg_url(pg_server: PgServer) -> Iterator[str]:
    """A store URL whose tables live in a fresh schema of their own (dropped afterwards)."""
    schema = "t_" + secrets.token_hex(6)
    with pg_server.connect() as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    yield with_database(PG_URL, pg_server.dbname, f"{schema},public")
    with pg_server.connect() as conn:
        conn.execute("SET lock_timeout = '10s'")
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


@dataclass
class Backend:
    """Where a store lives; ``open`` may be called several times (processes, reopening)."""

    name: str
    url: str

    def open(self, *, create: bool = True) -> Store:
        return open_store(self.url, create=create)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if request.param == "postgres":
        return Backend("postgres", request.getfixturevalue("pg_url"))
    return Backend("sqlite", str(tmp_path / "store.db"))


@pytest.fixture()
def store(backend: Backend) -> Iterator[Store]:
    s = backend.open()
    yield s
    s.close()


@pytest.fixture()
def second(backend: Backend, request: pytest.FixtureRequest) -> Iterator[Backend]:
    """Another empty store on the same backend (PostgreSQL: a schema of its own), for a
    result made two ways and compared."""
    if backend.name == "sqlite":
        yield Backend("sqlite", backend.url.replace(".db", "-second.db"))
        return
    server = request.getfixturevalue("pg_server")
    schema = "t_" + secrets.token_hex(6)
    with server.connect() as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    yield Backend("postgres", with_database(PG_URL, server.dbname, f"{schema},public"))
    with server.connect() as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture()
def opened(backend: Backend) -> Iterator[Callable[..., Store]]:
    """Open more stores on the backend's database; all closed at teardown."""
    stores: list[Store] = []

    def make(**kw: bool) -> Store:
        stores.append(backend.open(**kw))
        return stores[-1]

    yield make
    for s in stores:
        s.close()
