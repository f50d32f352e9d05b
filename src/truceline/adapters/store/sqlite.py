"""The embedded store: one SQLite file, WAL, migrations, transactional writes, one writer.

Durability: ``synchronous=FULL`` in WAL mode, so a commit that returned has reached the disk and
an acknowledged observation survives a crash or ``kill -9``.
"""

from __future__ import annotations

import re
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from truceline.adapters.store.notifications import NotificationTables
from truceline.adapters.store.openings import (
    SCHEMA_OPENINGS,
    SQLITE_ENTRY_OPENINGS,
    OpeningsTable,
)
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

#: Speed without touching durability (every commit still reaches the disk): a page cache
#: that holds a whole ingest batch's writes (32 MB rather than 2 MB, so a transaction does
#: not spill pages to the WAL twice), and checkpoints every ~16 MB of WAL instead of 4 MB
#: (fewer, larger copies back into the database file).
_TUNING = [
    "PRAGMA cache_size=-32768",
    "PRAGMA wal_autocheckpoint=4096",
]



def _sqlite_table(stmt: str) -> str:
    """The neutral schema in SQLite: a single-column ``BIGINT PRIMARY KEY`` becomes
    ``INTEGER PRIMARY KEY``, the rowid itself (64-bit in SQLite), so the table needs no
    separate key index and appends in key order."""
    return re.sub(r"\bBIGINT PRIMARY KEY\b", "INTEGER PRIMARY KEY", stmt)


#: Ordered migrations; the file's ``user_version`` is how many have run.
MIGRATIONS: list[list[str]] = [[_sqlite_table(s) for s in SCHEMA_V1], list(SCHEMA_V2),
                                list(SCHEMA_V3), list(SCHEMA_V4), list(SCHEMA_OPENINGS),
                                list(SCHEMA_DERIVED), list(SCHEMA_PERIOD_INDEXES),
                                [*SCHEMA_COPY_INDEX,
                                 *map(_sqlite_table, SQLITE_ENTRY_OPENINGS)],
                                list(SCHEMA_INCIDENT_ENTRIES),
                                [_sqlite_table(s) for s in SCHEMA_FUSION_DAYS],
                                list(SCHEMA_DAY_REPORTS)]


@contextmanager
def _mapped_errors() -> Iterator[None]:
    """SQLite's errors as truceline's: a duplicate key is a conflict, the rest a store error."""
    try:
        yield
    except sqlite3.IntegrityError as exc:
        raise ConflictError(f"already stored ({exc})", field="id") from None
    except sqlite3.OperationalError as exc:
        raise StoreError(f"database error: {exc}", field="db") from None


#: A new store's file name ends in one of these. An existing file of any name opens, but a bare
#: new name such as ``p`` is nearly always a value that was not meant as a path (a URL iterated
#: character by character once created ten such databases), so it is refused, not created.
NEW_STORE_SUFFIXES = (".db", ".sqlite", ".sqlite3")


#: How long a writer waits for another process's write transaction before giving up.
BEGIN_PATIENCE_S = 30.0


class SQLiteStore(OpeningsTable, SQLStore, NotificationTables):
    """A truceline store in one SQLite file."""

    def __init__(self, path: str | Path, *, create: bool = False) -> None:
        self.url = str(path)
        if not create and not Path(self.url).exists():
            raise StoreError(
                f"no database at {self.url}; run `truceline init --db {self.url} --agreement FILE`",
                field="db",
            )
        if not Path(self.url).exists() and not self.url.lower().endswith(NEW_STORE_SUFFIXES):
            raise StoreError(
                f"a new SQLite store's file name must end in {', '.join(NEW_STORE_SUFFIXES)} "
                f"(got {self.url!r})",
                field="db",
            )
        try:
            self._db = sqlite3.connect(self.url, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open database: {exc}", field="db") from None
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA busy_timeout=30000")
        for pragma in _TUNING:
            self._db.execute(pragma)
        self._lock = threading.RLock()
        self._depth = 0
        self._migrate()

    def _migrate(self) -> None:
        (have,) = self._db.execute("PRAGMA user_version").fetchone()
        if have > len(MIGRATIONS):
            raise StoreError(
                f"database schema {have} is newer than this truceline ({len(MIGRATIONS)})",
                field="db",
            )
        for n in range(have, len(MIGRATIONS)):
            with self._tx():
                for stmt in MIGRATIONS[n]:
                    self._db.execute(stmt)
                self._db.execute(f"PRAGMA user_version={n + 1}")

    def _begin_tx(self) -> None:
        """``BEGIN IMMEDIATE``: one writer at a time across processes. SQLite can refuse it at
        once ("database is locked") when another process holds the write lock while the WAL is
        checkpointed, whatever the busy timeout; so wait and try again, with backoff, for up to
        ``BEGIN_PATIENCE_S``, and then say so as a store error (503), never a crash."""
        delay, waited = 0.002, 0.0
        while True:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise StoreError(f"database error: {exc}", field="db") from None
                if waited >= BEGIN_PATIENCE_S:
                    raise StoreError("the database stayed locked by another writer for "
                                     f"{BEGIN_PATIENCE_S:g} s; try again", field="db") from None
            time.sleep(delay)
            waited += delay
            delay = min(delay * 2, 0.1)

    def _commit_tx(self, handle: None) -> None:
        self._db.execute("COMMIT")

    def _rollback_tx(self, handle: None) -> None:
        self._db.execute("ROLLBACK")

    def _execute(self, sql: str, args: Sequence[Any] = ()) -> Any:
        with self._lock, _mapped_errors():
            return self._db.execute(sql, args)

    def _executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        with self._lock, _mapped_errors():
            self._db.executemany(sql, rows)

    def _json_text(self, column: str, key: str) -> str:
        return f"json_extract({column}, '$.{key}')"

    def _utc_text(self, column: str) -> str:
        d2, d4 = "[0-9][0-9]", "[0-9][0-9][0-9][0-9]"
        second = f"{d4}-{d2}-{d2}T{d2}:{d2}:{d2}"
        return f"({column} GLOB '{second}Z' OR {column} GLOB '{second}.*Z')"

    def close(self) -> None:
        self._db.close()
