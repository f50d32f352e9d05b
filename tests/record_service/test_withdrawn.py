"""A finding that no longer follows from the evidence is withdrawn in the record, and replay
agrees: the record shows every change of a finding's status, not only additions."""

from __future__ import annotations

from pathlib import Path

from tests.record_service.conftest import NOW, ORIGIN, new_store, sample_rows
from truceline.core.findings import Verdict
from truceline.core.record.canonical import parse_entry
from truceline.services import record
from truceline.services.check import run_check
from truceline.services.ingest import ingest
from truceline.services.verify import export_tiles, replay, verify_record


def test_withdrawn_summary_is_recorded_and_replayed(tmp_path: Path) -> None:
    rows = sample_rows()
    foreign = next(r for r in rows if r["id"] == "m25-presence-foreign-ua")
    rest = [r for r in rows if r["id"] != foreign["id"]]
    store = new_store(tmp_path / "w.db")
    ingest(store, list(enumerate(rest, 1)))
    first = {f.id: f for f in run_check(store).findings}
    (summary,) = [f for f in first.values()
                  if f.provision_id == "M25-no-foreign-contingents" and not f.evidence]
    assert summary.verdict is Verdict.COMPLIANT  # Ukrainian troops only: compliant
    ingest(store, [(1, foreign)])
    second = {f.id: f for f in run_check(store).findings}
    assert summary.id not in second  # now a violation: the compliant summary is withdrawn
    changes = [parse_entry(e.data)[1] for e in store.entries() if e.type == "status_change"]
    assert {"subject": "finding", "finding_id": summary.id, "status": "withdrawn"} in changes
    record.publish_checkpoint(store, ORIGIN, NOW)
    assert verify_record(store).ok
    tiles = export_tiles(store)
    res = replay(tiles.__getitem__, record.log_verifier(store).to_vkey())
    assert res.identical, res.differences
    assert {f.id for f in res.published} == set(second)
