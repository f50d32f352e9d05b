"""Witnesses cosign only consistent checkpoints; exported tiles replay to the same findings."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from truceline.adapters.store.sqlite import SQLiteStore
from truceline.core.findings import Finding, Verdict
from truceline.core.record.canonical import entry_bytes
from truceline.core.record.note import ALG_COSIGNATURE_V1, Signer
from truceline.core.record.witness import WitnessState
from truceline.errors import IntegrityError
from truceline.services import keys, record, verify, witnesses
from truceline.services.check import run_check
from truceline.services.ingest import ingest

from .conftest import LOG_KEY, NOW, build_log, new_store, sample_rows, synthetic

UA = Signer("ua-witness", b"\x11" * 32, ALG_COSIGNATURE_V1)
RU = Signer("ru-witness", b"\x22" * 32, ALG_COSIGNATURE_V1)


def _march(path: Path) -> SQLiteStore:
    store = new_store(path)
    ingest(store, list(enumerate(sample_rows(), 1)))
    run_check(store)
    return store


def _witness(store: SQLiteStore, signer: Signer,
             state: WitnessState | None) -> WitnessState:
    _, note = record.latest_checkpoint(store)
    vkey = store.get_meta("log_vkey") or ""
    sig, new = witnesses.run_witness(state, note, store.get_node, vkey, signer, NOW)
    witnesses.add_cosignature(store, new.size, sig.line())
    return new


def test_two_parties_cosign_and_the_checkpoint_is_final(tmp_path: Path) -> None:
    store = _march(tmp_path / "a.db")
    for party, w in (("UA", UA), ("RU", RU)):
        keys.register_source_key(store, party, "witness", w.verifier().to_vkey())
    record.publish_checkpoint(store, LOG_KEY, NOW)
    ua = _witness(store, UA, None)
    assert witnesses.final_checkpoint(store, 2) is None
    ru = _witness(store, RU, None)
    hit = witnesses.final_checkpoint(store)  # the agreement's quorum: 2
    assert hit is not None and hit[0].size == ua.size == ru.size
    assert hit[1].count(b"\n\xe2\x80\x94 ") == 3  # the log's signature and two cosignatures
    ingest(store, list(enumerate(synthetic(5), 1)))
    record.publish_checkpoint(store, LOG_KEY, NOW + 1)
    ua2 = _witness(store, UA, ua)  # extends: consistency proof from the old size
    assert ua2.size == ua.size + 5
    assert witnesses.final_checkpoint(store, 2)[0].size == ua.size  # type: ignore[index]
    assert verify.verify_record(store).ok


def test_a_forked_log_is_refused_by_the_witness(tmp_path: Path) -> None:
    """Same origin, same key, different history: the witness refuses and keeps its state."""
    a = _march(tmp_path / "a.db")
    record.publish_checkpoint(a, LOG_KEY, NOW)
    _, note_a = record.latest_checkpoint(a)
    vkey = a.get_meta("log_vkey") or ""
    _, state = witnesses.run_witness(None, note_a, a.get_node, vkey, UA, NOW)

    b = new_store(tmp_path / "b.db")
    b.set_meta("log_vkey", vkey)  # the same log key signs both histories
    rows = sample_rows()
    rows[0] = {**rows[0], "count": rows[0]["count"] + 1}  # one report quietly changed
    ingest(b, list(enumerate(rows + synthetic(3), 1)))
    run_check(b)
    record.publish_checkpoint(b, LOG_KEY, NOW)
    _, note_b = record.latest_checkpoint(b)
    with pytest.raises(IntegrityError, match="fork"):
        witnesses.run_witness(state, note_b, b.get_node, vkey, UA, NOW)
    # a rollback (an older, smaller tree) is refused too
    small = new_store(tmp_path / "c.db")
    small.set_meta("log_vkey", vkey)
    record.publish_checkpoint(small, LOG_KEY, NOW)
    with pytest.raises(IntegrityError, match="rollback"):
        witnesses.run_witness(state, record.latest_checkpoint(small)[1], small.get_node, vkey,
                           UA, NOW)


def _export(store: SQLiteStore) -> dict[str, bytes]:
    record.publish_checkpoint(store, LOG_KEY, NOW)
    return verify.export_tiles(store)


def test_export_replay_gives_identical_findings(tmp_path: Path) -> None:
    store = _march(tmp_path / "a.db")
    files = _export(store)
    vkey = store.get_meta("log_vkey") or ""
    every = store.openings()  # the mission's (an analyst's) bundle: every opening
    res = verify.replay(files.__getitem__, vkey, every)
    assert res.identical and not res.sealed, res.differences
    assert res.observations == 23 and len(res.derived) == len(store.findings()) > 0
    assert {f.id for f in res.derived} == {f.id for f in store.findings()}
    copy = SQLiteStore(tmp_path / "mirror.db", create=True)
    verify.rebuild(copy, res.entries, files["checkpoint"], vkey, res.documents, every)
    assert copy.tree_root() == store.tree_root()
    assert [f.to_record() for f in copy.findings()] == [f.to_record() for f in store.findings()]
    assert verify.verify_record(copy).ok


def test_a_larger_log_with_full_tiles_replays(tmp_path: Path) -> None:
    store = build_log(tmp_path / "big.db")
    files = verify.export_tiles(store)
    assert "tile/0/000" in files and "tile/entries/000" in files
    res = verify.replay(files.__getitem__, store.get_meta("log_vkey") or "", store.openings())
    assert res.identical and res.checkpoint.size == 317
    assert res.observations == 23  # those ingested after the last check are not judged yet


@pytest.mark.parametrize("target", ["tile/entries/000.p/", "tile/0/000.p/", "agreement/"])
def test_a_tampered_tile_is_detected(tmp_path: Path, target: str) -> None:
    store = _march(tmp_path / "a.db")
    files = _export(store)
    path = next(p for p in files if p.startswith(target))
    data = bytearray(files[path])
    data[len(data) // 2] ^= 0x01
    files[path] = bytes(data)
    with pytest.raises(IntegrityError):
        verify.replay(files.__getitem__, store.get_meta("log_vkey") or "")


def test_a_published_finding_that_the_evidence_does_not_support_is_listed(
        tmp_path: Path) -> None:
    store = _march(tmp_path / "a.db")
    f = store.findings()[0]
    bad: Finding = dataclasses.replace(
        f, verdict=Verdict.COMPLIANT if f.verdict is Verdict.VIOLATION else Verdict.VIOLATION)
    others = [g for g in store.findings() if g.id != f.id]
    store.replace_findings([*others, bad], [("finding", entry_bytes("finding", bad.to_record()))])
    res = verify.replay(_export(store).__getitem__, store.get_meta("log_vkey") or "",
                        store.openings())
    assert res.differences == [f"{f.id}: differs in verdict"]
