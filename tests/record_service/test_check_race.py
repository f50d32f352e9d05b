"""Observations ingested while a check reads are left to the next check, and a replay judges
exactly what the check read: a party re-derives the published findings whatever arrived
during the check, or between the check and a dispute's ruling."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from truceline.adapters.store.sqlite import SQLiteStore
from truceline.core.observations import Observation
from truceline.services import disputes, record, verify
from truceline.services.check import run_check
from truceline.services.ingest import ingest

from .conftest import LOG_KEY, NOW, new_store, sample_rows

#: Held back, then ingested by another writer while the check reads its pages: a UA muzzle
#: flash (a ceasefire finding) whose time falls inside what was already read, and a
#: restriction later than anything read.
LATE = ("m25-flash-ua-1", "m25-restr-jamming-ua")
T = datetime(2025, 3, 28, 12, tzinfo=UTC)


class IngestWhileReading:
    """The store a check runs on, as another process ingests ``rows`` (through its own
    connection to the same file) just after the check has read its first page."""

    def __init__(self, store: SQLiteStore, path: Path, rows: list[dict[str, Any]]) -> None:
        self._store, self._path, self._rows = store, path, rows

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def observation_pages(self, size: int = 20_000, upto: int | None = None
                          ) -> Iterator[list[Observation]]:
        pages = self._store.observation_pages(size, upto=upto)
        yield next(pages)
        other = SQLiteStore(self._path)
        ingest(other, list(enumerate(self._rows, 1)))
        other.close()
        yield from pages


def _replay(store: SQLiteStore) -> verify.ReplayResult:
    record.publish_checkpoint(store, LOG_KEY, NOW)
    files = verify.export_tiles(store)
    return verify.replay(files.__getitem__, store.get_meta("log_vkey") or "", store.openings())


def test_what_is_ingested_during_a_check_is_judged_by_the_next_one(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    store = new_store(path)
    rows = sample_rows()
    first = [r for r in rows if r["id"] not in LATE]
    ingest(store, list(enumerate(first, 1)))

    run_check(IngestWhileReading(store, path, [r for r in rows if r["id"] in LATE]))  # type: ignore[arg-type]
    assert store.count_observations() == len(rows)  # both stored, neither judged
    assert store.get_meta("checked_observations") == str(len(first))
    flash = {f.id for f in store.findings() if "m25-flash-ua-1" in f.evidence}
    assert not flash
    res = _replay(store)
    assert res.identical, res.differences
    assert res.observations == len(first)

    run_check(store)  # the next check judges them
    assert {f.id for f in store.findings() if "m25-flash-ua-1" in f.evidence}
    res = _replay(store)
    assert res.identical, res.differences
    assert res.observations == len(rows)


def test_a_ruling_after_new_reports_replays_against_what_the_check_read(tmp_path: Path) -> None:
    """A dispute upheld after more reports arrived appends finding entries after them; the
    replay still judges the observations the last check read, not those reports."""
    store = new_store(tmp_path / "a.db")
    rows = sample_rows()
    ingest(store, list(enumerate([r for r in rows if r["id"] not in LATE], 1)))
    run_check(store)
    ingest(store, list(enumerate([r for r in rows if r["id"] in LATE], 1)))  # not checked yet
    target = next(f for f in store.findings() if f.party == "RU" and f.evidence)
    d, _ = disputes.file_dispute(store, target, "RU", "not ours", [], T)
    disputes.answer(store, d["id"], "the reply", "analyst", T)
    disputes.uphold(store, d["id"], "withdrawn", "the crater was older", "analyst", T)
    assert target.id not in {f.id for f in store.findings()}
    res = _replay(store)
    assert res.identical, res.differences
    assert res.observations == len(rows) - len(LATE)
