"""The ``openings`` table: the salt and value of every committed field, beside the log.

Every entry is appended in committed form (:mod:`truceline.core.record.commit`): the store
commits each entry as it appends it, with fresh random salts, and writes the openings in the
same transaction as the entry, so an acknowledged observation never loses its content. A mirror
rebuilt from a log gives the log's own committed bytes and openings beforehand
(:meth:`OpeningsTable.preset_openings`), so its entries, leaves and root are the log's.
"""

from __future__ import annotations

import json
from collections import defaultdict, deque
from collections.abc import Mapping, Sequence
from json.encoder import encode_basestring
from typing import TYPE_CHECKING, Any

from truceline.core.record.canonical import PreparedEntry
from truceline.core.record.commit import (
    CommittedEntry,
    Opening,
    Salts,
    commit_entry,
    commit_prepared_text,
    json_canonical,
)

#: Schema 5: the openings of committed entry fields (one row per entry and field).
SCHEMA_OPENINGS = [
    """CREATE TABLE openings (idx BIGINT NOT NULL, field TEXT NOT NULL, salt BLOB NOT NULL,
        value TEXT NOT NULL, PRIMARY KEY (idx, field))""",
]


#: Schema 8 on SQLite, 9 on PostgreSQL: one row per entry, its openings as one JSON object
#: ``{field: [salt hex, value]}`` (the value as its canonical JSON), in place of one row per
#: field: an observation has about eleven committed fields, and writing eleven keyed rows was
#: the largest part of signed ingest's own cost (issue 21). The old rows are folded in: their
#: ``value`` is canonical JSON text already, so the object is spliced from it, not re-encoded.
ENTRY_OPENINGS = """CREATE TABLE entry_openings (idx BIGINT PRIMARY KEY,
    fields TEXT NOT NULL)"""
SQLITE_ENTRY_OPENINGS = [
    ENTRY_OPENINGS,
    """INSERT INTO entry_openings SELECT idx, '{' || group_concat('"' || field || '":["'
        || lower(hex(salt)) || '",' || value || ']', ',') || '}' FROM openings GROUP BY idx""",
    "DROP TABLE openings",
]
PG_ENTRY_OPENINGS = [
    ENTRY_OPENINGS,
    """INSERT INTO entry_openings SELECT idx, '{' || string_agg('"' || field || '":["'
        || encode(salt, 'hex') || '",' || value || ']', ',' ORDER BY field) || '}'
        FROM openings GROUP BY idx""",
    "DROP TABLE openings",
]

#: What an unreadable row opens to: a field no entry has, so checking it against its entry
#: fails and names the row, instead of the entry looking merely unopened.
UNREADABLE = "(unreadable openings)"


def openings_text(ops: Mapping[str, Opening]) -> str:
    """One entry's openings as the JSON object the table keeps (fields sorted)."""
    return "{" + ",".join(
        f'{encode_basestring(name)}:["{salt.hex()}",{json_canonical(value).decode("utf-8")}]'
        for name, (salt, value) in sorted(ops.items())) + "}"


def parse_openings_text(text: str) -> dict[str, Opening]:
    """:func:`openings_text` read back; a row that is not one (tampered, truncated) opens
    to :data:`UNREADABLE` with its text."""
    try:
        obj = json.loads(text)
        return {str(name): (bytes.fromhex(pair[0]), pair[1]) for name, pair in obj.items()}
    except (TypeError, ValueError, AttributeError, IndexError, KeyError):
        return {UNREADABLE: (b"", text)}


class OpeningsTable:
    """Commits entries on append and keeps their openings; mixed in before ``SQLStore``."""

    if TYPE_CHECKING:  # SQLStore's, after this class in the store's bases

        def _all(self, sql: str, args: Sequence[Any] = ()) -> list[Any]: ...
        def _executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...
        def _blob(self, b: bytes) -> Any: ...

    _preset: dict[bytes, deque[tuple[bytes, dict[str, Opening]]]] | None = None

    def _append(self, entries: Sequence[tuple[str, bytes]]) -> list[int]:
        committed: list[tuple[str, bytes]] = []
        texts: list[str | None] = []
        preset = self._preset
        salts = Salts()
        for t, data in entries:
            given = preset.get(data) if preset else None
            if given:
                c, ops = given.popleft()
                text = openings_text(ops) if ops else None
            elif type(data) is CommittedEntry:  # committed by ingest's worker processes
                c, text = data.committed, data.openings
            elif type(data) is PreparedEntry:  # a check's findings: fields encoded once
                c, text = commit_prepared_text(data, salts)
            else:
                c, ops = commit_entry(data, salts)
                text = openings_text(ops) if ops else None
            committed.append((t, c))
            texts.append(text)
        idxs: list[int] = super()._append(committed)  # type: ignore[misc]
        rows = [(i, text) for i, text in zip(idxs, texts, strict=True) if text is not None]
        if rows:
            self._executemany("INSERT INTO entry_openings(idx, fields) VALUES (?,?)", rows)
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
        sql = "SELECT idx, fields FROM entry_openings WHERE idx >= ?"
        args: list[Any] = [start]
        if end is not None:
            sql += " AND idx < ?"
            args.append(end)
        return {int(idx): parse_openings_text(text)
                for idx, text in self._all(sql + " ORDER BY idx", args)}
