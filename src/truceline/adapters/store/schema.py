"""The store's tables in a neutral SQL dialect, their migrations, and the text their columns hold.

Each dialect maps the neutral schema to its own types and keeps its ordered migrations
(:mod:`truceline.adapters.store.sqlite`, :mod:`truceline.adapters.store.postgres`); the shared
queries are :class:`truceline.adapters.store.sql.SQLStore`'s. Times are stored as fixed-width
UTC text and records as compact sorted JSON, so both databases order and compare them alike.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from pydantic_core import SchemaValidator, core_schema, from_json

from truceline.core.observations import ObservationRow

#: The tables, in a neutral dialect: BLOB, BIGINT and TEXT are mapped per database.
#:
#: Per-row cost on the append path is one b-tree insert per table and per index, so the record's
#: tables keep only what is queried: ``BIGINT PRIMARY KEY`` is SQLite's rowid (the table itself,
#: appended in key order, no separate key index), ``observations`` is keyed by its append order
#: ``seq`` with ``id`` unique, and ``nodes`` is ``WITHOUT ROWID`` (the table *is* its
#: ``(level, idx)`` key; PostgreSQL ignores the clause, see ``postgres._pg_table``).
SCHEMA_V1 = [
    """CREATE TABLE agreement_versions (
        version BIGINT PRIMARY KEY, agreement_id TEXT NOT NULL, doc TEXT NOT NULL)""",
    """CREATE TABLE observations (
        seq BIGINT PRIMARY KEY, id TEXT NOT NULL UNIQUE, kind TEXT NOT NULL, time TEXT NOT NULL,
        lon DOUBLE PRECISION, lat DOUBLE PRECISION, source_id TEXT NOT NULL,
        record TEXT NOT NULL)""",
    "CREATE INDEX observations_time ON observations(time)",
    "CREATE INDEX observations_kind_time ON observations(kind, time)",
    "CREATE INDEX observations_source ON observations(source_id)",
    """CREATE TABLE incidents (id TEXT PRIMARY KEY, time TEXT NOT NULL,
        lon DOUBLE PRECISION, lat DOUBLE PRECISION, record TEXT NOT NULL)""",
    """CREATE TABLE findings (id TEXT PRIMARY KEY, provision_id TEXT NOT NULL, party TEXT,
        verdict TEXT NOT NULL, time TEXT, lon DOUBLE PRECISION, lat DOUBLE PRECISION,
        record TEXT NOT NULL)""",
    """CREATE TABLE entries (idx BIGINT PRIMARY KEY, type TEXT NOT NULL, data BLOB NOT NULL,
        leaf_hash BLOB NOT NULL)""",
    """CREATE TABLE nodes (level INTEGER NOT NULL, idx BIGINT NOT NULL, hash BLOB NOT NULL,
        PRIMARY KEY (level, idx)) WITHOUT ROWID""",
    "CREATE TABLE checkpoints (size BIGINT PRIMARY KEY, note BLOB NOT NULL)",
    """CREATE TABLE cosignatures (size BIGINT NOT NULL, witness TEXT NOT NULL,
        signature TEXT NOT NULL, PRIMARY KEY (size, witness))""",
    """CREATE TABLE keys (key_id TEXT PRIMARY KEY, owner TEXT NOT NULL, role TEXT NOT NULL,
        public_key BLOB NOT NULL, revoked INTEGER NOT NULL DEFAULT 0)""",
    "CREATE INDEX keys_owner ON keys(owner)",
    """CREATE TABLE disputes (id TEXT PRIMARY KEY, finding_id TEXT NOT NULL, party TEXT NOT NULL,
        record TEXT NOT NULL)""",
    """CREATE TABLE api_keys (token_hash TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL,
        party TEXT, revoked INTEGER NOT NULL DEFAULT 0)""",
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
]

#: The tables every store has, whatever the dialect (PostgreSQL adds ``schema_version``).
TABLES = ("agreement_versions", "observations", "incidents", "findings", "entries", "nodes",
          "checkpoints", "cosignatures", "keys", "disputes", "api_keys", "meta",
          "notifications", "acknowledgements", "deliveries", "endpoints")

#: Schema 2: the SHA-256 of the input an observation was ingested from (see
#: :func:`truceline.services.ingest.input_digest`), so that an ingest run again over the same
#: input skips what is already stored before any validation or signature check. NULL for rows
#: stored before it (and rows rebuilt from a log): those are matched on their record instead.
SCHEMA_V2 = ["ALTER TABLE observations ADD COLUMN input_sha256 BLOB"]

#: Schema 3: ``duplicate_of``, the id of the report a resubmitted copy is counted through
#: (:mod:`truceline.core.resubmissions`), NULL for a report that is counted itself. The copy's
#: row and entry stay as they came; its link is also a ``status_change`` entry in the record.
#: Existing rows get NULL (the checks count by the rule, not the column). Ingest looks a
#: batch's copies up by source and time: the index on the source gains the time.
SCHEMA_V3 = ["ALTER TABLE observations ADD COLUMN duplicate_of TEXT",
             "DROP INDEX observations_source",
             "CREATE INDEX observations_source_time ON observations(source_id, time)"]

#: Schema 4: the guarantee mechanism (docs/guarantees.md). ``notifications`` and
#: ``acknowledgements`` hold what their record entries say (``withdrawn`` follows a
#: ``status_change`` entry); ``deliveries`` is the webhook outbox (one row per notification and
#: recipient, written in the notification's transaction) and ``endpoints`` each recipient's
#: webhook URL and signing secret: operational state, not in the record.
SCHEMA_V4 = [
    """CREATE TABLE notifications (id TEXT PRIMARY KEY, kind TEXT NOT NULL,
        guarantor TEXT NOT NULL, finding_id TEXT NOT NULL, deadline TEXT,
        withdrawn INTEGER NOT NULL DEFAULT 0, record TEXT NOT NULL)""",
    """CREATE TABLE acknowledgements (notification_id TEXT PRIMARY KEY,
        guarantor TEXT NOT NULL, record TEXT NOT NULL)""",
    """CREATE TABLE deliveries (id TEXT PRIMARY KEY, notification_id TEXT NOT NULL,
        recipient TEXT NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
        next_at TEXT NOT NULL, delivered_at TEXT, last_error TEXT)""",
    "CREATE INDEX deliveries_due ON deliveries(state, next_at)",
    """CREATE TABLE endpoints (recipient TEXT PRIMARY KEY, url TEXT NOT NULL,
        secret TEXT NOT NULL, registered TEXT NOT NULL)""",
]


#: The derived cache: values derived from the agreement alone and kept between processes
#: (the compiled geometry, :mod:`truceline.services.geometry_cache`). One row per key;
#: ``sha256`` is the digest of ``data``. Nothing in the record commits to it: a reader that
#: finds no row under its key, or one failing its digest, compiles again, and ``record
#: verify`` checks the row a reader would use against a fresh compile.
SCHEMA_DERIVED = [
    "CREATE TABLE derived_cache (key TEXT PRIMARY KEY, sha256 TEXT NOT NULL, data BLOB NOT NULL)",
]

#: Schema 8 on PostgreSQL, 7 on SQLite: the report's period reads (:mod:`.check_results`)
#: narrow ``incidents`` and ``findings`` by a text range on ``time``; an index makes that a
#: range scan of the period (and its margin) instead of a scan of every row the last check
#: stored, so a day's report follows the day, not the store.
SCHEMA_PERIOD_INDEXES = [
    "CREATE INDEX incidents_time ON incidents(time)",
    "CREATE INDEX findings_time ON findings(time)",
]


#: Schema 9 on PostgreSQL, 8 on SQLite: ingest looks a batch's possible copies up by source,
#: time and latitude band (:meth:`SqlStore.duplicate_candidates`); with the latitude and the
#: link in the index, a source that sends hundreds of reports a second is filtered in the
#: index instead of row by row in the table (same rows, one index replacing another).
SCHEMA_COPY_INDEX = [
    "DROP INDEX observations_source_time",
    "CREATE INDEX observations_copies ON observations(source_id, time, lat, duplicate_of)",
]


#: Schema 10 on PostgreSQL, 9 on SQLite: a check compares its incident set with the last
#: ``incident`` entry (:meth:`SqlStore.last_entry`), which without an index meant reading the
#: whole ``entries`` table from its end (~14 s at 907k observations, all of it on a first
#: check, which finds none). A partial index holds only those entries, so ingest's appends of
#: other types do not touch it.
SCHEMA_INCIDENT_ENTRIES = [
    "CREATE INDEX entries_incident ON entries(idx) WHERE type = 'incident'",
]

#: Schema 11 on PostgreSQL, 10 on SQLite: what a check keeps of each UTC day's fusion when
#: both per-day rules are on (:class:`~truceline.core.fusion.day_state.DayState`, encoded), so
#: that the next check fuses only the days new reports touch (docs/partitions.md). Derived,
#: like the incidents beside it: nothing in the record commits to it, and a check whose
#: fingerprint (meta ``fusion_days``) does not match fuses every day again.
SCHEMA_FUSION_DAYS = [
    "CREATE TABLE fusion_days (day BIGINT PRIMARY KEY, state BLOB NOT NULL)",
]

#: Schema 12 on PostgreSQL, 11 on SQLite: beside each kept day's fusion state, what the rules
#: read of the day's counted fire reports (:mod:`~truceline.services.day_reports`: each one's
#: id, time and facts, and the ids not counted), so that the next check reads the store only
#: from the days new reports touch. NULL in the rows kept before it: such states are not
#: kept (the next check reads and fuses every day).
SCHEMA_DAY_REPORTS = [
    "ALTER TABLE fusion_days ADD COLUMN reports BLOB",
]

#: The entry types :meth:`SqlStore.last_entry` finds by an index (its query names the type as
#: the index's condition does, so both databases' planners see that the index applies).
INDEXED_LAST = frozenset({"incident"})


def time_text(t: datetime) -> str:
    """Fixed-width UTC (microseconds, 'Z'): the form stored in ``time`` columns, so that text
    order is time order and a filter given in any offset compares correctly."""
    if t.tzinfo is UTC and t.year >= 1000:  # validated observations: skip the conversions
        return t.isoformat(timespec="microseconds")[:-6] + "Z"  # drop "+00:00"
    u = t.astimezone(UTC)
    if u.year < 1000:  # strftime's %Y is platform-specific there: keep what it writes
        return u.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    # the same text, at half strftime's cost on the ingest hot path
    return u.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def json_text(obj: Any) -> str:
    """Compact JSON, keys sorted, non-ASCII kept: the text of ``record`` and ``doc`` columns."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@lru_cache(maxsize=16)
def _fields_reader(fields: tuple[str, ...]) -> SchemaValidator:
    """A reader of a JSON object that keeps the values of ``fields`` (as :func:`from_json`
    gives them) and skips the rest without making Python objects of it."""
    return SchemaValidator(core_schema.typed_dict_schema(
        {k: core_schema.typed_dict_field(core_schema.any_schema(), required=False)
         for k in fields}))


def record_fields(text: str, fields: tuple[str, ...]) -> dict[str, Any]:
    """``{k: v for k, v in record_value(text).items() if k in fields}`` (the same keys and
    values), at ~0.4x the cost for a few keys of a large record. A text that reader refuses goes to
    :func:`record_value`, so the answer is always the standard library's."""
    try:
        out: dict[str, Any] = _fields_reader(fields).validate_json(text)
    except ValueError:
        whole = record_value(text)
        return {k: whole[k] for k in fields if k in whole}
    return out


def record_value(text: str) -> Any:
    """What ``json.loads(text)`` gives for a ``record`` column's text, parsed by pydantic-core
    (Rust): the same dicts, lists, keys in the same order, numbers to the bit, at about half
    the cost (a one-day report of the 907k store parses ~37,000 incident and finding records).
    A text that parser refuses (a lone surrogate's escape, which :func:`json_text` never
    writes) goes to ``json.loads``, so the answer is always the standard library's."""
    try:
        return from_json(text)
    except ValueError:
        return json.loads(text)


_OBS_HEAD, _OBS_TAIL = b'{"body":', b',"type":"observation"}'


def observation_text(o: ObservationRow, entry: bytes) -> str:
    """The observation's record JSON, sliced from its canonical entry when it has one.

    Canonical JSON of a JSON-typed record is byte for byte what :func:`json_text` writes (same
    key order, separators and escaping), so serialising the record a second time is wasted
    work on the hottest path; anything else is serialised as before.
    """
    if entry.startswith(_OBS_HEAD) and entry.endswith(_OBS_TAIL):
        return entry[len(_OBS_HEAD) : -len(_OBS_TAIL)].decode("utf-8")
    return json_text(o.to_record())


def derived_columns(table: str, record: dict[str, Any]) -> dict[str, Any]:
    """The columns a row keeps beside its record (the ones readers filter and order on),
    as the store writes them from ``record``: ``record verify`` compares them with the row.

    ``record`` is the row's own record, or for ``keys`` and ``agreement_versions`` the
    registration entry's body and the document.
    """
    if table == "observations":
        return {"id": record["id"], "kind": record["kind"],
                "time": time_text(datetime.fromisoformat(record["time"])),
                "lon": record.get("lon"), "lat": record.get("lat"),
                "source_id": record["source_id"]}
    if table == "incidents":
        loc = record.get("origin") or record.get("impact") or record.get("location") or {}
        return {"id": record["id"], "time": record["time"], "lon": loc.get("lon"),
                "lat": loc.get("lat")}
    if table == "findings":
        return {"id": record["id"], "provision_id": record["provision_id"],
                "party": record.get("party"), "verdict": record["verdict"],
                "time": record.get("time"), "lon": record.get("lon"), "lat": record.get("lat")}
    if table == "disputes":
        return {"id": record["id"], "finding_id": record["finding_id"],
                "party": record["party"]}
    if table == "agreement_versions":
        return {"agreement_id": record.get("id", "")}
    if table == "notifications":
        return {"id": record["id"], "kind": record["kind"], "guarantor": record["guarantor"],
                "finding_id": record["finding_id"], "deadline": record.get("deadline")}
    if table == "acknowledgements":
        return {"notification_id": record["notification_id"], "guarantor": record["guarantor"]}
    if table == "keys":
        return {"key_id": record["key_id"], "owner": record["owner"], "role": record["role"]}
    raise ValueError(f"no derived columns for table {table!r}")
