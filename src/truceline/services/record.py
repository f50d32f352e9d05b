"""The record's use cases over the Store port: the log's key, checkpoints, proofs, source keys,
signed submissions, witnesses and cosignatures (verification, tiles and replay are in
:mod:`truceline.services.verify`).

Nothing here opens a file, reads a clock or an environment variable: the log origin, the time
and the witness's state come in as values, so the same functions serve the CLI, the HTTP API
and the tests. The cryptography and the tree are the pure core's (``truceline.core.record``).

Submission policy (one rule everywhere, :func:`check_submissions`):

* a source that has registered a key (even one since revoked) must sign every submission, and
  the signature must verify under one of its *unrevoked* keys: a revoked or unknown key never
  gets data in, and a source cannot fall back to unsigned submissions;
* a signature from a source with no registered key is refused (nobody could check it, and the
  record must not carry a signature that looks verified but is not);
* an unsigned submission from a source with no key is accepted only when the caller allows it
  (``require_signatures=False``: the CLI's ``--allow-unsigned`` for imported public datasets);
  the HTTP API always requires signatures.

The signed message is ``canonical_bytes(record without "signature")`` where ``record`` is
``Observation.to_record()``: a source signs exactly the canonical form the log stores.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import json
import re
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date
from typing import Any

from truceline.core.observations import Observation, parse_observation
from truceline.core.record import merkle
from truceline.core.record.canonical import canonical_bytes, entry_bytes, parse_entry
from truceline.core.record.note import (
    ALG_COSIGNATURE_V1,
    ALG_ED25519,
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
from truceline.core.record.signing import check_public_key, sign
from truceline.core.record.witness import WitnessState, verified_cosigners, witness_checkpoint
from truceline.errors import (
    ConflictError,
    IntegrityError,
    NotFoundError,
    SignatureError,
    StoreError,
    ValidationError,
)
from truceline.services.context import context_for_doc
from truceline.services.ports import Store
from truceline.services.verifiers import start_verify

ROLES = ("monitor", "sensor", "party", "witness")
#: ``read(path) -> bytes`` over a tiled log (a directory, an object store, an HTTP mirror).
TileRead = Callable[[str], bytes]
#: C2SP entry bundles prefix each entry with a uint16 length.
MAX_ENTRY_BYTES = 0xFFFF


def agreement_entry(doc: dict[str, Any], *, amends: int | None = None,
                    effective: date | None = None) -> bytes:
    """The ``agreement_version`` entry: a commitment to the bundled document, not the document.

    A bundled agreement (geometry inline) runs to hundreds of kilobytes, and a C2SP entry
    bundle holds at most 65,535 bytes per entry, so the entry carries the SHA-256 of the
    document's canonical bytes and the export publishes the document beside the tiles as
    ``agreement/<sha256 hex>``; replay fetches it by hash and checks it.

    An amendment (a later version of the same agreement, :func:`initialize_store` with
    ``effective``) also names the document's ``version``, the version it ``amends`` and the
    date it is ``effective`` from.
    """
    return _commitment(doc, doc_bytes(doc), _amendment(doc, amends, effective))


def _amendment(doc: dict[str, Any], amends: int | None,
               effective: date | None) -> dict[str, Any]:
    if amends is None or effective is None:
        return {}
    return {"version": _version_of(doc), "amends": amends, "effective": effective.isoformat()}


def _version_of(doc: dict[str, Any]) -> int:
    v = doc.get("version", 1)
    return v if isinstance(v, int) and not isinstance(v, bool) else 1


def initialize_store(store: Store, doc: dict[str, Any], *, amend: bool = False,
                     effective: date | None = None) -> int:
    """Store an agreement version with its record entry (a commitment); returns the store's
    version number. Loading the stored document again changes nothing.

    A store holds one agreement: a document with another ``id`` is refused (ConflictError,
    field ``id``) and nothing changes. A new version of the same agreement is an amendment:
    only with ``amend`` and its ``effective`` date, and with a higher ``version`` than the
    stored one; its entry records the version it amends and the effective date. Without
    ``amend`` a different document is refused (ConflictError, field ``version``).
    """
    try:
        current: dict[str, Any] | None = store.agreement_doc()
    except StoreError:  # a new store: no agreement yet
        current = None
    if current is None:
        if amend:
            raise ValidationError("the store holds no agreement to amend; load it without "
                                  "--amend", field="amend")
        if effective is not None:
            raise ValidationError("an effective date is for an amendment (--amend)",
                                  field="effective")
        return store.initialize(doc, agreement_entry(doc))
    have, want = current.get("id", ""), doc.get("id", "")
    if have != want:
        raise ConflictError(
            f"this store holds agreement {have!r}; {want!r} is another agreement and needs a "
            "store of its own (nothing changed)", field="id")
    if doc_bytes(current) == doc_bytes(doc):
        return store.initialize(doc, agreement_entry(doc))  # stored already: no new entry
    old, new = _version_of(current), _version_of(doc)
    if not amend:
        raise ConflictError(
            f"this store holds agreement {have!r} version {old} with other content; a new "
            "version is an amendment: give --amend and --effective YYYY-MM-DD, with a higher "
            "version in the file (nothing changed)", field="version")
    if effective is None:
        raise ValidationError("an amendment needs the date it is effective from "
                              "(--effective YYYY-MM-DD)", field="effective")
    if new <= old:
        raise ConflictError(f"an amendment must carry a version above the stored {old}, "
                            f"not {new} (nothing changed)", field="version")
    return store.initialize(doc, agreement_entry(doc, amends=old, effective=effective))


def _commitment(doc: dict[str, Any], data: bytes,
                amendment: dict[str, Any] | None = None) -> bytes:
    return entry_bytes("agreement_version", {
        "agreement_id": doc.get("id", ""), "document_sha256": hashlib.sha256(data).hexdigest(),
        "document_bytes": len(data), **(amendment or {})})


def doc_bytes(doc: dict[str, Any]) -> bytes:
    """Canonical bytes of a JSON document, fast: for values parsed from JSON the canonical
    form is exactly sorted, compact, non-ASCII-escaping ``json.dumps`` (the core's encoder
    settings); anything else (NaN, surrogates, dates) takes the full canonical path."""
    try:
        return json.dumps(doc, ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                          allow_nan=False).encode("utf-8")
    except (TypeError, ValueError):
        return canonical_bytes(doc)


def agreement_matches(doc: dict[str, Any], entry: bytes) -> bool:
    """A stored version matches its entry in either form (commitment, or the older inline);
    an amendment's commitment also names its version, what it amends and its effective date."""
    data = doc_bytes(doc)
    if entry in (_commitment(doc, data), b'{"body":' + data + b',"type":"agreement_version"}'):
        return True
    try:
        body = parse_entry(entry)[1]
    except ValidationError:
        return False
    amendment: dict[str, Any] = {
        k: body[k] for k in ("version", "amends", "effective") if k in body}
    return bool(amendment) and entry == _commitment(doc, data, amendment)


# --------------------------------------------------------------------------- the log's key


def log_signer(store: Store, origin: str | None = None) -> Signer:
    """The log's checkpoint key, created on first use and named after ``origin``.

    The seed stays in store meta ``log_skey`` (a C2SP private key string); ``log_vkey`` is the
    public half every party needs. The origin is fixed once the key exists (``None`` means
    "the existing one"): a checkpoint under another origin would be another log.
    """
    skey = store.get_meta("log_skey")
    if skey is None:
        if origin is None:
            raise ValidationError("the log has no key yet: give its origin", field="log_origin")
        signer = Signer(origin, secrets.token_bytes(32), ALG_ED25519)
        store.set_meta("log_skey", signer.to_skey())
        store.set_meta("log_vkey", signer.verifier().to_vkey())
        return signer
    signer = Signer.from_skey(skey)
    if origin is not None and signer.name != origin:
        raise ValidationError(
            f"this log's origin is {signer.name!r}, not {origin!r}", field="log_origin"
        )
    return signer


def log_verifier(store: Store) -> Verifier:
    """The log's public key from store meta ``log_vkey``."""
    vkey = store.get_meta("log_vkey")
    if vkey is None:
        raise NotFoundError("the log has no key yet: publish a checkpoint first", field="log_vkey")
    return Verifier.from_vkey(vkey)


def publish_checkpoint(store: Store, origin: str | None = None,
                       now_unix: int | None = None) -> bytes:
    """Sign and store a checkpoint of the current tree; returns the signed note.

    The note carries no time (the same size always gives the same text, as C2SP
    checkpoints do); ``now_unix`` is kept in meta ``log_checkpoint_time`` so a monitor can
    tell how fresh the latest checkpoint is. Publishing twice at one size returns the first.
    """
    signer = log_signer(store, origin)
    size, root = store.tree_root()
    for cp in store.checkpoints():
        if cp.size == size:
            return cp.note
    note = Checkpoint(signer.name, size, root).sign([signer])
    store.add_checkpoint(size, note)
    if now_unix is not None:
        store.set_meta("log_checkpoint_time", str(int(now_unix)))
    return note


def latest_checkpoint(store: Store) -> tuple[Checkpoint, bytes]:
    """The latest stored checkpoint, verified with the log's key, and its note."""
    cps = store.checkpoints()
    if not cps:
        raise NotFoundError(
            "no checkpoint yet; run `truceline record checkpoint`", field="checkpoint"
        )
    v = log_verifier(store)
    cp, _, _ = open_checkpoint(cps[-1].note, v.name, [v])
    return cp, cps[-1].note


# --------------------------------------------------------------------------- proofs


def inclusion(store: Store, index: int, size: int) -> list[bytes]:
    """The inclusion proof (RFC 9162 PATH) of entry ``index`` in the tree of ``size``."""
    if not 0 <= size <= store.entry_count():
        raise ValidationError(f"size must be at most the log's {store.entry_count()}", field="size")
    return merkle.inclusion_proof(index, size, store.get_node)


def consistency(store: Store, size1: int, size2: int) -> list[bytes]:
    """The consistency proof that the tree of ``size2`` extends the tree of ``size1``."""
    if not 0 <= size2 <= store.entry_count():
        raise ValidationError(f"size2 is beyond the log's {store.entry_count()}", field="size2")
    return merkle.consistency_proof(size1, size2, store.get_node)


def inclusion_document(store: Store, index: int, size: int) -> dict[str, Any]:
    """An inclusion proof as JSON a third party checks with :func:`check_proof`: the entry,
    its leaf hash and the proof (base64), for a size that should have a checkpoint."""
    proof = inclusion(store, index, size)
    entry = next(store.entries(index, index + 1))
    return {"type": "inclusion", "index": index, "size": size, "entry": _b64(entry.data),
            "leaf_hash": _b64(entry.leaf_hash), "proof": [_b64(h) for h in proof]}


def consistency_document(store: Store, size1: int, size2: int) -> dict[str, Any]:
    """A consistency proof as JSON a third party checks with :func:`check_proof`."""
    proof = consistency(store, size1, size2)
    return {"type": "consistency", "size1": size1, "size2": size2,
            "proof": [_b64(h) for h in proof]}


def check_proof(proof: dict[str, Any], checkpoints: Sequence[bytes], log_vkey: str) -> str:
    """Verify a printed proof offline against signed checkpoints; returns what it proved.

    Each checkpoint must be signed by ``log_vkey`` (whose name is the origin); an inclusion
    proof needs the checkpoint of its size, a consistency proof those of both sizes.
    """
    v = Verifier.from_vkey(log_vkey)
    roots = {}
    for note in checkpoints:
        cp, _, _ = open_checkpoint(note, v.name, [v])
        roots[cp.size] = cp.root_hash

    def root(size: int) -> bytes:
        if size not in roots:
            raise ValidationError(f"no checkpoint of size {size} given", field="checkpoint")
        return roots[size]

    hashes = [_unb64(h, "proof") for h in proof.get("proof", [])]
    if proof.get("type") == "inclusion":
        leaf = _unb64(proof["leaf_hash"], "leaf_hash")
        if "entry" in proof and merkle.leaf_hash(_unb64(proof["entry"], "entry")) != leaf:
            raise IntegrityError("the entry does not hash to leaf_hash", field="entry")
        merkle.verify_inclusion(leaf, proof["index"], proof["size"], hashes, root(proof["size"]))
        return f"entry {proof['index']} is in the log of size {proof['size']}"
    if proof.get("type") == "consistency":
        s1, s2 = proof["size1"], proof["size2"]
        merkle.verify_consistency(s1, s2, hashes, root(s1), root(s2))
        return f"the log of size {s2} extends the log of size {s1}"
    raise ValidationError("proof type must be 'inclusion' or 'consistency'", field="type")


# --------------------------------------------------------------------------- source keys


def parse_key(public_key: str, owner: str, role: str) -> Verifier:
    """A key from a C2SP vkey or raw base64; a raw key is named after its owner.

    Witness keys are cosignature/v1 keys (alg 0x04), every other role signs with plain
    Ed25519 (alg 0x01). ``check_public_key`` runs here: weak keys never enter the record.
    """
    if role not in ROLES:
        raise ValidationError(f"role must be one of {', '.join(ROLES)}", field="role")
    alg = ALG_COSIGNATURE_V1 if role == "witness" else ALG_ED25519
    if re.match(r"[^+\s]+\+[0-9a-f]{8}\+", public_key):
        v = Verifier.from_vkey(public_key)
    else:
        raw = _unb64(public_key, "public_key")
        check_public_key(raw)
        try:
            v = Verifier(owner, raw, alg)
        except ValidationError as e:
            raise ValidationError(
                f"owner {owner!r} cannot name a key ({e.message}); give a vkey", field="owner"
            ) from e
    if v.alg != alg:
        raise SignatureError(
            f"a {role} key must have algorithm {alg:#04x}, got {v.alg:#04x}", field="public_key"
        )
    return v


def register_source_key(store: Store, owner: str, role: str, public_key_b64: str) -> str:
    """Register a source's or witness's public key; returns its key id (the vkey).

    A weak key (non-canonical, small-order) raises SignatureError naming ``public_key``.
    """
    if not owner:
        raise ValidationError("owner must not be empty", field="owner")
    v = parse_key(public_key_b64, owner, role)
    key_id = v.to_vkey()
    body = {"key_id": key_id, "owner": owner, "role": role, "public_key": _b64(v.public_key)}
    store.register_key(key_id, owner, role, v.public_key, entry_bytes("key_registration", body))
    return key_id


def revoke_source_key(store: Store, key_id: str) -> None:
    """Revoke a key: its signatures are refused from now on (the revocation is an entry)."""
    body = {"subject": "key", "key_id": key_id, "status": "revoked"}
    store.revoke_key(key_id, entry_bytes("status_change", body))


def _verifier_of(row: dict[str, Any]) -> Verifier:
    return Verifier.from_vkey(row["key_id"])


# --------------------------------------------------------------------------- submissions


def submission_message(obs: Observation) -> bytes:
    """What a source signs: the canonical bytes of its record without ``signature``."""
    rec = obs.to_record()
    rec.pop("signature", None)
    return canonical_bytes(rec)


def sign_observation(obs: Observation, signer: Signer) -> Observation:
    """``obs`` with its source's signature (what ``truceline sign`` does for a source)."""
    if signer.alg != ALG_ED25519:
        raise ValidationError("sign observations with a plain Ed25519 key", field="key")
    sig = sign(signer.seed, submission_message(obs))
    return obs.model_copy(update={"signature": _b64(sig)})


def check_submissions(
    store: Store, observations: Sequence[Observation], *, require_signatures: bool,
    records: Sequence[dict[str, Any]] | None = None,
    messages: Sequence[bytes | None] | None = None,
) -> list[SignatureError | None]:
    """Apply the submission policy (module docstring) to a batch; one error or None each.

    Signatures are checked with ``verify_many`` under the single Ed25519 rule, in worker
    processes (:mod:`truceline.services.verifiers`); an observation signed
    validly under any unrevoked key of its source passes. ``records`` are the observations'
    ``to_record()`` and ``messages`` their :func:`submission_message` bytes when the caller
    already has them (ingest does: it saves the work).
    """
    return start_submission_checks(store, observations, require_signatures=require_signatures,
                                   records=records, messages=messages)()


def start_submission_checks(
    store: Store, observations: Sequence[Observation], *, require_signatures: bool,
    records: Sequence[dict[str, Any]] | None = None,
    messages: Sequence[bytes | None] | None = None,
) -> Callable[[], list[SignatureError | None]]:
    """:func:`check_submissions` in two steps: the policy now (on this thread, reading the
    store's keys), the signature verification started in worker processes; call the returned
    function for the errors (it waits for the verification).

    Ingest uses this to verify one batch while it validates the next and stores the one
    before: the verifying processes never wait for this one's GIL.
    """
    keys: dict[str, list[dict[str, Any]]] = {}
    for row in store.keys():  # noqa: SIM118 (a store, not a dict)
        if row["role"] != "witness":
            keys.setdefault(row["owner"], []).append(row)
    out: list[SignatureError | None] = [None] * len(observations)
    idx: list[int] = []
    pks: list[bytes] = []
    msgs: list[bytes] = []
    sigs: list[bytes] = []
    live_of: dict[str, list[bytes]] = {}
    for i, o in enumerate(observations):
        mine = keys.get(o.source_id, [])
        live = live_of.get(o.source_id)
        if live is None:
            live = live_of[o.source_id] = [k["public_key"] for k in mine if not k["revoked"]]
        if o.signature is None:
            if mine or require_signatures:
                why = "its key is revoked" if mine and not live else "signatures are required"
                out[i] = SignatureError(
                    f"observation {o.id!r} is unsigned and {why} for source {o.source_id!r}",
                    field="signature", id=o.id)
            continue
        if not live:
            why = "only revoked keys" if mine else "no registered key"
            out[i] = SignatureError(
                f"source {o.source_id!r} of {o.id!r} has {why}: the signature cannot be accepted",
                field="signature", id=o.id)
            continue
        try:
            sig = _unb64(o.signature, "signature")
        except ValidationError as e:
            out[i] = SignatureError(f"{o.id!r}: {e.message}", field="signature", id=o.id)
            continue
        msg = messages[i] if messages is not None else None
        if msg is None:
            if records is None:
                msg = submission_message(o)
            else:
                msg = canonical_bytes({k: v for k, v in records[i].items() if k != "signature"})
        for pk in live:
            idx.append(i)
            pks.append(pk)
            msgs.append(msg)
            sigs.append(sig)
    wait = start_verify(pks, msgs, sigs)

    def finish() -> list[SignatureError | None]:
        if not idx:
            return out
        ok = wait()
        good = {i for i, g in zip(idx, ok, strict=True) if g}
        for i in sorted(set(idx) - good):
            o = observations[i]
            out[i] = SignatureError(
                f"the signature of {o.id!r} does not verify under any key of {o.source_id!r}",
                field="signature", id=o.id)
        return out

    return finish


def verify_submission(store: Store,
                      observations: Observation | Sequence[Observation | Mapping[str, Any]],
                      *, require_signatures: bool = True) -> None:
    """Raise the first SignatureError (field ``signature``) the policy finds, else None.

    Takes one observation or a batch (raw records that do not validate are left to ingest,
    which reports them). Requires signatures by default: this is the HTTP API's gate.
    """
    batch = [observations] if isinstance(observations, Observation) else list(observations)
    obs = []
    for o in batch:
        if isinstance(o, Observation):
            obs.append(o)
        else:
            with contextlib.suppress(ValidationError):
                obs.append(parse_observation(dict(o)))
    for err in check_submissions(store, obs, require_signatures=require_signatures):
        if err is not None:
            raise err


# --------------------------------------------------------------------------- witnesses


def witness_keys(store: Store) -> dict[str, list[Verifier]]:
    """The parties' unrevoked witness keys (role ``witness``), by party."""
    out: dict[str, list[Verifier]] = {}
    for row in store.keys():  # noqa: SIM118 (a store, not a dict)
        if row["role"] == "witness" and not row["revoked"]:
            out.setdefault(row["owner"], []).append(_verifier_of(row))
    return out


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
    """A witness's state file (JSON ``origin``, ``size``, ``root_hash``); None when new."""
    if not text:
        return None
    d = json.loads(text)
    return WitnessState(d["origin"], int(d["size"]), _unb64(d["root_hash"], "root_hash"))


def witness_state_to_json(state: WitnessState) -> str:
    return json.dumps({"origin": state.origin, "size": state.size,
                       "root_hash": _b64(state.root_hash)}) + "\n"


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


def open_log_checkpoint(note: bytes, log_vkey: str) -> Checkpoint:
    """A checkpoint signed by ``log_vkey``, whose key name is the log's origin."""
    v = Verifier.from_vkey(log_vkey)
    return open_checkpoint(note, v.name, [v])[0]


# --------------------------------------------------------------------------- helpers


def _b64(b: bytes) -> str:
    return base64.b64encode(b).decode("ascii")


def _unb64(s: str, what: str) -> bytes:
    try:
        return base64.b64decode(s.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, AttributeError) as e:
        raise ValidationError(f"{what} is not base64", field=what) from e
