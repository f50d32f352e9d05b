"""The embedded store: one SQLite file, WAL, migrations, transactional writes, one writer.

Durability: ``synchronous=FULL`` in WAL mode, so a commit that returned has reached the disk and
an acknowledged observation survives a crash or ``kill -9``. An observation and its record entry
are written in the same transaction: there is never an observation without its entry.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from truceline.core.findings import Finding
from truceline.core.incidents import Incident
from truceline.core.observations import Observation
from truceline.errors import StoreError
from truceline.services.ports import AddResult, Entry

#: Ordered migrations; the store's ``user_version`` is how many have run.
MIGRATIONS: list[str] = [
    """
    CREATE TABLE agreement_versions (
        version INTEGER PRIMARY KEY,
        agreement_id TEXT NOT NULL,
        doc TEXT NOT NULL
    );
    CREATE TABLE observations (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL,
        time TEXT NOT NULL,
        lon REAL, lat REAL,
        source_id TEXT NOT NULL,
        record TEXT NOT NULL
    );
    CREATE INDEX observations_time ON observations(time);
    CREATE INDEX observations_kind_time ON observations(kind, time);
    CREATE TABLE incidents (
        id TEXT PRIMARY KEY,
        time TEXT NOT NULL,
        record TEXT NOT NULL
    );
    CREATE TABLE findings (
        id TEXT PRIMARY KEY,
        provision_id TEXT NOT NULL,
        party TEXT,
        verdict TEXT NOT NULL,
        time TEXT,
        record TEXT NOT NULL
    );
    CREATE TABLE entries (
        idx INTEGER PRIMARY KEY,
        type TEXT NOT NULL,
        data BLOB NOT NULL
    );
    """,
]


def _iso(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


class SQLiteStore:
    """A truceline store in one SQLite file (``:memory:`` works for throwaway use)."""

    def __init__(self, path: str | Path, *, create: bool = False) -> None:
        self.url = str(path)
        if not create and self.url != ":memory:" and not Path(self.url).exists():
            raise StoreError(
                f"no database at {self.url}; run `truceline init --db {self.url} --agreement FILE`",
                field="db",
            )
        try:
            self._db = sqlite3.connect(self.url, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open database: {exc}", field="db") from None
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.execute("PRAGMA busy_timeout=10000")
        self._migrate()

    # -- schema ------------------------------------------------------------------------------
    def _migrate(self) -> None:
        (have,) = self._db.execute("PRAGMA user_version").fetchone()
        if have > len(MIGRATIONS):
            raise StoreError(
                f"database schema {have} is newer than this truceline ({len(MIGRATIONS)})",
                field="db",
            )
        for n in range(have, len(MIGRATIONS)):
            with self._tx():
                for stmt in MIGRATIONS[n].split(";"):
                    if stmt.strip():
                        self._db.execute(stmt)
                self._db.execute(f"PRAGMA user_version={n + 1}")

    def _tx(self) -> _Tx:
        return _Tx(self._db)

    # -- agreement ---------------------------------------------------------------------------
    def initialize(self, agreement_doc: dict[str, Any], entry: bytes) -> int:
        doc = json.dumps(agreement_doc, sort_keys=True, separators=(",", ":"))
        with self._tx():
            row = self._db.execute(
                "SELECT version, doc FROM agreement_versions ORDER BY version DESC LIMIT 1"
            ).fetchone()
            if row is not None and row[1] == doc:
                return int(row[0])
            version = 1 if row is None else int(row[0]) + 1
            self._db.execute(
                "INSERT INTO agreement_versions(version, agreement_id, doc) VALUES (?,?,?)",
                (version, agreement_doc.get("id", ""), doc),
            )
            self._append(("agreement_version", entry))
            return version

    def agreement_doc(self) -> dict[str, Any]:
        row = self._db.execute(
            "SELECT doc FROM agreement_versions ORDER BY version DESC LIMIT 1"
        ).fetchone()
        if row is None:
            raise StoreError("the store has no agreement; run `truceline init`", field="db")
        return dict(json.loads(row[0]))

    # -- observations ------------------------------------------------------------------------
    def add_observations(self, items: Sequence[tuple[Observation, bytes]]) -> AddResult:
        result = AddResult()
        if not items:
            return result
        with self._tx():
            ids = [o.id for o, _ in items]
            stored: dict[str, str] = {}
            for chunk in range(0, len(ids), 900):
                part = ids[chunk : chunk + 900]
                q = "SELECT id, record FROM observations WHERE id IN (%s)" % ",".join("?" * len(part))
                stored.update(self._db.execute(q, part).fetchall())
            rows, entries, seen = [], [], set()
            for o, entry in items:
                rec = json.dumps(o.to_record(), sort_keys=True, separators=(",", ":"))
                prior = stored.get(o.id)
                if prior is not None or o.id in seen:
                    if prior is not None and prior != rec:
                        result.conflicts.append(o.id)
                    else:
                        result.duplicates.append(o.id)
                    continue
                seen.add(o.id)
                rows.append((o.id, o.kind.value, _iso(o.time), o.lon, o.lat, o.source_id, rec))
                entries.append(("observation", entry))
                result.added.append(o.id)
            self._db.executemany(
                "INSERT INTO observations(id, kind, time, lon, lat, source_id, record) "
                "VALUES (?,?,?,?,?,?,?)",
                rows,
            )
            self._append(*entries)
        return result

    def observations(
        self,
        kinds: Sequence[str] | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> list[Observation]:
        where, args = [], []
        if kinds:
            where.append("kind IN (%s)" % ",".join("?" * len(kinds)))
            args.extend(kinds)
        if start is not None:
            where.append("time >= ?")
            args.append(_iso(start))
        if end is not None:
            where.append("time < ?")
            args.append(_iso(end))
        sql = "SELECT record FROM observations"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY time, id"
        return [Observation.model_validate_json(r[0]) for r in self._db.execute(sql, args)]

    def count_observations(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM observations").fetchone()[0])

    # -- incidents and findings --------------------------------------------------------------
    def replace_incidents(self, incidents: Sequence[Incident]) -> None:
        with self._tx():
            self._db.execute("DELETE FROM incidents")
            self._db.executemany(
                "INSERT INTO incidents(id, time, record) VALUES (?,?,?)",
                [(i.id, i.time, json.dumps(i.to_record(), sort_keys=True)) for i in incidents],
            )

    def incident_records(self) -> list[dict[str, Any]]:
        return [json.loads(r[0]) for r in
                self._db.execute("SELECT record FROM incidents ORDER BY time, id")]

    def replace_findings(self, findings: Sequence[Finding], entries: Sequence[bytes]) -> None:
        with self._tx():
            self._db.execute("DELETE FROM findings")
            self._db.executemany(
                "INSERT INTO findings(id, provision_id, party, verdict, time, record) "
                "VALUES (?,?,?,?,?,?)",
                [
                    (f.id, f.provision_id, f.party, f.verdict.value, f.time,
                     json.dumps(f.to_record(), sort_keys=True, separators=(",", ":")))
                    for f in findings
                ],
            )
            self._append(*[("finding", e) for e in entries])

    def findings(self) -> list[Finding]:
        rows = self._db.execute(
            "SELECT record FROM findings ORDER BY provision_id, time, party, id"
        )
        return [Finding.from_record(json.loads(r[0])) for r in rows]

    # -- record entries ----------------------------------------------------------------------
    def _append(self, *entries: tuple[str, bytes]) -> list[int]:
        (n,) = self._db.execute("SELECT count(*) FROM entries").fetchone()
        idx = list(range(n, n + len(entries)))
        self._db.executemany(
            "INSERT INTO entries(idx, type, data) VALUES (?,?,?)",
            [(i, t, d) for i, (t, d) in zip(idx, entries, strict=True)],
        )
        return idx

    def append_entries(self, entries: Sequence[tuple[str, bytes]]) -> list[int]:
        with self._tx():
            return self._append(*entries)

    def entries(self, start: int = 0, end: int | None = None) -> Iterator[Entry]:
        sql = "SELECT idx, type, data FROM entries WHERE idx >= ?"
        args: list[Any] = [start]
        if end is not None:
            sql += " AND idx < ?"
            args.append(end)
        for idx, t, d in self._db.execute(sql + " ORDER BY idx", args):
            yield Entry(int(idx), str(t), bytes(d))

    def entry_count(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM entries").fetchone()[0])

    def close(self) -> None:
        self._db.close()


class _Tx:
    """``BEGIN IMMEDIATE`` … ``COMMIT``, rolled back on any error (one writer at a time)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self.db.execute("COMMIT")
        else:
            self.db.execute("ROLLBACK")
