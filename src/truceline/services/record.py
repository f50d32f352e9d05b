"""The record's use cases over the Store port: keys, signed submissions, checkpoints, proofs,
cosignatures, verification, export as tiles and replay.

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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from truceline.core.findings import Finding
from truceline.core.observations import Observation, parse_observation
from truceline.core.record import merkle, tiles
from truceline.core.record.canonical import canonical_bytes, entry_bytes, parse_entry
from truceline.core.record.note import (
    ALG_COSIGNATURE_V1,
    ALG_ED25519,
    Checkpoint,
    Note,
    NoteSignature,
    Signer,
    Verifier,
    add_signatures,
    format_note,
    open_checkpoint,
    parse_checkpoint,
    parse_note,
    verify_cosignature,
)
from truceline.core.record.signing import check_public_key, sign, verify_many
from truceline.core.record.witness import WitnessState, verified_cosigners, witness_checkpoint
from truceline.errors import (
    IntegrityError,
    NotFoundError,
    SignatureError,
    StoreError,
    TrucelineError,
    ValidationError,
)
from truceline.services.check import derive_findings
from truceline.services.context import context_for_doc
from truceline.services.ports import Store

ROLES = ("monitor", "sensor", "party", "witness")
#: ``read(path) -> bytes`` over a tiled log (a directory, an object store, an HTTP mirror).
TileRead = Callable[[str], bytes]
#: C2SP entry bundles prefix each entry with a uint16 length.
MAX_ENTRY_BYTES = 0xFFFF


def agreement_entry(doc: dict[str, Any]) -> bytes:
    """The ``agreement_version`` entry: a commitment to the bundled document, not the document.

    A bundled agreement (geometry inline) runs to hundreds of kilobytes, and a C2SP entry
    bundle holds at most 65,535 bytes per entry, so the entry carries the SHA-256 of the
    document's canonical bytes and the export publishes the document beside the tiles as
    ``agreement/<sha256 hex>``; replay fetches it by hash and checks it.
    """
    return _commitment(doc, _doc_bytes(doc))


def _commitment(doc: dict[str, Any], data: bytes) -> bytes:
    return entry_bytes("agreement_version", {
        "agreement_id": doc.get("id", ""), "document_sha256": hashlib.sha256(data).hexdigest(),
        "document_bytes": len(data)})


def _doc_bytes(doc: dict[str, Any]) -> bytes:
    """Canonical bytes of a JSON document, fast: for values parsed from JSON the canonical
    form is exactly sorted, compact, non-ASCII-escaping ``json.dumps`` (the core's encoder
    settings); anything else (NaN, surrogates, dates) takes the full canonical path."""
    try:
        return json.dumps(doc, ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                          allow_nan=False).encode("utf-8")
    except (TypeError, ValueError):
        return canonical_bytes(doc)


def _agreement_matches(doc: dict[str, Any], entry: bytes) -> bool:
    """A stored version matches its entry in either form (commitment, or the older inline)."""
    data = _doc_bytes(doc)
    return entry in (_commitment(doc, data), b'{"body":' + data + b',"type":"agreement_version"}')


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
) -> list[SignatureError | None]:
    """Apply the submission policy (module docstring) to a batch; one error or None each.

    Signatures are checked with ``verify_many`` under the single Ed25519 rule, in two
    threads (libsodium runs without the GIL, so both cores verify); an observation signed
    validly under any unrevoked key of its source passes. ``records`` are the observations'
    ``to_record()`` when the caller already has them (ingest does: it saves the work).
    """
    keys: dict[str, list[dict[str, Any]]] = {}
    for row in store.keys():  # noqa: SIM118 (a store, not a dict)
        if row["role"] != "witness":
            keys.setdefault(row["owner"], []).append(row)
    out: list[SignatureError | None] = [None] * len(observations)
    todo: list[tuple[int, bytes, bytes, bytes]] = []
    for i, o in enumerate(observations):
        mine = keys.get(o.source_id, [])
        live = [k["public_key"] for k in mine if not k["revoked"]]
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
        if records is None:
            msg = submission_message(o)
        else:
            msg = canonical_bytes({k: v for k, v in records[i].items() if k != "signature"})
        todo += [(i, pk, msg, sig) for pk in live]
    if todo:
        ok = _verify_parallel([t[1] for t in todo], [t[2] for t in todo], [t[3] for t in todo])
        good = {t[0] for t, g in zip(todo, ok, strict=True) if g}
        for i in {t[0] for t in todo} - good:
            o = observations[i]
            out[i] = SignatureError(
                f"the signature of {o.id!r} does not verify under any key of {o.source_id!r}",
                field="signature", id=o.id)
    return out


def _verify_parallel(pks: list[bytes], msgs: list[bytes], sigs: list[bytes]) -> list[bool]:
    """``verify_many`` over two halves at once; small batches stay on this thread."""
    if len(pks) < 64:
        return [bool(x) for x in verify_many(pks, msgs, sigs)]
    h = len(pks) // 2
    with ThreadPoolExecutor(2) as pool:
        parts = pool.map(lambda a: verify_many(pks[a[0]:a[1]], msgs[a[0]:a[1]], sigs[a[0]:a[1]]),
                         [(0, h), (h, len(pks))])
        return [bool(x) for part in parts for x in part]


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


# --------------------------------------------------------------------------- verification


@dataclass(frozen=True)
class Problem:
    """One way the stored record disagrees with itself; ``index`` is the entry concerned."""

    kind: str  # changed, missing, inserted, reordered, fork, unrecorded, bad_signature
    index: int | None
    message: str

    def __str__(self) -> str:
        where = f"entry {self.index}: " if self.index is not None else ""
        return f"{self.kind}: {where}{self.message}"


@dataclass
class RecordReport:
    size: int = 0
    root: bytes = merkle.EMPTY_ROOT
    checkpoints: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first(self) -> Problem | None:
        """The problem at the lowest entry index (the earliest point the history differs)."""
        ranked = sorted(self.problems, key=lambda p: (p.index is None, p.index or 0))
        return ranked[0] if ranked else None


def verify_record(store: Store) -> RecordReport:
    """Re-hash every stored entry, rebuild the tree and check it against everything stored.

    Checks, each reported with the entry it concerns: entry indexes are contiguous (a gap is
    a deleted row); each entry's bytes are canonical and hash to its stored leaf hash (else
    changed, or reordered when they hash to another entry's leaf); every full node stored
    equals the recomputed one; nothing is stored beyond the last entry (a deleted tail or an
    inserted node); every checkpoint is signed by the log key and commits to the recomputed
    root at its size (else a fork, bounded between the last agreeing checkpoint and it);
    stored cosignatures verify; and every observation, current finding, agreement version
    and key row has its entry, and every observation entry its row.
    """
    rep = RecordReport()
    add = rep.problems.append
    tree = merkle.CompactRange()
    node0: dict[bytes, int] = {}  # stored leaf nodes, to tell a reordering from a change
    bad: list[int] = []  # entries whose leaf is wrong: they explain wrong nodes above them
    leaf_issues: list[tuple[int, bytes]] = []
    bodies: dict[str, list[tuple[int, dict[str, Any], bytes]]] = {}
    roots: dict[int, bytes] = {0: merkle.EMPTY_ROOT}
    want_sizes = {c.size for c in store.checkpoints()}
    for e in store.entries():
        i = e.index
        if i != tree.size:
            add(Problem("missing", tree.size, "the entry row is missing (deleted)"))
            break
        h = merkle.leaf_hash(e.data)
        try:
            t, body = parse_entry(e.data)
            if t != e.type:
                add(Problem("changed", i, f"type column {e.type!r}, entry says {t!r}"))
            bodies.setdefault(t, []).append((i, body, e.data))
        except ValidationError as exc:
            add(Problem("changed", i, f"entry bytes are not canonical: {exc.message}"))
        new = tree.append(h)
        n0 = _node(store, 0, i)
        if n0 is None:
            add(Problem("inserted", i, "the entry has no tree node: added outside the log"))
            bad.append(i)
        else:
            node0.setdefault(n0, i)
            if h != e.leaf_hash or n0 != h:
                bad.append(i)
                leaf_issues.append((i, h))
        for level, idx, nh in new[1:]:
            lo = idx << level
            if bad and bad[-1] >= lo:
                continue
            got = _node(store, level, idx)
            if got != nh:
                what = "is missing" if got is None else "differs from the entries"
                add(Problem("changed", lo, f"tree node ({level}, {idx}) {what}"))
                bad.append(lo)
        if tree.size in want_sizes:
            roots[tree.size] = tree.root()
    for i, h in leaf_issues:
        j = node0.get(h)
        if j is not None and j != i:
            add(Problem("reordered", i, f"holds the entry recorded as entry {j}"))
        else:
            add(Problem("changed", i, "the entry bytes do not hash to its recorded leaf"))
    rep.size, rep.root = tree.size, tree.root()
    if _node(store, 0, tree.size) is not None:
        add(Problem("missing", tree.size,
                    "the tree has a leaf for an entry that is not stored (deleted)"))
    _check_checkpoints(store, roots, rep, min(bad, default=rep.size))
    _check_rows(store, bodies, rep)
    return rep


def _node(store: Store, level: int, index: int) -> bytes | None:
    try:
        return store.get_node(level, index)
    except NotFoundError:
        return None


def _check_checkpoints(store: Store, roots: dict[int, bytes], rep: RecordReport,
                       first_bad: int) -> None:
    """Signatures, roots and cosignatures; a root that a bad entry below it explains is not
    reported again as a fork."""
    add = rep.problems.append
    cps = store.checkpoints()
    rep.checkpoints = len(cps)
    if not cps:
        return
    try:
        v = log_verifier(store)
    except TrucelineError as e:
        add(Problem("bad_signature", None, f"checkpoints cannot be checked: {e}"))
        return
    keys = witness_keys(store)
    good = 0  # the largest size whose checkpoint agrees with the entries
    for c in cps:
        try:
            cp, note, _ = open_checkpoint(c.note, v.name, [v])
        except TrucelineError as e:
            add(Problem("bad_signature", max(c.size - 1, 0), f"checkpoint {c.size}: {e}"))
            continue
        if cp.size != c.size:
            add(Problem("fork", max(c.size - 1, 0),
                        f"checkpoint stored as size {c.size} says {cp.size}"))
        elif cp.size not in roots:
            add(Problem("missing", rep.size,
                        f"checkpoint {cp.size} commits to entries that are not stored"))
        elif roots[cp.size] != cp.root_hash:
            if first_bad < cp.size:
                continue
            add(Problem("fork", good, f"the signed checkpoint of size {cp.size} has another "
                        f"root: entries in [{good}, {cp.size}) were rewritten"))
        else:
            good = cp.size
        for witness, line in store.cosignatures(c.size):
            try:
                sig = NoteSignature.parse_line(line + "\n")
                party = [p for p, vs in keys.items() for w in vs if w.to_vkey() == witness]
                if not party:
                    raise SignatureError("by a key that is not a registered witness key")
                verify_cosignature(note.text, sig, Verifier.from_vkey(witness))
            except TrucelineError as e:
                add(Problem("bad_signature", None, f"cosignature of {c.size} by {witness}: {e}"))


def _check_rows(store: Store, bodies: dict[str, list[tuple[int, dict[str, Any], bytes]]],
                rep: RecordReport) -> None:
    """Every stored row has its entry (and every observation entry its row)."""
    add = rep.problems.append
    obs_entries = {b.get("id"): (i, d) for i, b, d in bodies.get("observation", [])}
    seen = set()
    for o in store.observations():
        seen.add(o.id)
        hit = obs_entries.get(o.id)
        if hit is None:
            add(Problem("unrecorded", None, f"observation {o.id!r} has no entry"))
        elif entry_bytes("observation", o.to_record()) != hit[1]:
            add(Problem("changed", hit[0], f"observation {o.id!r} differs from its entry"))
    for oid, (i, _) in obs_entries.items():
        if oid not in seen:
            add(Problem("missing", i, f"observation {oid!r} is in the record but not stored"))
    latest = {b.get("id"): (i, d) for i, b, d in bodies.get("finding", [])}
    for f in store.findings():
        hit = latest.get(f.id)
        if hit is None:
            add(Problem("unrecorded", None, f"finding {f.id!r} has no entry"))
        elif entry_bytes("finding", f.to_record()) != hit[1]:
            add(Problem("changed", hit[0], f"finding {f.id!r} differs from its latest entry"))
    versions = bodies.get("agreement_version", [])
    for n, (i, _, data) in enumerate(versions, start=1):
        try:
            doc = store.agreement_doc(n)
        except StoreError:
            add(Problem("missing", i, f"agreement version {n} is in the record but not stored"))
            continue
        if not _agreement_matches(doc, data):
            add(Problem("changed", i, f"agreement version {n} differs from its entry"))
    try:
        store.agreement_doc(len(versions) + 1)
        add(Problem("unrecorded", None, f"agreement version {len(versions) + 1} has no entry"))
    except StoreError:
        pass
    regs = {b.get("key_id"): i for i, b, _ in bodies.get("key_registration", [])}
    revoked = {b.get("key_id") for _, b, _ in bodies.get("status_change", [])
               if b.get("subject") == "key" and b.get("status") == "revoked"}
    for k in store.keys():  # noqa: SIM118 (a store, not a dict)
        if k["key_id"] not in regs:
            add(Problem("unrecorded", None, f"key {k['key_id']!r} has no registration entry"))
        if k["revoked"] != (k["key_id"] in revoked):
            add(Problem("changed", regs.get(k["key_id"]),
                        f"key {k['key_id']!r} revocation differs from the record"))


# --------------------------------------------------------------------------- tiles and replay


def export_tiles(store: Store) -> dict[str, bytes]:
    """The log at its latest checkpoint as C2SP tlog-tiles: ``checkpoint`` (with every stored
    cosignature), hash tiles from the stored nodes, entry bundles, and each committed
    agreement document as ``agreement/<sha256 hex>`` (see :func:`agreement_entry`)."""
    cp, _ = latest_checkpoint(store)
    out = {"checkpoint": cosigned_note(store, cp.size)}
    for level, index, width in tiles.tiles_for_size(cp.size):
        out[tiles.tile_path(level, index, width)] = tiles.tile_bytes(
            level, index, width, store.get_node)
    data = []
    for e in store.entries(0, cp.size):
        if len(e.data) > MAX_ENTRY_BYTES:
            raise ValidationError(
                f"entry {e.index} ({e.type}) is {len(e.data)} bytes; a tile entry holds at "
                f"most {MAX_ENTRY_BYTES} (record large documents by hash)", field="entries")
        data.append(e.data)
    for i in range(0, cp.size, tiles.TILE_WIDTH):
        chunk = data[i : i + tiles.TILE_WIDTH]
        out[tiles.entries_path(i // tiles.TILE_WIDTH, len(chunk))] = tiles.encode_bundle(chunk)
    version = 1
    while True:
        try:
            doc = store.agreement_doc(version)
        except StoreError:
            break
        blob = _doc_bytes(doc)
        out[f"agreement/{hashlib.sha256(blob).hexdigest()}"] = blob
        version += 1
    return out


@dataclass
class ReplayResult:
    """What a replay found: the log it read, the findings it derived and how they differ."""

    checkpoint: Checkpoint
    entries: list[bytes]
    documents: dict[str, dict[str, Any]]  # agreement documents by SHA-256 hex
    observations: int
    derived: list[Finding]
    published: list[Finding]
    differences: list[str]

    @property
    def identical(self) -> bool:
        return not self.differences


def open_log_checkpoint(note: bytes, log_vkey: str) -> Checkpoint:
    """A checkpoint signed by ``log_vkey``, whose key name is the log's origin."""
    v = Verifier.from_vkey(log_vkey)
    return open_checkpoint(note, v.name, [v])[0]


def read_tiles(read: TileRead, log_vkey: str) -> tuple[Checkpoint, list[bytes]]:
    """Open the tiled log's checkpoint with ``log_vkey`` and read every entry, all verified."""
    cp = open_log_checkpoint(read("checkpoint"), log_vkey)
    return cp, tiles.read_log(read, cp)


def replay(read: TileRead, log_vkey: str) -> ReplayResult:
    """Rebuild from tiles alone and re-derive the findings; compare with the published ones.

    The published findings are, per finding id, the latest finding entry (a check appends
    only new or changed findings). They are compared with what :func:`derive_findings`
    gives for the agreement version and the observations the log held when the last finding
    entry was appended: observations ingested after the last check are not judged yet.
    """
    cp, entries = read_tiles(read, log_vkey)
    parsed = [parse_entry(e) for e in entries]
    last = max((i for i, (t, _) in enumerate(parsed) if t == "finding"), default=len(parsed))
    doc: dict[str, Any] | None = None
    docs: dict[str, dict[str, Any]] = {}
    obs: list[Observation] = []
    published: dict[str, Finding] = {}
    for i, (t, body) in enumerate(parsed):
        if t == "agreement_version":
            doc = body if i < last else doc
            if "document_sha256" in body:
                sha = body["document_sha256"]
                docs[sha] = _fetch_document(read, sha, i)
                doc = docs[sha] if i < last else doc
        elif t == "observation" and i < last:
            obs.append(Observation.model_validate(body))
        elif t == "finding":
            published[body["id"]] = Finding.from_record(body)
    if doc is None:
        raise IntegrityError("the log holds no agreement version", field="entries")
    obs.sort(key=lambda o: (o.time, o.id))
    _, derived = derive_findings(context_for_doc(doc), obs)
    diffs = []
    got = {f.id: f for f in derived}
    for fid in sorted(set(got) | set(published)):
        a, b = got.get(fid), published.get(fid)
        if a is None:
            diffs.append(f"{fid}: published but not derived from the evidence")
        elif b is None:
            diffs.append(f"{fid}: derived ({a.provision_id}, {a.verdict.value}) "
                         "but never published")
        elif canonical_bytes(a.to_record()) != canonical_bytes(b.to_record()):
            ra, rb = a.to_record(), b.to_record()
            keys = sorted(k for k in ra.keys() | rb.keys() if ra.get(k) != rb.get(k))
            diffs.append(f"{fid}: differs in {', '.join(keys)}")
    return ReplayResult(cp, entries, docs, len(obs), derived, list(published.values()), diffs)


def _fetch_document(read: TileRead, sha: str, index: int) -> dict[str, Any]:
    """An agreement document published beside the tiles, checked against its entry's hash."""
    try:
        blob = read(f"agreement/{sha}")
    except (KeyError, FileNotFoundError):
        raise IntegrityError(f"agreement/{sha} is missing", field="entries", index=index) from None
    if hashlib.sha256(blob).hexdigest() != sha:
        raise IntegrityError(f"agreement/{sha} does not match entry {index}", field="entries",
                             index=index)
    doc: dict[str, Any] = json.loads(blob)
    return doc


def rebuild(store: Store, entries: Sequence[bytes], note: bytes, log_vkey: str,
            documents: dict[str, dict[str, Any]] | None = None) -> None:
    """Load a verified log's entries into an empty store, entry for entry, in order.

    Each entry goes through the store's own use case (agreement, observations, findings,
    keys), so the new database holds rows *and* the identical record; its root must equal the
    checkpoint's, else IntegrityError. The log's signed checkpoint is stored as it was.
    """
    if store.entry_count():
        raise StoreError("rebuild needs an empty store", field="db")
    current: dict[str, Finding] = {}
    i = 0
    while i < len(entries):
        t, body = parse_entry(entries[i])
        j = i + 1
        while j < len(entries) and t in ("observation", "finding") and \
                parse_entry(entries[j])[0] == t:
            j += 1
        run = entries[i:j]
        if t == "observation":
            store.add_observations([(Observation.model_validate(parse_entry(d)[1]), d)
                                    for d in run])
        elif t == "finding":
            for d in run:
                f = Finding.from_record(parse_entry(d)[1])
                current[f.id] = f
            store.replace_findings(list(current.values()), run)
        elif t == "agreement_version":
            doc = (documents or {}).get(body.get("document_sha256", ""), body)
            store.initialize(doc, run[0])
        elif t == "key_registration":
            store.register_key(body["key_id"], body["owner"], body["role"],
                               _unb64(body["public_key"], "public_key"), run[0])
        elif t == "status_change" and body.get("subject") == "key":
            store.revoke_key(body["key_id"], run[0])
        else:
            store.append_entries([(t, run[0])])
        i = j
    v = Verifier.from_vkey(log_vkey)
    cp, opened, ok = open_checkpoint(note, v.name, [v])
    size, root = store.tree_root()
    if (size, root) != (cp.size, cp.root_hash):
        raise IntegrityError(f"rebuilt tree ({size}) does not match the checkpoint ({cp.size})",
                             field="root_hash")
    store.set_meta("log_vkey", log_vkey)
    store.add_checkpoint(cp.size, format_note(Note(opened.text, (ok[0][1],))))
    if len(opened.signatures) > 1:
        with contextlib.suppress(SignatureError):  # none by a witness key in the log
            add_cosignature(store, cp.size, note)


# --------------------------------------------------------------------------- helpers


def _b64(b: bytes) -> str:
    return base64.b64encode(b).decode("ascii")


def _unb64(s: str, what: str) -> bytes:
    try:
        return base64.b64decode(s.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, AttributeError) as e:
        raise ValidationError(f"{what} is not base64", field=what) from e
