"""Ingest prepared in worker processes stores what ingest prepared in its own thread stores.

The records are validated, encoded, committed and verified in the children of
:mod:`truceline.services.verifiers` (a batch split among them by source), and the store's
process only writes: the reports, the stored records, the copies' links and the record's
verification must be the same as with no child at all (everything in the calling thread).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from truceline.core.observations import parse_observation
from truceline.core.record.note import Signer
from truceline.errors import ObservationError, SignatureError
from truceline.services import keys, submissions, verifiers
from truceline.services.ingest import IngestReport, ingest
from truceline.services.verify import verify_record

from .conftest import new_store, synthetic

SOURCES = [f"prep-post-{k}" for k in range(4)]


def signer(k: int) -> Signer:
    return Signer(SOURCES[k], bytes([k + 11]) * 32)


def rows(n: int) -> list[dict[str, Any]]:
    """``n`` records of four signed sources, with what ingest must tell apart: resubmitted
    copies (new ids, same content), an id given twice with other content, a bad signature,
    an invalid record, a record of a source with no key."""
    out = []
    for i, r in enumerate(synthetic(n, 0, "prep")):
        k = i % 4
        rec = {**r, "source_id": SOURCES[k]}
        if i % 37 == 5:  # a copy of the record before it of the same source (4 back)
            rec = {**out[i - 4], "id": f"prep-copy-{i}"}
            rec.pop("signature")
        elif i % 53 == 7:  # an unregistered source
            rec["source_id"] = "prep-nobody"
        who = signer(k) if rec["source_id"] != "prep-nobody" else signer(0)
        if i % 41 == 9:  # signed by another source's key
            who = signer((k + 1) % 4)
        rec["signature"] = submissions.sign_observation(parse_observation(rec),
                                                        who).signature
        if i % 61 == 11:
            rec["lat"] = 123.0  # no latitude: invalid
        out.append(rec)
    out.insert(50, {**out[10], "count": 99})  # id given again in its batch, other content
    out.insert(60, dict(out[12]))  # id given again, the same record
    return out


def store_with_keys(path: Path) -> Any:
    store = new_store(path)
    for k in range(4):
        keys.register_source_key(store, SOURCES[k], "monitor", signer(k).verifier().to_vkey())
    return store


@pytest.fixture()
def processes() -> Iterator[Any]:
    """Set how many worker processes ingest uses; restored afterwards."""
    size = verifiers._POOL.size
    yield verifiers.set_verifier_processes
    verifiers.set_verifier_processes(size)


def run(path: Path, data: list[dict[str, Any]], **kw: Any) -> tuple[IngestReport, Any]:
    store = store_with_keys(path)
    rep = ingest(store, list(enumerate(data, 1)), require_signatures=True, batch_size=400, **kw)
    return rep, store


def outcome(rep: IngestReport, store: Any) -> tuple[Any, ...]:
    return (rep.added, rep.duplicates, rep.copies,
            [(r.line, r.field, r.reason, r.id) for r in rep.rejected],
            [o.to_record() for o in store.observations()], store.duplicate_links(),
            store.entry_count())


def test_children_store_what_this_thread_stores(tmp_path: Path, processes: Any) -> None:
    data = rows(600)
    processes(0)
    here = run(tmp_path / "here.db", data, on_invalid="skip")
    processes(2)
    before = verifiers.signatures_started()
    kids = run(tmp_path / "kids.db", data, on_invalid="skip")
    assert verifiers.pids(), "no worker process was used"
    assert verifiers.signatures_started() > before
    assert outcome(*kids) == outcome(*here)
    rep = kids[0]
    fields = {r.field for r in rep.rejected}
    assert {"signature", "lat", "id"} <= fields  # every kind of refusal was met
    assert rep.copies > 0 and rep.duplicates > 0
    for _, store in (here, kids):
        report = verify_record(store)  # commitments, openings and rows all check out
        assert report.ok, report.first


def test_errors_are_the_same_and_nothing_is_stored(tmp_path: Path, processes: Any) -> None:
    """``raise`` mode: an invalid record is reported before a bad signature earlier in the
    batch (validation first), naming its line and field; the batch stores nothing."""
    bad = []
    for i, r in enumerate(synthetic(250, 0, "prep")):
        rec = {**r, "source_id": SOURCES[i % 4]}
        sig = submissions.sign_observation(parse_observation(rec), signer(i % 4)).signature
        bad.append({**rec, "signature": sig})
    bad[20]["signature"] = bad[21]["signature"]
    bad[150]["lat"] = -91.0
    got = []
    for n, size in enumerate((0, 2)):
        processes(size)
        store = store_with_keys(tmp_path / f"{n}.db")
        count = store.entry_count()
        with pytest.raises(ObservationError) as exc:
            ingest(store, list(enumerate(bad, 1)), require_signatures=True, batch_size=300)
        assert store.entry_count() == count
        got.append((type(exc.value), exc.value.line, exc.value.field, exc.value.message))
        bad[150]["lat"] = 48.0
        with pytest.raises(SignatureError) as sig:
            ingest(store, list(enumerate(bad, 1)), require_signatures=True, batch_size=300)
        bad[150]["lat"] = -91.0
        assert store.entry_count() == count
        got.append((type(sig.value), sig.value.details.get("line"), sig.value.field,
                    sig.value.message))
    assert got[0][1:3] == (151, "lat") and got[1][1:3] == (21, "signature")
    assert got[:2] == got[2:]


def _variants(rec: dict[str, Any]) -> list[Any]:
    """``rec`` and inputs that validate to the same record but are other inputs: keys in
    another order, an int where a float is kept, a zero of either sign, a blank field, a
    time with an offset; and inputs that are no JSON (a tuple value)."""
    out: list[Any] = [rec, dict(reversed(rec.items())), {**rec, "description": None},
                      {**rec, "description": ""}, {**rec, "lon": 37.0}, {**rec, "lon": 37},
                      {**rec, "lon": 0.0}, {**rec, "lon": -0.0}, {**rec, "count": 1},
                      {**rec, "time": rec["time"].replace("Z", "+00:00")},
                      {**rec, "time": "2025-03-21T22:05:00+02:00"}, {**rec, "armed": False},
                      {**rec, "description": "caf\u00e9 \u2028 \"q\""}]
    return out


def test_the_input_digest_is_the_same_when_the_record_is_encoded_once() -> None:
    """Ingest digests an input that is its own canonical record from the bytes it stores
    (not encoding it twice): the digest is :func:`input_digest`'s, for every kind of input."""
    from truceline.services.ingest_prepare import input_digest, prepare_chunk, record_digest

    data = rows(200)
    keyring = {SOURCES[k]: [(signer(k).public_key, False)] for k in range(4)}
    canon = []  # what a source that submits what it signed sends: the fast path's inputs
    for r in data:
        with contextlib.suppress(ObservationError):
            canon.append(parse_observation(r).to_record())
    assert canon[0] == parse_observation(canon[0]).to_record()
    inputs = [v for rec in canon[:40] for v in _variants(rec)] + canon + data
    for known in (frozenset(), frozenset(r["id"] for r in data)):
        items, _, _ = prepare_chunk(list(enumerate(inputs)), keyring, True, known)
        seen = 0
        for rec, item in zip(inputs, items, strict=True):
            if hasattr(item, "digest"):
                assert item.digest == input_digest(rec), rec
                seen += 1
        assert seen > len(inputs) // 2
    rec = canon[0]
    body = submissions.submission_messages([rec])[0][0]
    assert record_digest(rec, rec, body) == input_digest(rec)
    assert record_digest({**rec, "lon": (1,)}, rec, body) == input_digest({**rec, "lon": (1,)})
