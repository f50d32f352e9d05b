"""Sources sign what they submit: one Ed25519 rule, weak keys refused, nothing stored on failure."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from truceline.adapters.store.sqlite import SQLiteStore
from truceline.core.observations import parse_observation
from truceline.core.record.note import Signer
from truceline.errors import SignatureError
from truceline.services import keys, submissions, verify
from truceline.services.ingest import ingest

from .conftest import ROOT, new_store, synthetic

SPECCHECK = ROOT / "tests" / "data" / "vectors" / "ed25519-speccheck" / "cases.json"


@pytest.fixture()
def store(tmp_path: Path) -> SQLiteStore:
    return new_store(tmp_path / "s.db")


def _signed(signer: Signer, n: int = 3, source: str = "smm-post-1") -> list[dict]:
    out = []
    for r in synthetic(n, prefix=f"sig-{signer.name}"):
        obs = parse_observation({**r, "source_id": source})
        out.append(submissions.sign_observation(obs, signer).to_record())
    return out


def _flip_bit(sig_b64: str) -> str:
    raw = bytearray(base64.b64decode(sig_b64))
    raw[10] ^= 0x01
    return base64.b64encode(bytes(raw)).decode()


def test_good_signature_accepted_and_recorded(store: SQLiteStore) -> None:
    signer = Signer("smm-post-1", b"\x07" * 32)
    keys.register_source_key(store, "smm-post-1", "monitor", signer.verifier().to_vkey())
    rows = _signed(signer)
    rep = ingest(store, list(enumerate(rows, 1)), require_signatures=True)
    assert rep.added == 3
    stored = store.observation(rows[0]["id"])
    assert stored.signature == rows[0]["signature"]  # the record carries the signature


def test_flipped_bit_rejected_and_nothing_stored(store: SQLiteStore) -> None:
    signer = Signer("smm-post-1", b"\x07" * 32)
    keys.register_source_key(store, "smm-post-1", "monitor", signer.verifier().to_vkey())
    rows = _signed(signer)
    rows[1]["signature"] = _flip_bit(rows[1]["signature"])
    before = (store.count_observations(), store.entry_count())
    with pytest.raises(SignatureError) as e:
        ingest(store, list(enumerate(rows, 1)))
    assert e.value.field == "signature" and "line 2" in e.value.message
    assert (store.count_observations(), store.entry_count()) == before
    rep = ingest(store, list(enumerate(rows, 1)), on_invalid="skip")
    assert rep.added == 2 and [(r.line, r.field) for r in rep.rejected] == [(2, "signature")]
    assert rows[1]["id"] not in {o.id for o in store.observations()}


def test_a_changed_field_breaks_the_signature(store: SQLiteStore) -> None:
    signer = Signer("smm-post-1", b"\x07" * 32)
    keys.register_source_key(store, "smm-post-1", "monitor", signer.verifier().to_vkey())
    row = {**_signed(signer, 1)[0], "count": 99}
    with pytest.raises(SignatureError, match="does not verify"):
        submissions.verify_submission(store, parse_observation(row))


def test_weak_keys_refused_at_registration(store: SQLiteStore) -> None:
    """Small-order and non-canonical public keys from ed25519-speccheck never get in."""
    cases = json.loads(SPECCHECK.read_text())
    for n in (0, 1, 10, 11):  # A of small order; 10 and 11 also non-canonical
        pk = base64.b64encode(bytes.fromhex(cases[n]["pub_key"])).decode()
        with pytest.raises(SignatureError) as e:
            keys.register_source_key(store, "weak", "sensor", pk)
        assert e.value.field == "public_key"
    assert store.keys() == [] and store.entry_count() == 1


def test_revoked_key_refused(store: SQLiteStore) -> None:
    signer = Signer("smm-post-1", b"\x07" * 32)
    key_id = keys.register_source_key(store, "smm-post-1", "monitor",
                                        signer.verifier().to_vkey())
    keys.revoke_source_key(store, key_id)
    rows = _signed(signer, 1)
    with pytest.raises(SignatureError, match="revoked"):
        ingest(store, [(1, rows[0])])
    unsigned = {k: v for k, v in rows[0].items() if k != "signature"}
    with pytest.raises(SignatureError, match="revoked"):
        ingest(store, [(1, unsigned)])  # no falling back to unsigned
    assert store.count_observations() == 0
    assert verify.verify_record(store).ok


def test_policy_for_sources_without_keys(store: SQLiteStore) -> None:
    row = synthetic(1, prefix="nokey")[0]
    with pytest.raises(SignatureError, match="required"):
        ingest(store, [(1, row)], require_signatures=True)
    with pytest.raises(SignatureError, match="no registered key"):
        ingest(store, [(1, {**row, "signature": base64.b64encode(b"x" * 64).decode()})])
    assert ingest(store, [(1, row)]).added == 1  # imported public data: allowed unsigned


def test_keyed_source_must_always_sign(store: SQLiteStore) -> None:
    signer = Signer("smm-post-1", b"\x07" * 32)
    keys.register_source_key(store, "smm-post-1", "monitor", signer.verifier().to_vkey())
    row = {**synthetic(1)[0], "source_id": "smm-post-1"}
    with pytest.raises(SignatureError, match="unsigned"):
        ingest(store, [(1, row)])


def test_http_gate_takes_raw_records(store: SQLiteStore) -> None:
    signer = Signer("smm-post-1", b"\x07" * 32)
    keys.register_source_key(store, "smm-post-1", "monitor", signer.verifier().to_vkey())
    rows = _signed(signer, 2)
    submissions.verify_submission(store, rows)
    with pytest.raises(SignatureError):
        submissions.verify_submission(store, [rows[0], synthetic(1, prefix="u")[0]])


def test_witness_keys_must_be_cosignature_keys(store: SQLiteStore) -> None:
    plain = Signer("ua-witness", b"\x02" * 32)
    with pytest.raises(SignatureError, match="algorithm"):
        keys.register_source_key(store, "UA", "witness", plain.verifier().to_vkey())
