"""C2SP signed notes, checkpoints and cosignature/v1 against the published vectors."""

from __future__ import annotations

import json

import pytest

from truceline.core.record import note
from truceline.errors import SignatureError, ValidationError

from .conftest import VECTORS

V = json.loads((VECTORS / "c2sp-note-vectors.json").read_text(encoding="utf-8"))


def test_spec_example_note() -> None:
    e = V["c2sp_signed_note_example"]
    n, ok = note.open_note(e["note"].encode(), [note.Verifier.from_vkey(e["vkey"])])
    assert n.text == e["signed_text"]
    assert [v.name for v, _ in ok] == ["example.com/foo"]
    assert note.format_note(n) == e["note"].encode()


def test_real_sumdb_checkpoint() -> None:
    s = V["sumdb_checkpoint"]
    v = note.Verifier.from_vkey(s["vkey"])
    assert v.to_vkey() == s["vkey"]
    cp, _, _ = note.open_checkpoint(s["note"], s["origin"], [v])
    assert (cp.origin, cp.size) == (s["origin"], s["size"])
    assert cp.text() == s["note"].split("\n\n")[0] + "\n"
    with pytest.raises(ValidationError, match="origin"):
        note.open_checkpoint(s["note"], "some other log", [v])
    forged = s["note"].replace("6476701", "6476702")
    with pytest.raises(SignatureError, match="does not verify"):
        note.open_checkpoint(forged, s["origin"], [v])


def test_multisig_and_unknown_keys_ignored() -> None:
    m = V["sumdb_checkpoint_multisig"]
    vs = [note.Verifier.from_vkey(k) for k in m["vkeys"]]
    _, ok = note.open_note(m["note"], vs)
    assert [v.name for v, _ in ok] == m["verified_by"]
    _, ok = note.open_note(m["note"], vs[2:3])  # only "bananas" known: the rest are ignored
    assert [v.name for v, _ in ok] == ["bananas"]
    unknown = note.Verifier.from_vkey(V["test_keypairs"][3]["vkey"])
    with pytest.raises(SignatureError, match="no valid signature"):
        note.open_note(m["note"], [unknown])


@pytest.mark.parametrize("kp", V["test_keypairs"], ids=lambda kp: kp["vkey"].split("+")[0])
def test_published_key_pairs(kp: dict[str, object]) -> None:
    signer = note.Signer.from_skey(str(kp["skey"]))
    assert signer.to_skey() == kp["skey"]
    assert signer.verifier().to_vkey() == kp["vkey"]
    assert "PRIVATE" not in repr(signer)
    sample = kp["derived_sample"]
    assert isinstance(sample, dict)
    signed = note.sign_note(sample["text"], [signer]).decode()
    assert signed == sample["text"] + "\n" + sample["signature_line"] + "\n"
    note.open_note(signed, [signer.verifier()])


def test_bad_key_strings() -> None:
    good = V["test_keypairs"][0]["vkey"]
    name, kid, key = good.split("+", 2)
    for bad in [
        f"{name}+00000000+{key}",
        f"{name}+{kid}",
        f"{name}+{kid}+AAAA",
        "+" + good,
        f"{name} x+{kid}+{key}",
    ]:
        with pytest.raises(ValidationError):
            note.Verifier.from_vkey(bad)
    with pytest.raises(ValidationError):
        note.Signer.from_skey(good)


def test_checkpoint_parse_cases() -> None:
    cases = V["checkpoint_body_parse_cases"]
    for text in cases["invalid"]:
        with pytest.raises(ValidationError):
            note.parse_checkpoint(text)
    # Go accepts these two, but their "hashes" are 7 and 33 bytes: we require a 32-byte root.
    for text, _ in cases["valid"]:
        with pytest.raises(ValidationError, match="32 bytes"):
            note.parse_checkpoint(text)
    root = bytes(range(32))
    cp = note.Checkpoint("Log", 9944, root, ("Here's some associated data.",))
    assert note.parse_checkpoint(cp.text()) == cp
    for bad_size in ["0123", "+1", "18446744073709551616"]:
        with pytest.raises(ValidationError):
            note.parse_checkpoint(cp.text().replace("9944", bad_size))


def test_derived_cosignature_vector() -> None:
    c = V["derived_cosignature_v1_ed25519"]
    v = note.Verifier.from_vkey(c["cosigner_vkey"])
    assert v.alg == note.ALG_COSIGNATURE_V1
    assert v.key_id.hex() == c["cosigner_vkey"].split("+")[1]
    sig = note.NoteSignature.parse_line(c["signature_line"])
    assert len(sig.key_id + sig.signature) == 76
    assert note.verify_cosignature(c["checkpoint_body"], sig, v) == c["timestamp"]
    assert (
        note.cosignature_message(c["checkpoint_body"], c["timestamp"]).decode()
        == (c["signed_message"])
    )
    with pytest.raises(SignatureError):
        note.verify_cosignature(c["checkpoint_body"].replace("15", "16"), sig, v)
    # Cosignatures ride in the checkpoint note and open_note checks them too.
    cosigned = c["checkpoint_body"] + "\n" + c["signature_line"] + "\n"
    _, ok = note.open_note(cosigned, [v])
    assert ok[0][1].timestamp == c["timestamp"]


def test_spec_cosignature_layout() -> None:
    c = V["c2sp_cosignature_example_decoded"]
    line = "— witness.example.com/w1 jWbPPwAAAABkGFDL" + "A" * 86 + "=="
    sig = note.NoteSignature.parse_line(line)
    assert sig.key_id.hex() == c["key_id"]
    assert sig.timestamp == c["timestamp"]
    assert len(sig.signature) - 8 == c["sig_len"]


def test_cosign_round_trip() -> None:
    witness = note.Signer("witness.example.org", bytes(32), note.ALG_COSIGNATURE_V1)
    log = note.Signer("truceline.example/log", bytes(range(32)))
    cp = note.Checkpoint("truceline.example/log", 3, bytes(32))
    signed = cp.sign([log])
    sig = note.cosign(cp.text(), witness, 1_700_000_000)
    both = note.add_signatures(signed, [sig, sig])
    n, ok = note.open_note(both, [log.verifier(), witness.verifier()])
    assert len(n.signatures) == 2 and len(ok) == 2
    with pytest.raises(ValidationError):
        note.cosign(cp.text(), log, 1)
    with pytest.raises(ValidationError):
        note.sign_note(cp.text(), [witness])


def test_malformed_notes() -> None:
    for bad in [
        "no signatures\n",
        "text\n\n",
        "text\n\n— name\n",
        "text\n\nname AAAA\n",
        "text\n\n— name AAAA\n",
        "text\n\n— name !!!!!!!!\n",
        "text\u0007\n\n— a AAAAAAAA\n",
    ]:
        with pytest.raises(ValidationError):
            note.parse_note(bad)
