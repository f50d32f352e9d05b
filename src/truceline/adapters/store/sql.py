"""The store's logic once, for every SQL database: SQLite and PostgreSQL differ only in dialect.

Subclasses provide the connection, the transaction (one writer at a time for the record: SQLite's
``BEGIN IMMEDIATE``, a PostgreSQL advisory lock) and the placeholder style; every query here is
written with ``?`` placeholders and converted once.

The record lives in the same transaction as what it records: an observation row, its entry, its
leaf hash and the tree nodes it completes commit together, so the tree can never disagree with its
entries and an acknowledged observation is always in the record.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from typing import Any

from truceline.adapters.store.api_keys import ApiKeyTable
from truceline.adapters.store.check_results import CheckResultTables
from truceline.adapters.store.copies import CopiesLookup
from truceline.adapters.store.disputes import DisputeTable
from truceline.adapters.store.notifications import _TIME_MARGIN, _second_text
from truceline.adapters.store.schema import (
    INDEXED_LAST,
    TABLES,
    derived_columns,
    json_text,
    observation_text,
    time_text,
)
from truceline.core.observations import Observation, ObservationRow, stored_observation
from truceline.core.record.merkle import CompactRange, leaf_hash
from truceline.errors import NotFoundError, StoreError
from truceline.services.ports import AddResult, Entry, StoredCheckpoint


def peak_positions(size: int) -> list[tuple[int, int]]:
    """(level, index) of the full subtrees covering [0, size), largest first."""
    out, offset = [], 0
    for level in range(size.bit_length() - 1, -1, -1):
        if size >> level & 1:
            out.append((level, offset >> level))
            offset += 1 << level
    return out


class SQLStore(ApiKeyTable, CheckResultTables, CopiesLookup, DisputeTable):
    """Everything a truceline store does, written once over a DB-API connection."""

    url: str
    placeholder = "?"

    # -- what a dialect provides --------------------------------------------------------------
    _lock: threading.RLock
    _depth: int = 0

    def _begin_tx(self) -> Any:
        """Start a write transaction (taking the record's single-writer lock); return a handle."""
        raise NotImplementedError

    def _commit_tx(self, handle: Any) -> None:
        raise NotImplementedError

    def _rollback_tx(self, handle: Any) -> None:
        raise NotImplementedError

    @contextmanager
    def _tx(self) -> Iterator[None]:
        """One write transaction; nested calls join the outer one, any error rolls it all back."""
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            handle = self._begin_tx()
            self._depth = 1
            try:
                yield
            except BaseException:
                self._rollback_tx(handle)
                raise
            else:
                self._commit_tx(handle)
            finally:
                self._depth = 0

    def atomic(self) -> AbstractContextManager[None]:
        """The port's one transaction around several writes (:meth:`_tx`, public)."""
        return self._tx()

    def _execute(self, sql: str, args: Sequence[Any] = ()) -> Any:
        raise NotImplementedError

    def _executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        raise NotImplementedError

    def _blob(self, b: bytes) -> Any:
        return b

    def _json_text(self, column: str, key: str) -> str:
        """SQL for the text at top-level ``key`` of the JSON text in ``column``, compared
        bytewise (each dialect spells it its own way)."""
        raise NotImplementedError

    def _utc_text(self, column: str) -> str:
        """SQL true where the text in ``column`` is a UTC time to the second in the form
        ``YYYY-MM-DDTHH:MM:SS`` followed by ``Z`` or by a fraction and ``Z`` (so that its
        first 19 characters order it to the second; each dialect spells it its own way)."""
        raise NotImplementedError

    def _on_observations(self, rows: Sequence[tuple[Any, ...]]) -> None:
        """Hook: a dialect may keep more per observation (PostGIS keeps a geometry)."""

    def close(self) -> None:
        raise NotImplementedError

    # -- helpers -------------------------------------------------------------------------------
    def _one(self, sql: str, args: Sequence[Any] = ()) -> Any:
        return self._execute(sql, args).fetchone()

    def _all(self, sql: str, args: Sequence[Any] = ()) -> list[Any]:
        return list(self._execute(sql, args).fetchall())

    def _in(self, n: int) -> str:
        return ",".join("?" * n)

    # -- agreement -----------------------------------------------------------------------------
    def initialize(self, agreement_doc: dict[str, Any], entry: bytes) -> int:
        doc = json_text(agreement_doc)
        with self._tx():
            row = self._one(
                "SELECT version, doc FROM agreement_versions ORDER BY version DESC LIMIT 1"
            )
            if row is not None and row[1] == doc:
                return int(row[0])
            version = 1 if row is None else int(row[0]) + 1
            self._execute(
                "INSERT INTO agreement_versions(version, agreement_id, doc) VALUES (?,?,?)",
                (version, agreement_doc.get("id", ""), doc),
            )
            self._append([("agreement_version", entry)])
            return version

    def agreement_doc(self, version: int | None = None) -> dict[str, Any]:
        if version is None:
            row = self._one("SELECT doc FROM agreement_versions ORDER BY version DESC LIMIT 1")
        else:
            row = self._one("SELECT doc FROM agreement_versions WHERE version = ?", (version,))
        if row is None:
            raise StoreError("the store has no agreement; run `truceline init`", field="db")
        return dict(json.loads(row[0]))

    def agreement_version(self) -> int | None:
        row = self._one("SELECT MAX(version) FROM agreement_versions")
        return None if row is None or row[0] is None else int(row[0])

    # -- observations --------------------------------------------------------------------------
    def stored_inputs(self, ids: Sequence[str]) -> dict[str, bytes | None]:
        out: dict[str, bytes | None] = {}
        for k in range(0, len(ids), 500):
            part = ids[k : k + 500]
            for oid, digest in self._all(
                "SELECT id, input_sha256 FROM observations "
                f"WHERE id IN ({self._in(len(part))})", part):
                out[str(oid)] = None if digest is None else bytes(digest)
        return out

    def stored_records(self, ids: Sequence[str]) -> dict[str, str]:
        out: dict[str, str] = {}
        for k in range(0, len(ids), 500):
            part = ids[k : k + 500]
            out.update(self._all(
                f"SELECT id, record FROM observations WHERE id IN ({self._in(len(part))})", part))
        return out

    def add_observations(self, items: Sequence[tuple[ObservationRow, bytes]],
                         inputs: Sequence[bytes | None] | None = None,
                         links: Mapping[str, tuple[str, bytes]] | None = None) -> AddResult:
        result = AddResult()
        if not items and not links:
            return result
        if inputs is None:
            inputs = [None] * len(items)
        elif len(inputs) != len(items):
            raise ValueError("inputs must have one digest (or None) per item")
        blob = self._blob
        with self._tx():
            stored = self.stored_records([o.id for o, _ in items])
            (seq0,) = self._one("SELECT COALESCE(MAX(seq), 0) FROM observations")
            rows: list[tuple[Any, ...]] = []
            entries: list[tuple[str, bytes]] = []
            seen: dict[str, str] = {}  # this batch's own records: a repeat is held to them
            for (o, entry), digest in zip(items, inputs, strict=True):
                rec = observation_text(o, entry)
                prior = stored.get(o.id)
                if prior is None:
                    prior = seen.get(o.id)
                if prior is not None:
                    (result.conflicts if prior != rec else result.duplicates).append(o.id)
                    continue
                seen[o.id] = rec
                rows.append(
                    (
                        seq0 + len(rows) + 1,
                        o.id,
                        o.kind.value,
                        time_text(o.time),
                        o.lon,
                        o.lat,
                        o.source_id,
                        rec,
                        None if digest is None else blob(digest),
                    )
                )
                entries.append(("observation", entry))
                result.added.append(o.id)
            if rows:
                self._executemany(
                    "INSERT INTO observations(seq, id, kind, time, lon, lat, source_id, record, "
                    "input_sha256) VALUES (?,?,?,?,?,?,?,?,?)",
                    rows,
                )
                self._on_observations(rows)
            if links:  # copies of this batch and stored ones counted through a new report
                conflict = set(result.conflicts)
                ups = [(orig, oid) for oid, (orig, _) in sorted(links.items())
                       if oid not in conflict]
                if ups:
                    self._executemany("UPDATE observations SET duplicate_of = ? WHERE id = ?",
                                      ups)
                entries += [("status_change", links[oid][1]) for _, oid in ups]
            if entries:
                self._append(entries)
        return result

    def observations(
        self,
        kinds: Sequence[str] | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        source_id: str | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[Observation]:
        where, args = self._obs_filter(kinds, start, end, source_id)
        sql = "SELECT record FROM observations" + where + " ORDER BY time, id"
        if limit is not None:
            sql += f" LIMIT {int(limit)} OFFSET {int(offset)}"
        return [stored_observation(r[0]) for r in self._all(sql, args)]

    def observation_texts(self, start: datetime, end: datetime
                          ) -> list[tuple[str, str, str, str]]:
        where, args = self._obs_filter(None, start, end, None)
        return [(str(k), str(t), str(s), str(r)) for k, t, s, r in self._all(
            "SELECT kind, time, source_id, record FROM observations" + where
            + " ORDER BY time, id", args)]

    def observation_pages(self, size: int = 20_000, upto: int | None = None,
                          start: datetime | None = None, kind: str | None = None
                          ) -> Iterator[list[Observation]]:
        for rows in self.record_pages(size, upto, start, kind):
            yield [Observation.model_validate_json(r[2]) for r in rows]

    def record_pages(self, size: int = 20_000, upto: int | None = None,
                     start: datetime | None = None, kind: str | None = None
                     ) -> Iterator[list[tuple[str, str, str]]]:
        """Every observation's (id, kind, record) in (time, id) order, ``size`` at a time:
        one indexed range read per page from where the last one ended, so that a reader of
        the whole store holds one page of records, not all of them. ``upto``: only rows with
        ``seq <= upto`` (appends number them 1, 2, ... under the write lock, in the log's
        order); ``start``, ``kind``: only those at or after it, of that kind."""
        after = (time_text(start), "") if start is not None else ("", "")  # never ""
        cap = 2**62 if upto is None else int(upto)
        which, head = ("kind = ? AND ", (kind,)) if kind is not None else ("", ())
        while True:
            rows = self._all(f"SELECT time, id, kind, record FROM observations WHERE {which}"
                             "seq <= ? AND time >= ? AND (time > ? OR id > ?) ORDER BY time, "
                             f"id LIMIT {int(size)}", (*head, cap, after[0], after[0], after[1]))
            if not rows:
                return
            after = (rows[-1][0], rows[-1][1])
            yield [r[1:] for r in rows]  # TEXT comes as str: no str() a field (~1 s of 907k)

    def observations_after(self, after: int, upto: int) -> list[Observation]:
        """The observations stored after the first ``after`` and among the first ``upto``
        (what a check that read ``after`` has not read), in the order stored."""
        return [stored_observation(r[0]) for r in self._all(
            "SELECT record FROM observations WHERE seq > ? AND seq <= ? ORDER BY seq",
            (int(after), int(upto)))]

    def observations_reaching(self, kinds: Sequence[str], start: datetime, end: datetime
                              ) -> list[Observation]:
        """Observations of ``kinds`` whose window ``[time, end_time)`` reaches into
        ``[start, end)`` (without an ``end_time``: every one that began before ``end``), in
        (time, id) order. ``end_time`` is read from the record text by SQL, before any
        validation: windows closed a day or more before ``start`` are dropped there (a text
        test widened by a day: any offset), the exact test is on the others' ``end_time``
        alone: the read follows the windows open in the period, not the store."""
        where, args = self._obs_filter(kinds, None, end, None)
        closes = self._json_text("record", "end_time")
        where += (" AND " if where else " WHERE ") + \
            f"({closes} IS NULL OR substr({closes}, 1, 19) >= ?)"
        args.append(_second_text(start, -_TIME_MARGIN))
        out = []
        for rec, until in self._all(f"SELECT record, {closes} FROM observations" + where
                                    + " ORDER BY time, id", args):
            if until is None or datetime.fromisoformat(until) > start:
                out.append(stored_observation(rec))
        return out

    def _obs_filter(
        self,
        kinds: Sequence[str] | None,
        start: datetime | None,
        end: datetime | None,
        source_id: str | None,
    ) -> tuple[str, list[Any]]:
        where: list[str] = []
        args: list[Any] = []
        if kinds:
            where.append(f"kind IN ({self._in(len(kinds))})")
            args.extend(kinds)
        if start is not None:
            where.append("time >= ?")
            args.append(time_text(start))
        if end is not None:
            where.append("time < ?")
            args.append(time_text(end))
        if source_id is not None:
            where.append("source_id = ?")
            args.append(source_id)
        return (" WHERE " + " AND ".join(where) if where else ""), args

    def observation(self, obs_id: str) -> Observation:
        row = self._one("SELECT record FROM observations WHERE id = ?", (obs_id,))
        if row is None:
            raise NotFoundError("no such observation", field="id", id=obs_id)
        return Observation.model_validate_json(row[0])

    def count_observations(self, after: int = 0) -> int:
        where, args = (" WHERE seq > ?", (after,)) if after > 0 else ("", ())
        return int(self._one("SELECT count(*) FROM observations" + where, args)[0])

    # -- the record ----------------------------------------------------------------------------
    def _tree(self) -> CompactRange:
        (n,) = self._one("SELECT COALESCE(MAX(idx) + 1, 0) FROM entries")
        want = peak_positions(int(n))
        found: dict[tuple[int, int], bytes] = {}
        if want:  # all peaks in one query (at most 64 of them)
            where = " OR ".join(["(level = ? AND idx = ?)"] * len(want))
            args = [x for pos in want for x in pos]
            for level, idx, h in self._all(f"SELECT level, idx, hash FROM nodes WHERE {where}",
                                           args):
                found[(int(level), int(idx))] = bytes(h)
        peaks = []
        for level, idx in want:
            if (level, idx) not in found:
                raise StoreError(f"record tree node ({level}, {idx}) is missing", field="nodes")
            peaks.append(found[(level, idx)])
        return CompactRange.from_peaks(int(n), peaks)

    def _append(self, entries: Sequence[tuple[str, bytes]]) -> list[int]:
        """Append entries inside the caller's transaction; returns their indexes."""
        if not entries:
            return []
        tree = self._tree()
        first = tree.size
        rows: list[tuple[Any, ...]] = []
        nodes: list[tuple[Any, ...]] = []
        blob = self._blob
        plain = type(self)._blob is SQLStore._blob  # bytes as they are: no per-node rewrap
        for t, data in entries:
            h = leaf_hash(data)
            idx = tree.size
            if plain:
                nodes += tree.append(h)
            else:
                nodes.extend((lvl, i, blob(nh)) for lvl, i, nh in tree.append(h))
            rows.append((idx, t, blob(data), blob(h)))
        self._executemany("INSERT INTO entries(idx, type, data, leaf_hash) VALUES (?,?,?,?)", rows)
        self._executemany("INSERT INTO nodes(level, idx, hash) VALUES (?,?,?)", nodes)
        return list(range(first, tree.size))

    def append_entries(self, entries: Sequence[tuple[str, bytes]]) -> list[int]:
        with self._tx():
            return self._append(entries)

    def entries(self, start: int = 0, end: int | None = None) -> Iterator[Entry]:
        sql = "SELECT idx, type, data, leaf_hash FROM entries WHERE idx >= ?"
        args: list[Any] = [start]
        if end is not None:
            sql += " AND idx < ?"
            args.append(end)
        for idx, t, d, h in self._all(sql + " ORDER BY idx", args):
            yield Entry(int(idx), str(t), bytes(d), bytes(h))

    def last_entry(self, entry_type: str) -> Entry | None:
        args: tuple[str, ...] = ()
        if entry_type in INDEXED_LAST:  # a literal from a fixed set: the partial index's own
            where = f"type = '{entry_type}'"
        else:
            where, args = "type = ?", (entry_type,)
        row = self._one(f"SELECT idx, type, data, leaf_hash FROM entries WHERE {where} "
                        "ORDER BY idx DESC LIMIT 1", args)
        return None if row is None else Entry(int(row[0]), str(row[1]), bytes(row[2]),
                                              bytes(row[3]))

    def entry_count(self) -> int:
        return int(self._one("SELECT COALESCE(MAX(idx) + 1, 0) FROM entries")[0])

    def get_node(self, level: int, index: int) -> bytes:
        row = self._one("SELECT hash FROM nodes WHERE level = ? AND idx = ?", (level, index))
        if row is None:
            raise NotFoundError(f"no tree node ({level}, {index})", field="index")
        return bytes(row[0])

    def tree_root(self) -> tuple[int, bytes]:
        tree = self._tree()
        return tree.size, tree.root()

    def add_checkpoint(self, size: int, note: bytes) -> None:
        with self._tx():
            if self._one("SELECT 1 FROM checkpoints WHERE size = ?", (size,)) is None:
                self._execute(
                    "INSERT INTO checkpoints(size, note) VALUES (?,?)", (size, self._blob(note))
                )

    def checkpoints(self) -> list[StoredCheckpoint]:
        return [
            StoredCheckpoint(int(s), bytes(n))
            for s, n in self._all("SELECT size, note FROM checkpoints ORDER BY size")
        ]

    def add_cosignature(self, size: int, witness: str, signature: str) -> None:
        with self._tx():
            if self._one("SELECT 1 FROM checkpoints WHERE size = ?", (size,)) is None:
                raise NotFoundError(f"no checkpoint of size {size}", field="size")
            self._execute(
                "DELETE FROM cosignatures WHERE size = ? AND witness = ?", (size, witness)
            )
            self._execute(
                "INSERT INTO cosignatures(size, witness, signature) VALUES (?,?,?)",
                (size, witness, signature),
            )

    def cosignatures(self, size: int) -> list[tuple[str, str]]:
        return [
            (str(w), str(s))
            for w, s in self._all(
                "SELECT witness, signature FROM cosignatures WHERE size = ? ORDER BY witness",
                (size,),
            )
        ]

    # -- keys, disputes, API keys, settings ------------------------------------------------------
    def register_key(
        self, key_id: str, owner: str, role: str, public_key: bytes, entry: bytes
    ) -> bool:
        """Store a source's public key with its record entry; False if it was already there."""
        with self._tx():
            row = self._one("SELECT owner, public_key FROM keys WHERE key_id = ?", (key_id,))
            if row is not None:
                return False
            self._execute(
                "INSERT INTO keys(key_id, owner, role, public_key) VALUES (?,?,?,?)",
                (key_id, owner, role, self._blob(public_key)),
            )
            self._append([("key_registration", entry)])
            return True

    def revoke_key(self, key_id: str, entry: bytes) -> None:
        with self._tx():
            if self._one("SELECT 1 FROM keys WHERE key_id = ?", (key_id,)) is None:
                raise NotFoundError("no such key", field="key_id", key_id=key_id)
            self._execute("UPDATE keys SET revoked = 1 WHERE key_id = ?", (key_id,))
            self._append([("status_change", entry)])

    def keys(self, owner: str | None = None) -> list[dict[str, Any]]:
        sql = "SELECT key_id, owner, role, public_key, revoked FROM keys"
        args: list[Any] = []
        if owner is not None:
            sql += " WHERE owner = ?"
            args.append(owner)
        return [
            {"key_id": k, "owner": o, "role": r, "public_key": bytes(p), "revoked": bool(v)}
            for k, o, r, p, v in self._all(sql + " ORDER BY key_id", args)
        ]

    def table_rows(self, table: str) -> list[dict[str, Any]]:
        """Every row of one of the store's tables, each column by name (``record verify``
        compares them all with the record)."""
        if table not in TABLES:
            raise StoreError(f"no table {table!r}; one of {', '.join(TABLES)}", field="table")
        cur = self._execute(f"SELECT * FROM {table}")
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def derived_columns(self, table: str, record: dict[str, Any]) -> dict[str, Any]:
        return derived_columns(table, record)

    def derived(self, key: str) -> tuple[str, bytes] | None:
        row = self._one("SELECT sha256, data FROM derived_cache WHERE key = ?", (key,))
        return None if row is None else (str(row[0]), bytes(row[1]))

    def derived_rows(self) -> list[tuple[str, str, bytes]]:
        return [(str(k), str(h), bytes(d))
                for k, h, d in self._all("SELECT key, sha256, data FROM derived_cache")]

    def set_derived(self, key: str, sha256: str, data: bytes) -> None:
        with self._tx():  # the one value kept: older keys are never read again
            self._execute("DELETE FROM derived_cache")
            self._execute("INSERT INTO derived_cache(key, sha256, data) VALUES (?,?,?)",
                          (key, sha256, self._blob(data)))

    def get_meta(self, key: str) -> str | None:
        row = self._one("SELECT value FROM meta WHERE key = ?", (key,))
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        with self._tx():
            self._execute("DELETE FROM meta WHERE key = ?", (key,))
            self._execute("INSERT INTO meta(key, value) VALUES (?,?)", (key, value))

    def set_meta_once(self, key: str, value: str, entries: Sequence[tuple[str, bytes]]) -> str:
        """Set meta ``key`` to ``value`` with ``entries`` in one transaction, unless it is set
        already (then nothing is written); the value it holds."""
        with self._tx():
            row = self._one("SELECT value FROM meta WHERE key = ?", (key,))
            if row is not None:
                return str(row[0])
            self._execute("INSERT INTO meta(key, value) VALUES (?,?)", (key, value))
            self._append(entries)
            return value

    def delete_meta(self, key: str) -> None:
        with self._tx():
            self._execute("DELETE FROM meta WHERE key = ?", (key,))

    def add_to_meta_set(self, key: str, member: str,
                        entries: Sequence[tuple[str, bytes]]) -> bool:
        """Add ``member`` to the JSON list under meta ``key`` and append ``entries``, in one
        write transaction (the record's single-writer lock), so concurrent additions never
        overwrite each other. False, and nothing written, if ``member`` was there already."""
        with self._tx():
            row = self._one("SELECT value FROM meta WHERE key = ?", (key,))
            members = set(json.loads(row[0])) if row is not None and row[0] else set()
            if member in members:
                return False
            members.add(member)
            self._execute("DELETE FROM meta WHERE key = ?", (key,))
            self._execute("INSERT INTO meta(key, value) VALUES (?,?)",
                          (key, json.dumps(sorted(members))))
            self._append(entries)
            return True
