"""Observations ingested while a check reads are left to the next check, and a replay judges
exactly what the check read: a party re-derives the published findings whatever arrived
during the check, or between the check and a dispute's ruling."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from truceline.adapters.agreement_files import load_agreement_file
from truceline.adapters.store.sqlite import SQLiteStore
from truceline.services import disputes, record, verify
from truceline.services.check import run_check
from truceline.services.ingest import ingest

from .conftest import LOG_KEY, NOW, new_store, sample_rows

#: Held back, then ingested by another writer while the check reads its pages: a UA muzzle
#: flash (a ceasefire finding) whose time falls inside what was already read, and a
#: restriction later than anything read.
LATE = ("m25-flash-ua-1", "m25-restr-jamming-ua")
T = datetime(2025, 3, 28, 12, tzinfo=UTC)


class WhileReading:
    """The store a check runs on, as another process writes (``act``, through its own
    connection to the same file) just after the check has read its first page."""

    def __init__(self, store: SQLiteStore, path: Path, act: Callable[[SQLiteStore], Any]
                 ) -> None:
        self._store, self._path, self._act = store, path, act

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def record_pages(self, size: int = 20_000, upto: int | None = None
                     ) -> Iterator[list[tuple[str, str, str]]]:
        pages = self._store.record_pages(size, upto=upto)
        yield next(pages)
        other = SQLiteStore(self._path)
        self._act(other)
        other.close()
        yield from pages


def _ingest(rows: list[dict[str, Any]]) -> Callable[[SQLiteStore], Any]:
    return lambda s: ingest(s, list(enumerate(rows, 1)))


def _amend(s: SQLiteStore) -> None:
    """Version 2 of the agreement: the non-accession provision dropped."""
    _, doc = load_agreement_file("march2025")
    doc["provisions"] = [p for p in doc["provisions"] if p["id"] != "M25-non-accession"]
    assert s.initialize(doc, record.agreement_entry(doc)) == 2


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

    late = [r for r in rows if r["id"] in LATE]
    run_check(WhileReading(store, path, _ingest(late)))  # type: ignore[arg-type]
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


def test_an_amendment_during_a_check_or_before_a_ruling_replays_under_the_version_judged(
        tmp_path: Path) -> None:
    """The check judges under the version it loaded and names it in its incident entry; a
    replay judges under that version, though a later one stands before the finding entries
    (of the same check, or of a ruling after it)."""
    path = tmp_path / "a.db"
    store = new_store(path)
    ingest(store, list(enumerate(sample_rows(), 1)))
    run_check(WhileReading(store, path, _amend))  # type: ignore[arg-type]
    assert store.agreement_version() == 2
    assert any(f.provision_id == "M25-non-accession" for f in store.findings())  # judged under 1
    res = _replay(store)
    assert res.identical, res.differences

    target = next(f for f in store.findings() if f.party == "RU" and f.evidence
                  and f.provision_id != "M25-non-accession")
    d, _ = disputes.file_dispute(store, target, "RU", "not ours", [], T)
    disputes.answer(store, d["id"], "the reply", "analyst", T)
    disputes.uphold(store, d["id"], "withdrawn", "the crater was older", "analyst", T)
    res = _replay(store)
    assert res.identical, res.differences

    run_check(store)  # the next check judges under version 2
    assert not any(f.provision_id == "M25-non-accession" for f in store.findings())
    res = _replay(store)
    assert res.identical, res.differences


class WhileWindowReading:
    """The store an incremental check runs on, as another process (``act``, its own
    connection to the same file) writes after the check has read its first page of any kind
    (the incremental check reads a window of pages by kind and time)."""

    def __init__(self, store: SQLiteStore, path: Path, act: Callable[[SQLiteStore], Any]
                 ) -> None:
        self._store, self._path, self._act = store, path, act
        self.acted = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def record_pages(self, *args: Any, **kw: Any) -> Iterator[list[tuple[str, str, str]]]:
        for page in self._store.record_pages(*args, **kw):
            yield page
            if not self.acted:
                self.acted = True
                other = SQLiteStore(self._path)
                self._act(other)
                other.close()


def test_a_check_that_another_check_overtook_checks_again_rather_than_fail(
        tmp_path: Path) -> None:
    # two plain checks at once (an analyst's POST /check and a scheduled `truceline check`):
    # since the plain check is incremental (session 21), the one that committed second
    # found the incidents the first had just stored "already stored" (ConflictError) and
    # failed; now it sees that another check stored its results meanwhile and checks again
    path = tmp_path / "a.db"
    store = new_store(path)
    rows = sorted(sample_rows(), key=lambda r: (r["time"], r["id"]))
    fire = [r for r in rows if r["kind"] == "fire"]
    third = len(fire) // 3
    late = {r["id"] for r in fire[third:]}
    later = {r["id"] for r in fire[2 * third:]}
    ingest(store, list(enumerate([r for r in rows if r["id"] not in late], 1)))
    assert run_check(store).complete
    ingest(store, list(enumerate([r for r in rows if r["id"] in late - later], 1)))

    def overtake(other: SQLiteStore) -> None:
        ingest(other, list(enumerate([r for r in rows if r["id"] in later], 1)))
        run_check(other)

    racing = WhileWindowReading(store, path, overtake)
    run_check(racing)  # type: ignore[arg-type]
    assert racing.acted
    once = new_store(tmp_path / "once.db")
    ingest(once, list(enumerate(rows, 1)))
    run_check(once)
    for table in ("incidents", "findings"):
        assert sorted((r["id"], r["record"]) for r in store.table_rows(table)) == sorted(
            (r["id"], r["record"]) for r in once.table_rows(table)), table
