"""The ``openings`` table: the salt and value of every committed field, beside the log.

Every entry is appended in committed form (:mod:`truceline.core.record.commit`): the store
commits each entry as it appends it, with fresh random salts, and writes the openings in the
same transaction as the entry, so an acknowledged observation never loses its content. A mirror
rebuilt from a log gives the log's own committed bytes and openings beforehand
(:meth:`OpeningsTable.preset_openings`), so its entries, leaves and root are the log's.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict, deque
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from truceline.core.record.commit import SALT_BYTES, Opening, commit_entry, json_canonical

#: Schema 5: the openings of committed entry fields (one row per entry and field).
SCHEMA_OPENINGS = [
    """CREATE TABLE openings (idx BIGINT NOT NULL, field TEXT NOT NULL, salt BLOB NOT NULL,
        value TEXT NOT NULL, PRIMARY KEY (idx, field))""",
]


#: SQLite, with schema 8: the openings table keyed by ``(idx, field)`` itself (``WITHOUT
#: ROWID``), so each opening is written once, not to a rowid table and again to its key's
#: index: an observation has about eleven (a third less of ingest's writes). PostgreSQL keeps
#: its heap and key index.
SQLITE_OPENINGS_BY_KEY = [
    """CREATE TABLE openings_by_key (idx BIGINT NOT NULL, field TEXT NOT NULL,
        salt BLOB NOT NULL, value TEXT NOT NULL, PRIMARY KEY (idx, field)) WITHOUT ROWID""",
    "INSERT INTO openings_by_key SELECT idx, field, salt, value FROM openings",
    "DROP TABLE openings",
    "ALTER TABLE openings_by_key RENAME TO openings",
]


class _Salts:
    """Fresh random salts, read from the system's generator 256 at a time (one call per
    field costs a system call each); one per append, never shared between threads."""

    def __init__(self) -> None:
        self.buf = b""
        self.pos = 0

    def __call__(self) -> bytes:
        if self.pos + SALT_BYTES > len(self.buf):
            self.buf, self.pos = os.urandom(SALT_BYTES * 256), 0
        self.pos += SALT_BYTES
        return self.buf[self.pos - SALT_BYTES : self.pos]


class OpeningsTable:
    """Commits entries on append and keeps their openings; mixed in before ``SQLStore``."""

    if TYPE_CHECKING:  # SQLStore's, after this class in the store's bases

        def _all(self, sql: str, args: Sequence[Any] = ()) -> list[Any]: ...
        def _executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...
        def _blob(self, b: bytes) -> Any: ...

    _preset: dict[bytes, deque[tuple[bytes, dict[str, Opening]]]] | None = None

    def _append(self, entries: Sequence[tuple[str, bytes]]) -> list[int]:
        committed: list[tuple[str, bytes]] = []
        openings: list[dict[str, Opening]] = []
        preset = self._preset
        salts = _Salts()
        for t, data in entries:
            given = preset.get(data) if preset else None
            if given:
                c, ops = given.popleft()
            else:
                c, ops = commit_entry(data, salts)
            committed.append((t, c))
            openings.append(ops)
        idxs: list[int] = super()._append(committed)  # type: ignore[misc]
        blob = self._blob
        rows = [
            (
                i,
                name,
                blob(salt),
                json_canonical(value).decode("utf-8"),
            )
            for i, ops in zip(idxs, openings, strict=True)
            for name, (salt, value) in sorted(ops.items())
        ]
        if rows:
            self._executemany(
                "INSERT INTO openings(idx, field, salt, value) VALUES (?,?,?,?)", rows
            )
        return idxs

    def preset_openings(self, items: Sequence[tuple[bytes, bytes, Mapping[str, Opening]]]) -> None:
        """Entries appended from now on whose bytes are one of ``(full, committed, openings)``'s
        ``full`` are stored as ``committed`` with these ``openings`` (each once, in order):
        a mirror keeps the log's salts, hence its leaves."""
        preset: dict[bytes, deque[tuple[bytes, dict[str, Opening]]]] = defaultdict(deque)
        for full, committed, ops in items:
            preset[full].append((committed, dict(ops)))
        self._preset = preset

    def openings(self, start: int = 0, end: int | None = None) -> dict[int, dict[str, Opening]]:
        """The stored openings of entries ``[start, end)``, by entry index and field."""
        sql = "SELECT idx, field, salt, value FROM openings WHERE idx >= ?"
        args: list[Any] = [start]
        if end is not None:
            sql += " AND idx < ?"
            args.append(end)
        out: dict[int, dict[str, Opening]] = {}
        for idx, name, salt, value in self._all(sql + " ORDER BY idx, field", args):
            try:
                v = json.loads(value)
            except (TypeError, ValueError):
                v = value  # a tampered value: it will not match its commitment
            out.setdefault(int(idx), {})[str(name)] = (bytes(salt), v)
        return out
