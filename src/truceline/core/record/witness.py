"""Pure witness logic: cosign a checkpoint only if it extends what the witness saw before.

A witness remembers, per log, the last ``(size, root)`` it cosigned. It cosigns a new
checkpoint only when the log signed it and a consistency proof shows the new tree extends
the old one; a smaller size is a rollback and a different tree is a fork, both refused with
:class:`~truceline.errors.IntegrityError`. Storage of the state and the clock belong to the
caller: the timestamp comes in as a value and the new state goes out as one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from truceline.core.record import merkle
from truceline.core.record.note import (
    ALG_COSIGNATURE_V1,
    Checkpoint,
    NoteSignature,
    Signer,
    Verifier,
    cosign,
    open_checkpoint,
    verify_cosignature,
)
from truceline.errors import IntegrityError, SignatureError, ValidationError

__all__ = [
    "WitnessState",
    "check_extends",
    "quorum_reached",
    "verified_cosigners",
    "witness_checkpoint",
]


@dataclass(frozen=True)
class WitnessState:
    """The last checkpoint a witness cosigned for one log."""

    origin: str
    size: int
    root_hash: bytes


def check_extends(old_size: int, old_root: bytes, new: Checkpoint, proof: Sequence[bytes]) -> None:
    """Raise IntegrityError unless ``new`` extends the tree ``(old_size, old_root)``."""
    if new.size < old_size:
        raise IntegrityError(
            f"rollback: checkpoint size {new.size} is below the {old_size} already cosigned",
            field="size",
        )
    if old_size == 0:
        if proof:
            raise IntegrityError("a proof from the empty tree must be empty", field="proof")
        return
    if new.size == old_size and new.root_hash != old_root:
        raise IntegrityError(f"fork: two different roots for size {old_size}", field="root_hash")
    try:
        merkle.verify_consistency(old_size, new.size, proof, old_root, new.root_hash)
    except IntegrityError as e:
        raise IntegrityError(
            f"fork: checkpoint {new.size} is not consistent with {old_size} ({e.message})",
            field=e.field,
        ) from e


def witness_checkpoint(
    state: WitnessState | None,
    signed_checkpoint: bytes | str,
    origin: str,
    log_verifiers: Sequence[Verifier],
    proof: Sequence[bytes],
    signer: Signer,
    timestamp: int,
) -> tuple[NoteSignature, WitnessState]:
    """Check a log's signed checkpoint against the witness state and cosign it.

    Returns the cosignature line and the state to store. ``state`` None means the witness
    has seen nothing from this log yet (the proof must then be empty).
    """
    if state is not None and state.origin != origin:
        raise ValidationError(f"state is for {state.origin!r}, not {origin!r}", field="origin")
    cp, note, _ = open_checkpoint(signed_checkpoint, origin, log_verifiers)
    old_size, old_root = (0, merkle.EMPTY_ROOT) if state is None else (state.size, state.root_hash)
    check_extends(old_size, old_root, cp, proof)
    sig = cosign(note.text, signer, timestamp)
    return sig, WitnessState(origin, cp.size, cp.root_hash)


def verified_cosigners(
    checkpoint: Checkpoint,
    cosignatures: Iterable[NoteSignature],
    party_keys: Mapping[str, Verifier | Sequence[Verifier]],
) -> frozenset[str]:
    """The parties with at least one valid cosignature/v1 over ``checkpoint``.

    Cosignatures by unknown keys, and ones that fail, count for no one (a party is counted
    once however many keys it has); use :func:`~truceline.core.record.note.verify_cosignature`
    to find out why a particular one fails.
    """
    by_id: dict[tuple[str, bytes], tuple[str, Verifier]] = {}
    for party, keys in party_keys.items():
        for v in [keys] if isinstance(keys, Verifier) else keys:
            if v.alg != ALG_COSIGNATURE_V1:
                raise ValidationError(
                    f"key of {party!r} is not a cosignature/v1 key", field="party_keys"
                )
            by_id[(v.name, v.key_id)] = (party, v)
    text = checkpoint.text()
    parties = set()
    for sig in cosignatures:
        hit = by_id.get((sig.name, sig.key_id))
        if hit is None or hit[0] in parties:
            continue
        try:
            verify_cosignature(text, sig, hit[1])
        except SignatureError:
            continue
        parties.add(hit[0])
    return frozenset(parties)


def quorum_reached(
    checkpoint: Checkpoint,
    cosignatures: Iterable[NoteSignature],
    party_keys: Mapping[str, Verifier | Sequence[Verifier]],
    quorum: int,
) -> bool:
    """True when at least ``quorum`` distinct parties validly cosigned ``checkpoint``."""
    if type(quorum) is not int or quorum < 1:
        raise ValidationError("quorum must be a positive integer", field="quorum")
    return len(verified_cosigners(checkpoint, cosignatures, party_keys)) >= quorum
