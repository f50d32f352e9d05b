"""A dispute's id is keyed with the store's secret (it is public; its text is not), and
filing again finds the dispute whatever its id: one filed before the ids were keyed keeps its
plain-hash id, and the same party, finding, text and evidence return it, not a second one."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

from truceline.services.check import run_check
from truceline.services.disputes import dispute_entry, file_dispute
from truceline.services.ingest import ingest

from .conftest import new_store, sample_rows

T = datetime(2025, 3, 28, 12, tzinfo=UTC)


def test_a_dispute_filed_before_the_keyed_ids_is_found_again(tmp_path: Path) -> None:
    store = new_store(tmp_path / "mission.db")
    ingest(store, list(enumerate(sample_rows(), 1)))
    run_check(store)
    f = next(f for f in store.findings() if f.party == "RU" and f.evidence)
    key = json.dumps([f.id, "RU", "not ours", []], separators=(",", ":"))
    old = "d-" + hashlib.sha256(key.encode()).hexdigest()[:20]  # as ids were made before
    rec = {"id": old, "finding_id": f.id, "party": "RU", "text": "not ours", "evidence": [],
           "time": "2025-03-28T11:00:00Z"}
    store.add_dispute(old, f.id, "RU", rec, dispute_entry(rec))
    n = store.entry_count()
    again, new = file_dispute(store, f, "RU", "not ours", [], T)
    assert not new and again["id"] == old and store.entry_count() == n
    other, new = file_dispute(store, f, "RU", "not ours at all", [], T)
    assert new and other["id"] != old
    key2 = json.dumps([f.id, "RU", "not ours at all", []], separators=(",", ":"))
    assert other["id"] != "d-" + hashlib.sha256(key2.encode()).hexdigest()[:20]
    assert file_dispute(store, f, "RU", "not ours at all", [], T)[0]["id"] == other["id"]
