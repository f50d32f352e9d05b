"""The record's use cases over the Store port: agreement entries, the log's key and its
checkpoints, and proofs. Source keys are in :mod:`truceline.services.keys`, signed submissions
and their policy in :mod:`truceline.services.submissions`, witnesses and cosignatures in
:mod:`truceline.services.witnesses`; verification, tiles and replay in
:mod:`truceline.services.verify`.

Nothing here opens a file, reads a clock or an environment variable: the log origin and the
time come in as values, so the same functions serve the CLI, the HTTP API and the tests. The
cryptography and the tree are the pure core's (``truceline.core.record``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from truceline.core.record import merkle, signing
from truceline.core.record.canonical import canonical_bytes, entry_bytes, parse_entry
from truceline.core.record.note import (
    Checkpoint,
    Note,
    NoteSignature,
    Signer,
    Verifier,
    format_note,
    open_checkpoint,
)
from truceline.errors import (
    ConfigError,
    ConflictError,
    IntegrityError,
    NotFoundError,
    SignatureError,
    StoreError,
    ValidationError,
)
from truceline.services.ports import Store

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


class LogSigner(Protocol):
    """What signs the log's checkpoints: a decrypted key file, or an outside signer (an HSM,
    a KMS, another host). Its private half never passes through the store."""

    def verifier(self) -> Verifier:
        """The public key it signs for (its name is the log's origin)."""

    def sign(self, message: bytes) -> bytes:
        """The 64-byte Ed25519 signature of ``message``."""


@dataclass(frozen=True)
class KeySigner:
    """A :class:`LogSigner` over a private key held in this process (from a key file)."""

    key: Signer

    def verifier(self) -> Verifier:
        return self.key.verifier()

    def sign(self, message: bytes) -> bytes:
        return signing.sign(self.key.seed, message)


#: Store meta under which older stores kept the log's private key in plaintext.
PLAINTEXT_LOG_KEY = "log_skey"


def plaintext_log_key(store: Store) -> Signer | None:
    """The private key an older store still holds in meta ``log_skey`` (None if none)."""
    skey = store.get_meta(PLAINTEXT_LOG_KEY)
    return None if skey is None else Signer.from_skey(skey)


def forget_plaintext_log_key(store: Store, moved_to: Verifier) -> None:
    """Delete meta ``log_skey`` once its key is safe elsewhere: only if ``moved_to`` (the key
    read back from where it went) is that key and the store's registered public key."""
    old = plaintext_log_key(store)
    if old is None:
        return
    if old.verifier() != moved_to or store.get_meta("log_vkey") not in (None, moved_to.to_vkey()):
        raise ConflictError("the moved key is not the one in the store; the store keeps it",
                            field="log_key_file")
    store.set_meta("log_vkey", moved_to.to_vkey())
    store.delete_meta(PLAINTEXT_LOG_KEY)


def check_log_key(store: Store, signer: LogSigner, origin: str | None = None) -> bool:
    """Check ``signer`` against the log's registered public key (meta ``log_vkey``); True
    when the log has none yet (``signer``'s is recorded with its first checkpoint).

    The store keeps only the public half. A signer for another key, or named for another
    origin, is refused: its checkpoints would be another log. While an older store still
    holds the private key in plaintext (meta ``log_skey``), nothing is signed: a leaked
    backup could sign forks, so the key must move out first.
    """
    if store.get_meta(PLAINTEXT_LOG_KEY) is not None:
        raise ConfigError("this store still holds the log's private key in plaintext; move it "
                          "out first with `truceline record migrate-log-key --out FILE`",
                          field=PLAINTEXT_LOG_KEY)
    mine = signer.verifier()
    if origin is not None and mine.name != origin:
        raise ValidationError(f"the log key is named {mine.name!r}, not the origin {origin!r}",
                              field="log_origin")
    vkey = store.get_meta("log_vkey")
    if vkey is None:
        return True
    if Verifier.from_vkey(vkey) != mine:
        raise ConfigError(f"the log key given is {mine.to_vkey()}, but this log's key is {vkey}",
                          field="log_key_file")
    return False


def log_verifier(store: Store) -> Verifier:
    """The log's public key from store meta ``log_vkey``."""
    vkey = store.get_meta("log_vkey")
    if vkey is None:
        raise NotFoundError("the log has no key yet: publish a checkpoint first", field="log_vkey")
    return Verifier.from_vkey(vkey)


def publish_checkpoint(store: Store, signer: LogSigner | Signer, now_unix: int | None = None,
                       *, origin: str | None = None) -> bytes:
    """Sign and store a checkpoint of the current tree; returns the signed note.

    The note carries no time (the same size always gives the same text, as C2SP
    checkpoints do); ``now_unix`` is kept in meta ``log_checkpoint_time`` so a monitor can
    tell how fresh the latest checkpoint is. Publishing twice at one size returns the first.
    The signature is checked against the store's registered key before the note is stored,
    so an outside signer that answers with anything else stores nothing.
    """
    log = KeySigner(signer) if isinstance(signer, Signer) else signer
    first = check_log_key(store, log, origin)
    v = log.verifier()
    size, root = store.tree_root()
    for cp in store.checkpoints():
        if cp.size == size:
            return cp.note
    text = Checkpoint(v.name, size, root).text()
    sig = log.sign(text.encode())
    try:
        signing.verify(v.public_key, text.encode(), sig)
    except SignatureError:
        raise SignatureError("the log signer returned a signature that does not verify with "
                             "the log's key; nothing was stored", field="log_signer") from None
    if first:  # the key is registered with the first checkpoint it signed
        store.set_meta("log_vkey", v.to_vkey())
    note = format_note(Note(text, (NoteSignature(v.name, v.key_id, sig),)))
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


def open_log_checkpoint(note: bytes, log_vkey: str) -> Checkpoint:
    """A checkpoint signed by ``log_vkey``, whose key name is the log's origin."""
    v = Verifier.from_vkey(log_vkey)
    return open_checkpoint(note, v.name, [v])[0]


# --------------------------------------------------------------------------- proofs


def check_extends(kept: bytes, latest: Checkpoint, nodes: merkle.NodeReader,
                  log_vkey: str) -> Checkpoint:
    """Check that ``latest`` extends ``kept`` (a checkpoint a party kept earlier, signed by
    ``log_vkey``): a smaller tree is a rollback, another root at the same size or a failing
    consistency proof a fork; both IntegrityError (field ``checkpoint``). ``nodes`` serves the
    proof (a mirror's tiles) and is not trusted: the proof is checked against both roots."""
    old = open_log_checkpoint(kept, log_vkey)
    if latest.size < old.size:
        raise IntegrityError(f"rollback: the log's checkpoint has size {latest.size}, below the "
                             f"{old.size} you kept", field="checkpoint")
    if latest.size == old.size:
        if latest.root_hash != old.root_hash:
            raise IntegrityError(f"fork: two roots for size {old.size}", field="checkpoint")
        return old
    if old.size > 0:
        try:
            proof = merkle.consistency_proof(old.size, latest.size, nodes)
            merkle.verify_consistency(old.size, latest.size, proof, old.root_hash,
                                      latest.root_hash)
        except IntegrityError as e:
            raise IntegrityError(f"fork: the log of size {latest.size} does not extend the "
                                 f"{old.size} you kept ({e.message})", field="checkpoint") from None
    return old


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
    return {"type": "inclusion", "index": index, "size": size, "entry": b64(entry.data),
            "leaf_hash": b64(entry.leaf_hash), "proof": [b64(h) for h in proof]}


def consistency_document(store: Store, size1: int, size2: int) -> dict[str, Any]:
    """A consistency proof as JSON a third party checks with :func:`check_proof`."""
    proof = consistency(store, size1, size2)
    return {"type": "consistency", "size1": size1, "size2": size2,
            "proof": [b64(h) for h in proof]}


def check_proof(proof: dict[str, Any], checkpoints: Sequence[bytes], log_vkey: str) -> str:
    """Verify a printed proof offline against signed checkpoints; returns what it proved.

    Each checkpoint must be signed by ``log_vkey`` (whose name is the origin); an inclusion
    proof needs the checkpoint of its size, a consistency proof those of both sizes. Two
    signed checkpoints of one size with different roots prove a fork (a split view): refused
    with IntegrityError naming both roots, whatever the proof.
    """
    v = Verifier.from_vkey(log_vkey)
    roots: dict[int, bytes] = {}
    for note in checkpoints:
        cp, _, _ = open_checkpoint(note, v.name, [v])
        seen = roots.setdefault(cp.size, cp.root_hash)
        if seen != cp.root_hash:  # two signed roots for one size: the log showed a split view
            raise IntegrityError(
                f"two checkpoints signed by the log have size {cp.size} and different roots "
                f"{b64(seen)} and {b64(cp.root_hash)}: the log is forked (split view)",
                field="checkpoint", size=cp.size, roots=[b64(seen), b64(cp.root_hash)])

    def root(size: int) -> bytes:
        if size not in roots:
            raise ValidationError(f"no checkpoint of size {size} given", field="checkpoint")
        return roots[size]

    hashes = [unb64(h, "proof") for h in proof.get("proof", [])]
    if proof.get("type") == "inclusion":
        leaf = unb64(proof["leaf_hash"], "leaf_hash")
        if "entry" in proof and merkle.leaf_hash(unb64(proof["entry"], "entry")) != leaf:
            raise IntegrityError("the entry does not hash to leaf_hash", field="entry")
        merkle.verify_inclusion(leaf, proof["index"], proof["size"], hashes, root(proof["size"]))
        return f"entry {proof['index']} is in the log of size {proof['size']}"
    if proof.get("type") == "consistency":
        s1, s2 = proof["size1"], proof["size2"]
        merkle.verify_consistency(s1, s2, hashes, root(s1), root(s2))
        return f"the log of size {s2} extends the log of size {s1}"
    raise ValidationError("proof type must be 'inclusion' or 'consistency'", field="type")


# --------------------------------------------------------------------------- base64 text


def b64(b: bytes) -> str:
    """Bytes as standard base64 text (hashes, keys and signatures in JSON documents)."""
    return base64.b64encode(b).decode("ascii")


def unb64(s: str, what: str) -> bytes:
    """Standard base64 text as bytes; ValidationError naming ``what`` if it is not base64."""
    try:
        return base64.b64decode(s.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, AttributeError) as e:
        raise ValidationError(f"{what} is not base64", field=what) from e
