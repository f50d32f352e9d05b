"""Resubmissions under new ids (issue 14), through ingest into both stores.

A copy is stored as it came (nothing lost), linked to the report counted for it (column and a
``status_change`` entry in the record), and the check counts it once; the order of arrival
does not change which report is counted; ingesting again changes nothing.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from truceline.adapters.agreement_files import load_agreement_file
from truceline.services.check import run_check
from truceline.services.ingest import ingest
from truceline.services.openings import full_entries
from truceline.services.ports import Store
from truceline.services.record import initialize_store

NOW = datetime(2025, 3, 28, tzinfo=UTC)


def report(
    oid: str, *, minute: int = 15, bearing: float = 45.0, second: int = 0, source: str = "post-7"
) -> dict[str, Any]:
    """An outgoing explosion heard from a post near the line (march2025's area)."""
    return {
        "id": oid,
        "kind": "fire",
        "fire_type": "explosion",
        "explosion_type": "outgoing",
        "time": f"2025-03-27T20:{minute:02d}:{second:02d}Z",
        "source_id": source,
        "observer_lon": 37.75,
        "observer_lat": 48.6,
        "bearing_deg": bearing,
        "distance_min_m": 3000.0,
        "distance_max_m": 5000.0,
        "weapon_class": "mortar",
    }


@pytest.fixture()
def ready(store: Store) -> Store:
    initialize_store(store, load_agreement_file("march2025")[1])
    return store


def _ingest(store: Store, records: list[dict[str, Any]]) -> Any:
    return ingest(store, list(enumerate(records, 1)), clock=lambda: NOW)


def _status_entries(store: Store) -> list[dict[str, Any]]:
    out = []
    for _, t, body in full_entries(store):  # the entries opened (the log holds commitments)
        if t == "status_change" and body.get("subject") == "observation":
            out.append(body)
    return out


def test_copy_stored_linked_and_counted_once(ready: Store) -> None:
    rep = _ingest(ready, [report("a"), report("b", minute=16)])
    assert (rep.added, rep.copies) == (2, 0)
    alone = run_check(ready).incidents
    # the copy of "a" under a new id, its time written to the second, its bearing re-rounded
    copy = {**report("a-again", bearing=45.04), "time": "2025-03-27T20:15:00.400Z"}
    rep = _ingest(ready, [copy])
    assert (rep.added, rep.copies, rep.rejected) == (1, 1, [])
    assert ready.count_observations() == 3  # nothing lost
    assert ready.observation("a-again").bearing_deg == 45.04  # nor rewritten
    assert ready.duplicate_links() == {"a-again": "a"}
    assert _status_entries(ready) == [
        {
            "subject": "observation",
            "observation_id": "a-again",
            "status": "duplicate",
            "duplicate_of": "a",
        }
    ]
    assert run_check(ready).incidents == alone
    evidence = [i["evidence"] for i in ready.incident_records()]
    assert not any("a-again" in e for e in evidence)
    # ingesting again is idempotent: no new row, link or entry
    size = ready.entry_count()
    rep = _ingest(ready, [report("a"), copy])
    assert (rep.added, rep.duplicates) == (0, 2)
    assert ready.entry_count() == size


def test_two_reports_of_one_source_are_not_copies(ready: Store) -> None:
    # one post, the same minute, bearings 2 degrees apart: two explosions; and a shot
    # a minute later in the same direction
    _ingest(
        ready,
        [
            report("a"),
            report("b", bearing=47.0),
            report("c", minute=16),
            report("d", source="post-8"),
        ],
    )
    assert ready.duplicate_links() == {}
    assert _status_entries(ready) == []


def test_order_of_arrival_does_not_change_what_is_counted(ready: Store) -> None:
    # the copy with the larger id arrives first; the smaller one later takes its place
    _ingest(ready, [report("z-copy")])
    rep = _ingest(ready, [report("m-copy"), report("a-orig")])
    assert rep.copies == 2  # m-copy, and z-copy (stored before) linked anew
    assert ready.duplicate_links() == {"m-copy": "a-orig", "z-copy": "a-orig"}
    bodies = _status_entries(ready)
    assert {b["observation_id"]: b["duplicate_of"] for b in bodies} == {
        "m-copy": "a-orig",
        "z-copy": "a-orig",
    }
    run_check(ready)
    [inc] = ready.incident_records()
    assert inc["evidence"] == ["a-orig"]


def test_the_cli_says_how_many_copies_it_linked(backend: Any, tmp_path: Path) -> None:
    from click.testing import CliRunner

    import truceline.adapters.cli.commands  # noqa: F401  (registers the commands)
    from truceline.adapters.cli.main import cli

    res = CliRunner().invoke(cli, ["init", "--db", backend.url, "--agreement", "march2025"])
    assert res.exit_code == 0, res.output
    path = tmp_path / "obs.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in (report("a"), report("a-again"))))
    res = CliRunner().invoke(cli, ["ingest", "--db", backend.url, str(path)])
    assert res.exit_code == 0, res.output
    assert (
        res.stdout == f"{path}: 2 added, 0 already stored, 0 rejected, 1 linked as "
        "resubmitted copies\n"
    )


def test_record_verify_replay_and_a_rebuilt_mirror_keep_the_links(
    ready: Store, tmp_path: Path
) -> None:
    from truceline.adapters.store.sqlite import SQLiteStore
    from truceline.services import record, verify

    from ..log_keys import fixed_key

    _ingest(ready, [report("z-copy"), report("b", minute=16)])
    run_check(ready)
    _ingest(ready, [report("a-orig")])  # relinks z-copy to a-orig
    run_check(ready)
    assert verify.verify_record(ready).ok, verify.verify_record(ready).problems
    record.publish_checkpoint(ready, fixed_key("truceline.test/resubmissions"), 1_700_000_000)
    files = verify.export_tiles(ready)
    vkey = record.log_verifier(ready).to_vkey()
    every = ready.openings()  # a mirror is rebuilt from every opening (an analyst's bundle)
    res = verify.replay(files.__getitem__, vkey, every)
    assert res.differences == []  # the replay counts the copy once too
    assert res.derived == ready.findings()
    mirror = SQLiteStore(tmp_path / "mirror.db", create=True)
    try:
        verify.rebuild(mirror, res.entries, files["checkpoint"], vkey, res.documents, every)
        assert mirror.duplicate_links() == ready.duplicate_links() == {"z-copy": "a-orig"}
        assert verify.verify_record(mirror).ok, verify.verify_record(mirror).problems
    finally:
        mirror.close()


def test_copies_lookup_reads_the_latitude_band_and_the_links(ready: Store) -> None:
    """The lookup of a batch's possible copies is narrowed in the store by source, second and
    latitude band: a busy source's other reports of that second are not read, the copies
    are, and a stored copy outside the band still comes back with its link (unparsed), since
    a new report can change which member of its group is counted."""
    from truceline.core.observations import parse_observation
    from truceline.core.resubmissions import candidate_windows

    def at(oid: str, lat: float) -> dict[str, Any]:
        return {"id": oid, "kind": "fire", "fire_type": "explosion", "explosion_type": "impact",
                "time": "2025-03-27T20:15:00Z", "source_id": "sensor-1", "lon": 37.8,
                "lat": lat, "location_uncertainty_m": 50.0}

    busy = [at(f"busy-{k:03d}", 48.5 + 0.001 * k) for k in range(1, 60)]  # 111 m apart
    _ingest(ready, [at("m-far", 48.45), at("m-far-copy", 48.45), *busy])
    assert ready.duplicate_links() == {"m-far-copy": "m-far"}
    new = parse_observation(at("m-new", 48.5 + 0.001 * 30 + 0.00002))  # 2 m from busy-030
    rows = {oid: (obs, dup) for oid, obs, dup in ready.duplicate_candidates(
        candidate_windows([new]))}
    assert set(rows) == {"busy-030", "m-far-copy"}
    assert rows["busy-030"][0] is not None and rows["busy-030"][0].lat == pytest.approx(48.53)
    assert rows["m-far-copy"] == (None, "m-far")
    _ingest(ready, [at("m-new", 48.5 + 0.001 * 30 + 0.00002)])
    assert ready.duplicate_links() == {"m-far-copy": "m-far", "m-new": "busy-030"}


def test_copies_lookup_skips_the_windows_past_a_sources_latest_report(ready: Store) -> None:
    """A feed sends in time order: the windows of a batch that start after its source's
    latest stored report cannot find anything and are not looked up (one index seek for
    the source instead of a join per window); a window that starts at that very time is,
    and finds it."""
    import sqlite3

    from truceline.core.observations import parse_observation
    from truceline.core.resubmissions import candidate_windows

    def at(oid: str, second: int, lat: float) -> dict[str, Any]:
        return {"id": oid, "kind": "fire", "fire_type": "explosion", "explosion_type": "impact",
                "time": f"2025-03-27T20:15:{second:02d}Z", "source_id": "feed-1", "lon": 37.8,
                "lat": lat, "location_uncertainty_m": 50.0}

    _ingest(ready, [at(f"f-{k}", k, 48.5 + 0.01 * k) for k in range(10)])  # 20:15:00-09
    later = [parse_observation(at(f"n-{k}", 20 + k, 48.5)) for k in range(5)]
    edge = parse_observation(at("n-edge", 10, 48.59002))  # its window starts at 20:15:09
    got = ready.duplicate_candidates(candidate_windows([*later, edge]))
    assert [(oid, obs is not None, dup) for oid, obs, dup in got] == [("f-9", True, None)]
    db = getattr(ready, "_db", None)
    if isinstance(db, sqlite3.Connection):  # what was asked of the store
        asked: list[str] = []
        db.set_trace_callback(asked.append)
        try:
            assert ready.duplicate_candidates(candidate_windows(later)) == []
        finally:
            db.set_trace_callback(None)
        assert asked and not any("JOIN observations" in q for q in asked), asked
    _ingest(ready, [at("n-edge", 10, 48.59002)])
    assert ready.duplicate_links() == {"n-edge": "f-9"}
