"""A check stores exactly what the straightforward path stored, on SQLite and PostgreSQL.

The check encodes each incident's and finding's record once and commits its findings'
entries from their fields' spans; notify appends its entries in one batch. Here the rows, the
entries (opened with the stored openings, so the random salts drop out) and their order are
held to what the plain functions give for the same derived incidents and findings: the rows'
JSON text, the incident set's digest over the whole canonical array, ``entry_bytes`` of each
new or changed finding and of each notification, a withdrawal for each finding that is gone.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from truceline.adapters.agreement_files import load_agreement_file
from truceline.adapters.store.schema import json_text
from truceline.core.record.canonical import _dump, _prepare, entry_bytes, parse_entry
from truceline.core.record.commit import open_body
from truceline.services.check import (
    derive_findings,
    derive_incidents_and_sources,
    run_check,
    withdrawn_entry,
)
from truceline.services.context import load_context
from truceline.services.guarantees import guarantee_store, notify
from truceline.services.ingest import ingest
from truceline.services.kept_digest import KEPT_FIELD, stored_kept_digest
from truceline.services.ports import Store
from truceline.services.record import initialize_store
from truceline.services.verify import verify_record
from truceline.services.verify_rows import incident_set_entry, incidents_entry

from ..record_service.conftest import sample_rows, synthetic
from .rows import fire_row

T0 = datetime(2025, 4, 30, 6, 0, tzinfo=UTC)


def _opened(store: Store, start: int) -> list[tuple[str, bytes]]:
    """The entries from ``start`` on, each as its full (uncommitted) canonical bytes."""
    ops = store.openings(start)
    out = []
    for e in store.entries(start):
        t, body = parse_entry(e.data)
        full, left = open_body(t, body, ops.get(e.index, {}))
        assert left == []
        out.append((e.type, entry_bytes(t, full)))
    return out


def _derived(store: Store) -> tuple[list[Any], list[Any], list[dict[str, Any]], int]:
    ctx = load_context(store)
    obs = store.observations()
    incidents, sources = derive_incidents_and_sources(ctx, obs)
    return incidents, derive_findings(ctx, obs)[1], sources, len(obs)


def _expected(store: Store) -> tuple[Callable[[str | None], list[tuple[str, bytes]]],
                                     dict[str, str], dict[str, str]]:
    """What the straightforward path appends (given the digest of what the check keeps for
    the next one: known once it has written it) and stores for the store as it is now."""
    incidents, findings, sources, read = _derived(store)
    records = [i.to_record() for i in incidents]
    whole = _dump(_prepare(sorted(records, key=lambda r: str(r["id"])), "$"))
    version = store.agreement_version()
    digest = hashlib.sha256(whole).hexdigest()
    assert parse_entry(incidents_entry(records, read, sources, version))[1]["sha256"] == digest
    before = {f.id: json.dumps(f.to_record(), sort_keys=True) for f in store.findings()}
    last = store.last_entry("incident")
    said = parse_entry(last.data)[1] if last is not None else {}
    rest = [("finding", entry_bytes("finding", f.to_record())) for f in findings
            if before.get(f.id) != json.dumps(f.to_record(), sort_keys=True)]
    gone = sorted(set(before) - {f.id for f in findings})
    rest += [("status_change", withdrawn_entry(fid)) for fid in gone]

    def entries(kept: str | None) -> list[tuple[str, bytes]]:
        entry = incident_set_entry(len(records), digest, read, sources, version, kept)
        same = (said.get("sha256"), said.get("observations"), said.get("agreement_version"),
                said.get(KEPT_FIELD)) == (digest, read, version, kept)
        return ([] if same else [("incident", entry)]) + rest

    return (entries, {i.id: json_text(i.to_record()) for i in incidents},
            {f.id: json_text(f.to_record()) for f in findings})


def _rows(store: Store, table: str) -> dict[str, str]:
    return {r["id"]: r["record"] for r in store.table_rows(table)}


def _check_and_compare(store: Store) -> list[str]:
    """Check; compare; the types of the entries appended."""
    expected, incidents, findings = _expected(store)
    start = store.entry_count()
    res = run_check(store)
    entries = expected(stored_kept_digest(store))  # what it kept, as stored
    assert res.new_entries == len(entries)
    assert _opened(store, start) == entries
    assert _rows(store, "incidents") == incidents
    assert _rows(store, "findings") == findings
    return [t for t, _ in entries]


def test_a_check_and_notify_write_what_the_plain_functions_make(store: Store) -> None:
    _, doc = load_agreement_file("march2025")
    initialize_store(store, doc)
    rows = [*sample_rows(), fire_row("w-fire-1", "smm-post-1", 38.0, 37.93)]
    ingest(store, list(enumerate(rows, 1)), clock=lambda: T0)
    first = _check_and_compare(store)
    assert first[0] == "incident" and first.count("finding") == len(store.findings()) > 10

    start = store.entry_count()
    made = notify(store, T0, store.findings())
    assert made.created
    notes = {r["id"]: r for r in guarantee_store(store).notification_rows()}
    want = [("notification", entry_bytes("notification", {
        k: v for k, v in notes[nid].items() if k not in ("withdrawn", "acknowledgement")}))
        for nid in sorted(made.created)]
    assert _opened(store, start) == want
    stored = _rows(store, "notifications")  # the rows' text: the record as json_text writes it
    assert stored == {nid: json_text(dict(parse_entry(e)[1])) for (_, e), nid in
                      zip(want, sorted(made.created), strict=True)}
    assert len(guarantee_store(store).deliveries()) == sum(
        len(notes[n]["recipients"]) for n in made.created)
    assert notify(store, T0).created == []  # read back from the store: nothing new

    assert _check_and_compare(store) == []  # nothing changed: nothing appended
    # a row written by an older check (same finding, other text: spaced, coverage null) is
    # the same finding, as before
    fid, text = next(iter(_rows(store, "findings").items()))
    older = json.dumps({**json.loads(text), "coverage": None}, sort_keys=True)
    store._execute("UPDATE findings SET record = ? WHERE id = ?", (older, fid))  # type: ignore[attr-defined]
    # the plain check is incremental (session 21): with nothing new it judges no incident
    # again, and a kept day's finding stays as stored, its row's text too; nothing appended
    start = store.entry_count()
    res = run_check(store)
    assert not res.complete and res.judged == 0 and res.new_entries == 0
    assert _opened(store, start) == [] and _rows(store, "findings")[fid] == older
    (read,) = [f for f in store.findings() if f.id == fid]
    assert json_text(read.to_record()) == text  # the same finding
    store._execute("UPDATE findings SET record = ? WHERE id = ?", (text, fid))  # type: ignore[attr-defined]
    # more reports: changed and new findings, and the withdrawal of those now gone
    rows = [fire_row("w-fire-2", "smm-post-2", 38.0005, 37.95), *synthetic(60)]
    ingest(store, list(enumerate(rows, 1)), clock=lambda: T0)
    later = _check_and_compare(store)
    assert later[0] == "incident" and "finding" in later and "status_change" in later
    assert verify_record(store).problems == []


def test_the_last_entry_of_a_type_by_the_index_or_not(store: Store) -> None:
    """``last_entry`` finds the latest entry of a type: ``incident`` entries by their partial
    index (schema 9 on SQLite, 10 on PostgreSQL), any other type as before."""
    assert store.last_entry("incident") is None
    body = {"count": 0, "observations": 0, "sha256": "0" * 64}
    kinds = ["incident", "status_change", "incident", "key_registration", "status_change"]
    made = [(t, entry_bytes(t, {**body, "n": n} if t == "incident" else
                            {"subject": "x", "status": "y", "n": n}))
            for n, t in enumerate(kinds)]
    idx = store.append_entries(made)
    for t in set(kinds):
        last = store.last_entry(t)
        assert last is not None and last.index == max(
            i for i, (k, _) in zip(idx, made, strict=True) if k == t)
    assert store.last_entry("dispute") is None
    db = getattr(store, "_db", None)  # SQLite: the query reads the index, not the table
    if db is not None:
        plan = db.execute("EXPLAIN QUERY PLAN SELECT idx FROM entries WHERE type = 'incident' "
                          "ORDER BY idx DESC LIMIT 1").fetchall()
        assert "entries_incident" in str(plan)
