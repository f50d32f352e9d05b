"""The shared store: PostgreSQL + PostGIS, for a mission with many concurrent users.

The logic is :class:`~truceline.adapters.store.sql.SQLStore`'s; this module is the dialect:

- **One connection per store object**, guarded by a lock, so a store is cheap to open (connect
  plus one query when the schema is current) and a server can keep one store per worker.
- **Autocommit for reads, explicit transactions for writes.** A read outside a transaction is
  one statement and one round trip, and never leaves the session "idle in transaction" holding a
  snapshot; writes run in ``BEGIN ISOLATION LEVEL READ COMMITTED`` … ``COMMIT``.
- **One writer at a time.** Every write transaction first takes
  ``pg_advisory_xact_lock(RECORD_LOCK)``. ``SQLStore._append`` reads the tree's size and peaks
  and then inserts the next entries: under the lock no two transactions can read the same size,
  so the record stays gap-free and strictly ordered with any number of processes appending.
  READ COMMITTED is pinned because each statement after the lock then sees every commit made
  before it; under REPEATABLE READ the snapshot would predate the wait and the lock would not help.
- **Byte-order text.** Text columns use ``COLLATE "C"`` so ``ORDER BY time, id`` is the same
  order as SQLite's, whatever the database's locale: findings must not depend on the backend.
- **PostGIS.** ``geom geometry(Point, 4326)`` on observations, incidents and findings is a
  *generated* column over ``lon``/``lat``, so the shared SQL never has to know about it, with a
  GiST index on ``geom`` (bounding boxes, OGC API ``bbox``) and one on ``geom::geography``
  (``ST_DWithin`` in metres).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Sequence
from contextlib import suppress
from functools import lru_cache
from typing import Any, TypeVar

import psycopg
from psycopg import errors as pgerrors
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from truceline.adapters.store.notifications import NotificationTables
from truceline.adapters.store.openings import PG_ENTRY_OPENINGS, SCHEMA_OPENINGS, OpeningsTable
from truceline.adapters.store.schema import (
    SCHEMA_COPY_INDEX,
    SCHEMA_DAY_REPORTS,
    SCHEMA_DERIVED,
    SCHEMA_FUSION_DAYS,
    SCHEMA_INCIDENT_ENTRIES,
    SCHEMA_PERIOD_INDEXES,
    SCHEMA_V1,
    SCHEMA_V2,
    SCHEMA_V3,
    SCHEMA_V4,
)
from truceline.adapters.store.sql import SQLStore
from truceline.errors import ConflictError, StoreError

T = TypeVar("T")

#: Key of the transaction-scoped advisory lock every write transaction takes ("truce" in ASCII).
RECORD_LOCK = 0x7472756365


def _pg_table(stmt: str) -> str:
    """The neutral schema in PostgreSQL types: BLOB is BYTEA, TEXT compares bytewise, and
    SQLite's ``WITHOUT ROWID`` table option (a storage layout only) is dropped."""
    stmt = re.sub(r"\s*\bWITHOUT ROWID\s*$", "", stmt)
    return re.sub(r"\bTEXT\b", 'TEXT COLLATE "C"', re.sub(r"\bBLOB\b", "BYTEA", stmt))


def _geom_sql(table: str) -> list[str]:
    return [
        f"ALTER TABLE {table} ADD COLUMN geom geometry(Point, 4326) "
        "GENERATED ALWAYS AS (ST_SetSRID(ST_MakePoint(lon, lat), 4326)) STORED",
        f"CREATE INDEX {table}_geom ON {table} USING GIST (geom)",
        f"CREATE INDEX {table}_geog ON {table} USING GIST ((geom::geography))",
    ]


CREATE_POSTGIS = "CREATE EXTENSION IF NOT EXISTS postgis"

#: Ordered migrations; ``schema_version`` holds one row per migration that has run.
MIGRATIONS: list[list[str]] = [
    [_pg_table(s) for s in SCHEMA_V1],
    [CREATE_POSTGIS, *(q for t in ("observations", "incidents", "findings") for q in _geom_sql(t))],
    [_pg_table(s) for s in SCHEMA_V2],
    [_pg_table(s) for s in SCHEMA_V3],
    [_pg_table(s) for s in SCHEMA_V4],
    [_pg_table(s) for s in SCHEMA_OPENINGS],
    [_pg_table(s) for s in SCHEMA_DERIVED],
    [_pg_table(s) for s in SCHEMA_PERIOD_INDEXES],
    [*(_pg_table(s) for s in SCHEMA_COPY_INDEX), *PG_ENTRY_OPENINGS],
    [_pg_table(s) for s in SCHEMA_INCIDENT_ENTRIES],
    [_pg_table(s) for s in SCHEMA_FUSION_DAYS],
    [_pg_table(s) for s in SCHEMA_DAY_REPORTS],
]


@lru_cache(maxsize=1024)
def _convert(sql: str) -> str:
    """``?`` placeholders to psycopg's ``%s`` (a literal ``%`` doubled), once per statement."""
    return sql.replace("%", "%%").replace("?", "%s")


#: From this many rows on, an ``INSERT … VALUES`` runs as ``COPY … FROM STDIN``.
COPY_MIN_ROWS = 32


@lru_cache(maxsize=64)
def _copy_of(sql: str) -> str | None:
    """``COPY t (cols) FROM STDIN`` for a plain ``INSERT INTO t (cols) VALUES (?, …)``, else None.

    COPY checks the same constraints and fills the same generated columns as the insert.
    """
    m = re.fullmatch(r"\s*INSERT INTO (\w+)\s*\(([\w\s,]+)\)\s*VALUES\s*\(\s*\?(\s*,\s*\?)*\s*\)"
                     r"\s*", sql, flags=re.IGNORECASE)
    return f"COPY {m.group(1)} ({m.group(2)}) FROM STDIN" if m else None


def _where(url: str) -> str:
    """host:port/dbname of a URL, without user or password, for messages."""
    try:
        p = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "(unparsable URL)"
    return f"{p.get('host', 'localhost')}:{p.get('port', 5432)}/{p.get('dbname', '')}"


def _safe_url(url: str) -> str:
    """The URL for messages: the password, if any, replaced by ``***``."""
    url = re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)
    return re.sub(r"(?i)(password=)[^&]*", r"\1***", url)


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _translate(exc: psycopg.Error, url: str, lost: bool = False) -> Exception:
    """A psycopg error as truceline's: a duplicate key is a conflict, the rest a store error."""
    if isinstance(exc, pgerrors.UniqueViolation):
        m = re.match(r"Key \(([^)]*)\)", exc.diag.message_detail or "")
        return ConflictError(f"{exc.diag.table_name or 'row'}: already stored",
                             field=m.group(1) if m else None)
    if lost:
        return StoreError(f"lost the connection to PostgreSQL at {_where(url)}: "
                          f"{_first_line(exc)}", field="db")
    return StoreError(f"PostgreSQL error: {_first_line(exc)}", field="db")


class PostgresStore(OpeningsTable, SQLStore, NotificationTables):
    """A truceline store in a PostgreSQL database (the schema on the connection's search_path)."""

    def __init__(self, url: str, *, create: bool = False, connect_timeout: int = 10) -> None:
        self.url = url
        self._lock = threading.RLock()
        self._depth = 0
        self._closed = False
        self._conn: psycopg.Connection[Any] | None = None
        self._connect_timeout = connect_timeout
        self._connect()
        try:
            have = self._version()
            if have is None and not create:
                raise StoreError(
                    f"no truceline schema in the database at {_where(url)}; run "
                    f"`truceline init --db {_safe_url(url)} --agreement FILE`", field="db")
            if have is not None and have > len(MIGRATIONS):
                raise StoreError(f"database schema {have} is newer than this truceline "
                                 f"({len(MIGRATIONS)})", field="db")
            if have is None or have < len(MIGRATIONS):
                self._migrate()
        except BaseException:
            self.close()
            raise

    # -- connection ----------------------------------------------------------------------------
    def _connect(self) -> psycopg.Connection[Any]:
        try:
            params = conninfo_to_dict(self.url)
            extra: dict[str, Any] = {}
            if "connect_timeout" not in params:
                extra["connect_timeout"] = self._connect_timeout
            if "application_name" not in params:
                extra["application_name"] = "truceline"
            conn = psycopg.connect(make_conninfo(self.url, **extra), autocommit=True)
        except psycopg.Error as exc:
            raise StoreError(f"cannot connect to PostgreSQL at {_where(self.url)}: "
                             f"{_first_line(exc)}", field="db") from exc
        self._conn = conn
        return conn

    def _connection(self) -> psycopg.Connection[Any]:
        """The open connection; a broken one is replaced when no transaction depends on it."""
        if self._closed:
            raise StoreError("the store is closed", field="db")
        conn = self._conn
        if conn is None or conn.closed or conn.broken:
            if self._depth:
                raise StoreError(f"lost the connection to PostgreSQL at {_where(self.url)} "
                                 "during a transaction; nothing was stored", field="db")
            conn = self._connect()
        return conn

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    # -- schema --------------------------------------------------------------------------------
    def _version(self) -> int | None:
        """How many migrations have run; None when the database has no truceline schema."""
        try:
            row = self._connection().execute("SELECT max(version) FROM schema_version").fetchone()
        except pgerrors.UndefinedTable:
            return None
        except psycopg.Error as exc:
            raise _translate(exc, self.url, lost=self._conn is None or self._conn.broken) from exc
        return int(row[0]) if row and row[0] is not None else 0

    def _migrate(self) -> None:
        """Run the pending migrations in one transaction: a database is fully set up or untouched.

        The write lock makes concurrent ``init`` runs wait for each other; the version is read
        again under it.
        """
        with self._tx():
            self._execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY,"
                          " applied_at TIMESTAMPTZ NOT NULL DEFAULT now())")
            (have,) = self._one("SELECT COALESCE(max(version), 0) FROM schema_version")
            for n in range(int(have), len(MIGRATIONS)):
                for stmt in MIGRATIONS[n]:
                    if stmt == CREATE_POSTGIS:
                        self._create_postgis()
                    else:
                        self._execute(stmt)
                self._execute("INSERT INTO schema_version(version) VALUES (?)", (n + 1,))

    def _create_postgis(self) -> None:
        try:
            self._connection().execute(CREATE_POSTGIS)
        except (pgerrors.FeatureNotSupported, pgerrors.UndefinedFile) as exc:
            raise StoreError(
                f"PostGIS is not installed on the PostgreSQL server at {_where(self.url)} "
                "(Debian/Ubuntu: apt-get install postgresql-15-postgis-3): "
                f"{_first_line(exc)}", field="db") from exc
        except pgerrors.InsufficientPrivilege as exc:
            raise StoreError(
                f"PostGIS is not enabled in the database at {_where(self.url)} and this user may "
                "not enable it; ask an administrator to run `CREATE EXTENSION postgis` there",
                field="db") from exc
        except psycopg.Error as exc:
            raise _translate(exc, self.url) from exc

    # -- the dialect ---------------------------------------------------------------------------
    def _begin_tx(self) -> psycopg.Connection[Any]:
        return self._run(self._begin)

    def _rollback_tx(self, conn: psycopg.Connection[Any]) -> None:
        self._rollback(conn)

    def _commit_tx(self, conn: psycopg.Connection[Any]) -> None:
        try:
            conn.execute("COMMIT")
        except psycopg.Error as exc:
            if conn.broken:
                raise StoreError(
                    f"lost the connection to PostgreSQL at {_where(self.url)} while "
                    "committing: the write may or may not be stored (writes are "
                    "idempotent or checked: retry it)", field="db") from exc
            self._rollback(conn)
            raise _translate(exc, self.url) from exc

    @staticmethod
    def _rollback(conn: psycopg.Connection[Any]) -> None:
        if conn.closed or conn.broken:
            return
        with suppress(psycopg.Error):  # the connection went away: the server rolls back for us
            conn.execute("ROLLBACK")

    def _begin(self, conn: psycopg.Connection[Any]) -> psycopg.Connection[Any]:
        conn.execute("BEGIN ISOLATION LEVEL READ COMMITTED")
        try:
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (RECORD_LOCK,))
        except BaseException:
            self._rollback(conn)
            raise
        return conn

    def _run(self, fn: Callable[[psycopg.Connection[Any]], T]) -> T:
        """``fn(connection)``, errors translated. Outside a transaction a connection found dead
        (the server restarted, an idle timeout) is replaced and ``fn`` tried once more: there
        ``fn`` is a read or a ``BEGIN``, so trying again is safe."""
        with self._lock:
            conn = self._connection()
            try:
                return fn(conn)
            except psycopg.Error as exc:
                if self._depth or not conn.broken:
                    raise _translate(exc, self.url, lost=conn.broken) from exc
            try:
                conn = self._connect()
                return fn(conn)
            except psycopg.Error as exc:
                raise _translate(exc, self.url, lost=conn.broken) from exc

    def _execute(self, sql: str, args: Sequence[Any] = ()) -> Any:
        q = _convert(sql)
        return self._run(lambda conn: conn.execute(q, args))

    def _executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Many rows: ``COPY`` for an insert of many (about 4x the rows/s of a pipelined
        ``executemany``, whose per-row work in Python dominates an ingest), else ``executemany``."""
        copy = _copy_of(sql) if len(rows) >= COPY_MIN_ROWS else None

        def run(conn: psycopg.Connection[Any]) -> None:
            with conn.cursor() as cur:
                if copy is None:
                    cur.executemany(_convert(sql), rows)
                    return
                with cur.copy(copy) as cp:
                    for row in rows:
                        cp.write_row(row)

        self._run(run)

    def _blob(self, b: bytes) -> Any:
        return bytes(b)

    def _json_text(self, column: str, key: str) -> str:
        return f"(({column})::json ->> '{key}') COLLATE \"C\""

    def _utc_text(self, column: str) -> str:
        return (f"({column} ~ '^[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}T[0-9]{{2}}:[0-9]{{2}}:[0-9]{{2}}"
                f"(Z|[.].*Z)$')")
