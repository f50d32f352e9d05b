"""Witness decisions: extend and cosign, refuse forks and rollbacks; party quorums."""

from __future__ import annotations

import pytest

from truceline.core.record import merkle, note
from truceline.core.record.witness import (
    WitnessState,
    quorum_reached,
    verified_cosigners,
    witness_checkpoint,
)
from truceline.errors import IntegrityError, SignatureError, ValidationError

ORIGIN = "truceline.example/log"
LOG = note.Signer(ORIGIN, bytes(range(32)))
WITNESS = note.Signer("witness.party-a", bytes([7]) * 32, note.ALG_COSIGNATURE_V1)


def _log(entries: list[bytes]) -> tuple[merkle.HashLevels, note.Checkpoint, bytes]:
    levels = merkle.HashLevels.from_leaf_hashes([merkle.leaf_hash(e) for e in entries])
    cp = note.Checkpoint(ORIGIN, len(entries), levels.root())
    return levels, cp, cp.sign([LOG])


ENTRIES = [f"entry {i}".encode() for i in range(20)]


def test_first_sight_then_extension() -> None:
    _, cp5, signed5 = _log(ENTRIES[:5])
    sig, state = witness_checkpoint(None, signed5, ORIGIN, [LOG.verifier()], [], WITNESS, 100)
    assert state == WitnessState(ORIGIN, 5, cp5.root_hash)
    assert note.verify_cosignature(cp5.text(), sig, WITNESS.verifier()) == 100
    levels, _, signed12 = _log(ENTRIES[:12])
    proof = merkle.consistency_proof(5, 12, levels.get_node)
    sig, state = witness_checkpoint(state, signed12, ORIGIN, [LOG.verifier()], proof, WITNESS, 200)
    assert state.size == 12
    # the same checkpoint again is fine (idempotent)
    witness_checkpoint(state, signed12, ORIGIN, [LOG.verifier()], [], WITNESS, 201)


def test_fork_is_refused() -> None:
    _, cp5, _ = _log(ENTRIES[:5])
    state = WitnessState(ORIGIN, 5, cp5.root_hash)
    forked = [*ENTRIES[:3], b"rewritten", *ENTRIES[4:12]]
    levels, _, signed = _log(forked)
    proof = merkle.consistency_proof(5, 12, levels.get_node)
    with pytest.raises(IntegrityError, match="fork"):
        witness_checkpoint(state, signed, ORIGIN, [LOG.verifier()], proof, WITNESS, 300)
    _, _, same_size = _log(forked[:5])
    with pytest.raises(IntegrityError, match="fork"):
        witness_checkpoint(state, same_size, ORIGIN, [LOG.verifier()], [], WITNESS, 300)


def test_rollback_is_refused() -> None:
    _, cp12, _ = _log(ENTRIES[:12])
    _, _, signed5 = _log(ENTRIES[:5])
    with pytest.raises(IntegrityError, match="rollback"):
        witness_checkpoint(
            WitnessState(ORIGIN, 12, cp12.root_hash),
            signed5,
            ORIGIN,
            [LOG.verifier()],
            [],
            WITNESS,
            400,
        )


def test_unsigned_or_foreign_checkpoint_is_refused() -> None:
    _, cp, _ = _log(ENTRIES[:5])
    impostor = note.Signer(ORIGIN, bytes([9]) * 32)
    with pytest.raises(SignatureError):
        witness_checkpoint(None, cp.sign([impostor]), ORIGIN, [LOG.verifier()], [], WITNESS, 1)
    with pytest.raises(ValidationError, match="origin"):
        witness_checkpoint(None, cp.sign([LOG]), "other/log", [LOG.verifier()], [], WITNESS, 1)


def test_quorum() -> None:
    _, cp, _ = _log(ENTRIES[:8])
    parties = {
        p: note.Signer(f"witness.{p}", bytes([i + 1]) * 32, note.ALG_COSIGNATURE_V1)
        for i, p in enumerate(["a", "b", "c"])
    }
    keys = {p: s.verifier() for p, s in parties.items()}
    sigs = [note.cosign(cp.text(), parties["a"], 10), note.cosign(cp.text(), parties["b"], 11)]
    sigs.append(sigs[0])  # a duplicate counts once
    other = note.Checkpoint(ORIGIN, 9, merkle.leaf_hash(b"x"))
    sigs.append(note.cosign(other.text(), parties["c"], 12))  # c cosigned something else
    assert verified_cosigners(cp, sigs, keys) == {"a", "b"}
    assert quorum_reached(cp, sigs, keys, 2)
    assert not quorum_reached(cp, sigs, keys, 3)
    with pytest.raises(ValidationError):
        quorum_reached(cp, sigs, keys, 0)
