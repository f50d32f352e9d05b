"""C2SP signed notes, checkpoints and cosignature/v1 (Ed25519 only).

Formats (https://c2sp.org/signed-note, /tlog-checkpoint, /tlog-cosignature):

* note: ``text`` (UTF-8, ends in ``\\n``), a blank line, then one line per signature:
  ``— <key name> <base64(4-byte key id || signature)>``.
* key id: ``SHA-256(name || 0x0A || alg || public key)[:4]``; ``alg`` is ``0x01`` for a plain
  Ed25519 note signature and ``0x04`` for an Ed25519 cosignature/v1 (a witness key).
* vkey: ``<name>+<hex key id>+<base64(alg || public key)>``;
  skey: ``PRIVATE+KEY+<name>+<hex key id>+<base64(alg || 32-byte seed)>``.
* checkpoint text: origin line, decimal tree size (no leading zeros), base64 root hash,
  then optional non-empty extension lines.
* cosignature/v1: the witness signs ``cosignature/v1\\ntime <unix seconds>\\n`` followed by the
  checkpoint text; the line's payload is key id || 8-byte big-endian time || 64-byte signature.

Unlike Go's parser, :func:`parse_checkpoint` requires a 32-byte root: a truceline checkpoint
always commits to an RFC 6962 SHA-256 root, and a shorter "hash" can only be an error.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from hashlib import sha256

from truceline.core.record import signing
from truceline.errors import SignatureError, ValidationError

__all__ = [
    "ALG_COSIGNATURE_V1",
    "ALG_ED25519",
    "Checkpoint",
    "Note",
    "NoteSignature",
    "Signer",
    "Verifier",
    "add_signatures",
    "cosign",
    "cosignature_message",
    "format_note",
    "key_id",
    "open_checkpoint",
    "open_note",
    "parse_checkpoint",
    "parse_note",
    "sign_note",
    "verify_cosignature",
]

ALG_ED25519 = 0x01
ALG_COSIGNATURE_V1 = 0x04
_ALGS = (ALG_ED25519, ALG_COSIGNATURE_V1)
_DASH = "— "
_MAX_SIGNATURES = 100
_NAME_BAD = re.compile(r"[\s+]")


def _b64decode(s: str, what: str) -> bytes:
    try:
        raw = base64.b64decode(s.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as e:
        raise ValidationError(f"{what} is not standard base64", field=what) from e
    if base64.b64encode(raw).decode("ascii") != s:
        raise ValidationError(f"{what} is not canonical base64", field=what)
    return raw


def _check_name(name: str) -> None:
    if not name or _NAME_BAD.search(name):
        raise ValidationError(f"key name {name!r} is empty or has spaces or '+'", field="name")


def key_id(name: str, alg: int, public_key: bytes) -> bytes:
    """``SHA-256(name || "\\n" || alg || public key)[:4]``: binds a signature to name and key."""
    return sha256(name.encode() + b"\n" + bytes([alg]) + public_key).digest()[:4]


@dataclass(frozen=True)
class Verifier:
    """A public key that may sign notes (alg 0x01) or cosign checkpoints (alg 0x04)."""

    name: str
    public_key: bytes
    alg: int = ALG_ED25519

    def __post_init__(self) -> None:
        _check_name(self.name)
        if self.alg not in _ALGS:
            raise ValidationError(f"unsupported key algorithm {self.alg:#x}", field="alg")
        signing.check_public_key(self.public_key)

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, self.alg, self.public_key)

    @classmethod
    def from_vkey(cls, vkey: str) -> Verifier:
        parts = vkey.split("+", 2)
        if len(parts) != 3 or not re.fullmatch(r"[0-9a-f]{8}", parts[1]):
            raise ValidationError("vkey must be <name>+<8 hex>+<base64 key>", field="vkey")
        raw = _b64decode(parts[2], "vkey")
        if len(raw) != 33:
            raise ValidationError("vkey must hold 1 algorithm byte and 32 key bytes", field="vkey")
        v = cls(parts[0], raw[1:], raw[0])
        if v.key_id.hex() != parts[1]:
            raise ValidationError("vkey key id does not match its name and key", field="vkey")
        return v

    def to_vkey(self) -> str:
        b64 = base64.b64encode(bytes([self.alg]) + self.public_key).decode()
        return f"{self.name}+{self.key_id.hex()}+{b64}"


@dataclass(frozen=True, repr=False)
class Signer:
    """A private key (32-byte seed) with its name; ``repr`` never shows the seed."""

    name: str
    seed: bytes
    alg: int = ALG_ED25519
    public_key: bytes = field(init=False)

    def __post_init__(self) -> None:
        _check_name(self.name)
        if self.alg not in _ALGS:
            raise ValidationError(f"unsupported key algorithm {self.alg:#x}", field="alg")
        object.__setattr__(self, "public_key", signing.public_key(self.seed))

    def __repr__(self) -> str:
        return f"Signer({self.verifier().to_vkey()!r})"

    def verifier(self) -> Verifier:
        return Verifier(self.name, self.public_key, self.alg)

    @classmethod
    def from_skey(cls, skey: str) -> Signer:
        prefix = "PRIVATE+KEY+"
        parts = skey[len(prefix) :].split("+", 2) if skey.startswith(prefix) else []
        if len(parts) != 3 or not re.fullmatch(r"[0-9a-f]{8}", parts[1]):
            raise ValidationError("skey must be PRIVATE+KEY+<name>+<hex>+<base64>", field="skey")
        raw = _b64decode(parts[2], "skey")
        if len(raw) != 33:
            raise ValidationError(
                "skey must hold 1 algorithm byte and a 32-byte seed", field="skey"
            )
        s = cls(parts[0], raw[1:], raw[0])
        if s.verifier().key_id.hex() != parts[1]:
            raise ValidationError("skey key id does not match its name and key", field="skey")
        return s

    def to_skey(self) -> str:
        b64 = base64.b64encode(bytes([self.alg]) + self.seed).decode()
        return f"PRIVATE+KEY+{self.name}+{self.verifier().key_id.hex()}+{b64}"


@dataclass(frozen=True)
class NoteSignature:
    """One signature line: key name, 4-byte key id, and the rest of the payload."""

    name: str
    key_id: bytes
    signature: bytes

    def line(self) -> str:
        b64 = base64.b64encode(self.key_id + self.signature).decode()
        return f"{_DASH}{self.name} {b64}\n"

    @property
    def timestamp(self) -> int:
        """The cosignature/v1 time (seconds since the epoch) carried before the signature."""
        if len(self.signature) != 72:
            raise SignatureError("not a cosignature/v1 signature", field="signature")
        return int.from_bytes(self.signature[:8], "big")

    @classmethod
    def parse_line(cls, line: str) -> NoteSignature:
        if not line.startswith(_DASH):
            raise ValidationError("signature line must start with '— '", field="signature")
        name, sep, b64 = line[len(_DASH) :].rstrip("\n").partition(" ")
        _check_name(name)
        raw = _b64decode(b64, "signature") if sep else b""
        if len(raw) < 5:
            raise ValidationError("signature is too short", field="signature")
        return cls(name, raw[:4], raw[4:])


@dataclass(frozen=True)
class Note:
    text: str
    signatures: tuple[NoteSignature, ...]


def _check_text(text: str) -> None:
    if not text.endswith("\n"):
        raise ValidationError("note text must end with a newline", field="text")
    if any(ord(c) < 0x20 and c != "\n" for c in text):
        raise ValidationError("note text has control characters", field="text")


def parse_note(data: bytes | str) -> Note:
    """Split a note into text and signature lines; checks form, not signatures."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as e:
            raise ValidationError("note is not valid UTF-8", field="note") from e
    i = data.rfind("\n\n")
    if i < 0 or not data.endswith("\n"):
        raise ValidationError("note has no signature block", field="note")
    text, block = data[: i + 1], data[i + 2 :]
    _check_text(text)
    lines = block.split("\n")[:-1]
    if not lines or len(lines) > _MAX_SIGNATURES:
        raise ValidationError(f"note needs 1 to {_MAX_SIGNATURES} signatures", field="note")
    return Note(text, tuple(NoteSignature.parse_line(s) for s in lines))


def format_note(note: Note) -> bytes:
    return (note.text + "\n" + "".join(s.line() for s in note.signatures)).encode("utf-8")


def cosignature_message(text: str, timestamp: int) -> bytes:
    """The bytes a cosignature/v1 witness signs for checkpoint ``text`` at ``timestamp``."""
    return f"cosignature/v1\ntime {timestamp}\n{text}".encode()


def _verify_one(v: Verifier, text: str, sig: NoteSignature) -> None:
    if v.alg == ALG_ED25519:
        signing.verify(v.public_key, text.encode(), sig.signature)
    else:
        ts = sig.timestamp
        signing.verify(v.public_key, cosignature_message(text, ts), sig.signature[8:])


def sign_note(text: str, signers: Sequence[Signer]) -> bytes:
    """A signed note over ``text`` with one plain Ed25519 (alg 0x01) line per signer."""
    _check_text(text)
    sigs = []
    for s in signers:
        if s.alg != ALG_ED25519:
            raise ValidationError("use cosign() for cosignature/v1 keys", field="signers")
        sigs.append(NoteSignature(s.name, s.verifier().key_id, signing.sign(s.seed, text.encode())))
    if not sigs:
        raise ValidationError("a note needs at least one signer", field="signers")
    return format_note(Note(text, tuple(sigs)))


def add_signatures(note: bytes | str, signatures: Iterable[NoteSignature]) -> bytes:
    """Append signature lines (e.g. cosignatures) to a note; duplicates are dropped."""
    n = parse_note(note)
    sigs = list(n.signatures)
    for s in signatures:
        if s not in sigs:
            sigs.append(s)
    return format_note(Note(n.text, tuple(sigs)))


def open_note(
    data: bytes | str, verifiers: Iterable[Verifier]
) -> tuple[Note, list[tuple[Verifier, NoteSignature]]]:
    """Verify a note: signatures by unknown keys are ignored, at least one known must verify.

    A signature that claims a known key but fails raises SignatureError: it is forged or
    damaged, and silently skipping it would hide tampering.
    """
    note = parse_note(data)
    known = {(v.name, v.key_id): v for v in verifiers}
    ok: list[tuple[Verifier, NoteSignature]] = []
    for sig in note.signatures:
        v = known.get((sig.name, sig.key_id))
        if v is None or any(v is w for w, _ in ok):
            continue
        try:
            _verify_one(v, note.text, sig)
        except SignatureError as e:
            raise SignatureError(f"signature by {sig.name}: {e.message}", field="note") from e
        ok.append((v, sig))
    if not ok:
        raise SignatureError("note has no valid signature from a known key", field="note")
    return note, ok


# --------------------------------------------------------------------------- checkpoints


@dataclass(frozen=True)
class Checkpoint:
    """A log's commitment: origin, tree size, root hash and optional extension lines."""

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.origin or "\n" in self.origin:
            raise ValidationError("origin must be one non-empty line", field="origin")
        if type(self.size) is not int or not 0 <= self.size < 1 << 64:
            raise ValidationError("size must be an integer in [0, 2**64)", field="size")
        if not isinstance(self.root_hash, bytes) or len(self.root_hash) != 32:
            raise ValidationError("root hash must be 32 bytes", field="root_hash")
        if any(not e or "\n" in e for e in self.extensions):
            raise ValidationError(
                "extension lines must be non-empty single lines", field="extensions"
            )

    def text(self) -> str:
        """The note text: the bytes a log signs and a witness cosigns."""
        root = base64.b64encode(self.root_hash).decode()
        return "".join(
            f"{line}\n" for line in (self.origin, str(self.size), root, *self.extensions)
        )

    def sign(self, signers: Sequence[Signer]) -> bytes:
        return sign_note(self.text(), signers)


def parse_checkpoint(text: str) -> Checkpoint:
    """Parse checkpoint note text strictly (decimal size, canonical base64, 32-byte root)."""
    _check_text(text)
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise ValidationError("checkpoint needs origin, size and root lines", field="checkpoint")
    origin, size, root = lines[:3]
    if not re.fullmatch(r"0|[1-9][0-9]{0,19}", size) or int(size) >= 1 << 64:
        raise ValidationError(
            f"checkpoint size {size!r} is not a decimal below 2**64", field="size"
        )
    return Checkpoint(origin, int(size), _b64decode(root, "root_hash"), tuple(lines[3:]))


def open_checkpoint(
    data: bytes | str, origin: str, verifiers: Iterable[Verifier]
) -> tuple[Checkpoint, Note, list[tuple[Verifier, NoteSignature]]]:
    """Verify a signed checkpoint from the log ``origin``; a different origin is rejected."""
    note, ok = open_note(data, verifiers)
    cp = parse_checkpoint(note.text)
    if cp.origin != origin:
        raise ValidationError(
            f"checkpoint origin {cp.origin!r}, expected {origin!r}", field="origin"
        )
    return cp, note, ok


def cosign(text: str, signer: Signer, timestamp: int) -> NoteSignature:
    """A cosignature/v1 line by a witness key (alg 0x04) over checkpoint ``text``."""
    if signer.alg != ALG_COSIGNATURE_V1:
        raise ValidationError("cosignature/v1 needs an alg 0x04 witness key", field="signer")
    if type(timestamp) is not int or not 0 <= timestamp < 1 << 63:
        raise ValidationError("timestamp must be seconds since the epoch", field="timestamp")
    _check_text(text)
    sig = signing.sign(signer.seed, cosignature_message(text, timestamp))
    return NoteSignature(signer.name, signer.verifier().key_id, timestamp.to_bytes(8, "big") + sig)


def verify_cosignature(text: str, sig: NoteSignature, verifier: Verifier) -> int:
    """Check a cosignature/v1 over checkpoint ``text``; returns its timestamp."""
    if verifier.alg != ALG_COSIGNATURE_V1:
        raise SignatureError("not a cosignature/v1 key", field="verifier")
    if (sig.name, sig.key_id) != (verifier.name, verifier.key_id):
        raise SignatureError("cosignature is not by this key", field="signature")
    _verify_one(verifier, text, sig)
    return sig.timestamp
