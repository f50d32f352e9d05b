"""Witnesses and cosignatures: the parties' witness keys, a witness's step (check that the
log's latest checkpoint extends the last one it saw, then cosign), its state, the cosignatures
stored with each checkpoint and the latest checkpoint a quorum of parties has cosigned.

Nothing here reads a clock or a file: the time and the witness's state come in as values.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from truceline.core.record import merkle
from truceline.core.record.note import (
    Checkpoint,
    NoteSignature,
    Signer,
    Verifier,
    add_signatures,
    open_checkpoint,
    parse_checkpoint,
    parse_note,
    verify_cosignature,
)
from truceline.core.record.witness import WitnessState, verified_cosigners, witness_checkpoint
from truceline.errors import (
    ConflictError,
    IntegrityError,
    NotFoundError,
    SignatureError,
    ValidationError,
)
from truceline.services.context import context_for_doc
from truceline.services.ports import Store
from truceline.services.record import b64, unb64


def witness_keys(store: Store) -> dict[str, list[Verifier]]:
    """The parties' unrevoked witness keys (role ``witness``), by party."""
    out: dict[str, list[Verifier]] = {}
    for row in store.keys():  # noqa: SIM118 (a store, not a dict)
        if row["role"] == "witness" and not row["revoked"]:
            out.setdefault(row["owner"], []).append(Verifier.from_vkey(row["key_id"]))
    return out


def check_registered(store: Store, witness: Verifier) -> None:
    """SignatureError unless ``witness`` is a registered, unrevoked witness key: checked before
    a witness does any work, so it never advances its state for a cosignature the store
    would refuse."""
    if not any(witness in vs for vs in witness_keys(store).values()):
        raise SignatureError(f"{witness.to_vkey()} is not a registered witness key of this "
                             "store (register it with `truceline record register-key --role "
                             "witness`); nothing was cosigned", field="key")


def add_cosignature(store: Store, size: int, cosignature: str | bytes) -> list[str]:
    """Store cosignatures of the checkpoint of ``size``; returns the parties they count for.

    ``cosignature`` is a cosigned note or one ``— name base64`` line. Lines by keys that are
    not registered witness keys are ignored; one by a witness key that fails is an error.
    """
    stored = {c.size: c.note for c in store.checkpoints()}
    if size not in stored:
        raise NotFoundError(f"no checkpoint of size {size}", field="size")
    text = parse_note(stored[size]).text
    if isinstance(cosignature, bytes):
        cosignature = cosignature.decode("utf-8")
    if "\n\n" in cosignature:
        note = parse_note(cosignature)
        if note.text != text:
            raise IntegrityError(f"the note is not the checkpoint of size {size}", field="note")
        sigs: Iterable[NoteSignature] = note.signatures
    else:
        sigs = [NoteSignature.parse_line(cosignature.strip() + "\n")]
    by_id = {(v.name, v.key_id): (party, v)
             for party, vs in witness_keys(store).items() for v in vs}
    parties = []
    for sig in sigs:
        hit = by_id.get((sig.name, sig.key_id))
        if hit is None:
            continue
        verify_cosignature(text, sig, hit[1])
        store.add_cosignature(size, hit[1].to_vkey(), sig.line().rstrip("\n"))
        parties.append(hit[0])
    if not parties:
        raise SignatureError("no cosignature by a registered witness key", field="signature")
    return parties


def cosigned_note(store: Store, size: int) -> bytes:
    """The checkpoint of ``size`` with every stored cosignature appended."""
    stored = {c.size: c.note for c in store.checkpoints()}
    if size not in stored:
        raise NotFoundError(f"no checkpoint of size {size}", field="size")
    lines = [NoteSignature.parse_line(s + "\n") for _, s in store.cosignatures(size)]
    return add_signatures(stored[size], lines) if lines else stored[size]


def final_checkpoint(store: Store, quorum: int | None = None) -> tuple[Checkpoint, bytes] | None:
    """The latest checkpoint cosigned by ``quorum`` parties (default: the agreement's quorum,
    else all its parties), with its cosigned note; None if none is final yet."""
    if quorum is None:
        ag = context_for_doc(store.agreement_doc()).agreement
        quorum = ag.quorum or len(ag.parties)
    keys = witness_keys(store)
    for cp in reversed(store.checkpoints()):
        c = parse_checkpoint(parse_note(cp.note).text)
        sigs = [NoteSignature.parse_line(s + "\n") for _, s in store.cosignatures(cp.size)]
        if len(verified_cosigners(c, sigs, keys)) >= quorum:
            return c, cosigned_note(store, cp.size)
    return None


def witness_state_from_json(text: str | None) -> WitnessState | None:
    """A witness's state file (JSON ``origin``, ``size``, ``root_hash``); None when new.

    A file that is not such a state (corrupt, truncated, another file) is a ValidationError
    naming ``state``: the witness cosigns nothing rather than start over from no state.
    """
    if not text:
        return None
    try:
        d = json.loads(text)
        origin, size, root = d["origin"], d["size"], d["root_hash"]
        if not (isinstance(origin, str) and type(size) is int and size >= 0
                and isinstance(root, str)):
            raise TypeError
        root_hash = unb64(root, "root_hash")
    except (ValueError, RecursionError, KeyError, TypeError, ValidationError):
        raise ValidationError("not a witness state file (JSON with origin, size and "
                              "root_hash); fix or remove it (nothing was cosigned)",
                              field="state") from None
    if len(root_hash) != 32:
        raise ValidationError("root_hash is not a SHA-256 hash; fix or remove the file "
                              "(nothing was cosigned)", field="state")
    return WitnessState(origin, size, root_hash)


def witness_state_to_json(state: WitnessState) -> str:
    return json.dumps({"origin": state.origin, "size": state.size,
                       "root_hash": b64(state.root_hash)}) + "\n"


def run_witness(state: WitnessState | None, note: bytes, nodes: merkle.NodeReader,
                log_vkey: str, signer: Signer, now_unix: int) -> tuple[NoteSignature, WitnessState]:
    """One witness step: prove the log's latest checkpoint extends the last one seen, cosign.

    ``nodes`` serves the consistency proof (a store's ``get_node`` or a ``TileReader``): it
    is not trusted, the proof is checked against both signed roots. A rollback or a fork
    raises IntegrityError and nothing is cosigned.
    """
    v = Verifier.from_vkey(log_vkey)
    cp, _, _ = open_checkpoint(note, v.name, [v])
    proof: list[bytes] = []
    if state is not None and 0 < state.size < cp.size:
        proof = merkle.consistency_proof(state.size, cp.size, nodes)
    return witness_checkpoint(state, note, v.name, [v], proof, signer, now_unix)


def submit_cosignature(store: Store, size: int, line: str, quorum: int | None = None
                       ) -> tuple[list[str], list[str], bool]:
    """A witness's cosignature sent over the network: check it, store it, report the quorum.

    The line must verify against a registered, unrevoked witness key over the stored
    checkpoint of ``size`` (SignatureError, field ``cosignature``), and that checkpoint must
    extend the last one this key cosigned here: the store proves consistency between the two
    from its own tree (IntegrityError, field ``size``), and a size below it is a witness going
    back (ConflictError, field ``size``). Nothing is stored unless all of this holds.

    Returns the parties this cosignature counts for, the parties that have now cosigned the
    checkpoint, and whether that makes the quorum (default: the agreement's).
    """
    stored = {c.size: c.note for c in store.checkpoints()}
    if size not in stored:
        raise NotFoundError(f"no checkpoint of size {size}", field="size")
    try:
        sig = NoteSignature.parse_line(line.strip() + "\n")
    except ValidationError as e:
        raise ValidationError(e.message, field="cosignature") from None
    by_id = {(v.name, v.key_id): (party, v)
             for party, vs in witness_keys(store).items() for v in vs}
    hit = by_id.get((sig.name, sig.key_id))
    if hit is None:
        raise SignatureError("not by a registered witness key of this store (nothing stored)",
                             field="cosignature")
    party, v = hit
    text = parse_note(stored[size]).text
    try:
        verify_cosignature(text, sig, v)
    except SignatureError as e:
        raise SignatureError(f"{e.message} (nothing stored)", field="cosignature") from None
    vkey = v.to_vkey()
    before = [s for s in stored if s != size and any(w == vkey for w, _ in store.cosignatures(s))]
    if before:
        _extends(store, stored, max(before), size)
    store.add_cosignature(size, vkey, sig.line().rstrip("\n"))
    cp = parse_checkpoint(text)
    sigs = [NoteSignature.parse_line(s + "\n") for _, s in store.cosignatures(size)]
    parties = sorted(verified_cosigners(cp, sigs, witness_keys(store)))
    if quorum is None:
        ag = context_for_doc(store.agreement_doc()).agreement
        quorum = ag.quorum or len(ag.parties)
    return [party], parties, len(parties) >= quorum


def _extends(store: Store, stored: dict[int, bytes], old: int, new: int) -> None:
    """The checkpoint of ``new`` extends the one of ``old`` this witness cosigned last."""
    if old > new:
        raise ConflictError(f"this witness cosigned checkpoint {old} already; a witness "
                            f"never goes back to {new} (nothing stored)", field="size")
    a = parse_checkpoint(parse_note(stored[old]).text)
    b = parse_checkpoint(parse_note(stored[new]).text)
    try:
        proof = merkle.consistency_proof(old, new, store.get_node)
        merkle.verify_consistency(old, new, proof, a.root_hash, b.root_hash)
    except (IntegrityError, NotFoundError) as e:
        raise IntegrityError(f"checkpoint {new} is not consistent with checkpoint {old} this "
                             f"witness cosigned ({e.message}); nothing stored",
                             field="size") from None
