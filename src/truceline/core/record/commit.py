"""Entries that commit to their sensitive fields: the public log carries salted hashes.

An entry's *committed form* keeps the fields its type lists in :data:`CLEAR` as they are and
replaces every other field's value by ``{"c": <hex>}``, the SHA-256 of::

    DOMAIN || canonical([entry type, field name]) || salt (32 bytes) || canonical(value)

with a fresh random salt per field. The log's leaf is the hash of the committed form's
canonical bytes, so proofs, checkpoints, witnesses and tiles never see the plaintext. The
*opening* of a field (its salt and value) is kept beside the log, by the store; whoever holds
it checks it against the commitment in the signed log (:func:`open_body`).

Why per field, why salted: a role may open some fields of an entry and not others (a
published finding's verdict but not its exact location), and a 32-byte salt makes guessing a
value (a monitor id among a few hundred, a grid of positions) useless. The entry type and the
field name are hashed in, so an opening cannot be moved to another field or entry type.

One declarative table, :data:`CLEAR`, says per entry type which fields stay in clear: a type
mapped to ``None`` keeps everything in clear (it holds nothing private); a type not in the table
commits every field (the safe default for a new entry kind until it declares its clear fields).
An entry stored before commitments existed carries no commitment at all (a *plaintext* entry):
it still verifies, and :func:`is_committed` tells it apart.
"""

from __future__ import annotations

import binascii
import functools
import hashlib
import itertools
import json
import math
import os
import re
from collections.abc import Callable, Mapping, Sequence
from json.encoder import encode_basestring
from typing import Any, NamedTuple

from truceline.core.record.canonical import (
    ENTRY_TYPES,
    PreparedEntry,
    canonical_bytes,
    prepared_entry,
    value_bytes,
)
from truceline.errors import IntegrityError, TrucelineError, ValidationError

__all__ = [
    "CLEAR",
    "DOMAIN",
    "SALT_BYTES",
    "CommittedEntry",
    "EncodedEntry",
    "Opening",
    "Salts",
    "commit_body",
    "commit_entry",
    "commit_prepared",
    "commit_prepared_text",
    "commitment",
    "committed_fields",
    "encode_committed",
    "full_entry_bytes",
    "is_commitment",
    "is_committed",
    "json_canonical",
    "open_body",
    "raw_openings_text",
]

DOMAIN = b"truceline/commitment/v1\x00"
SALT_BYTES = 32


class Salts:
    """Fresh random salts for :func:`commit_entry` and :func:`commit_prepared`, read from the
    system's generator 256 at a time (one call per field costs a system call each); one per
    writer, never shared between threads."""

    def __init__(self) -> None:
        self.buf = b""
        self.pos = 0

    def __call__(self) -> bytes:
        if self.pos + SALT_BYTES > len(self.buf):
            self.buf, self.pos = os.urandom(SALT_BYTES * 256), 0
        self.pos += SALT_BYTES
        return self.buf[self.pos - SALT_BYTES : self.pos]

    def take(self, n: int) -> bytes:
        """The next ``n`` salts at once, as one string: the same bytes as ``n`` calls."""
        size = n * SALT_BYTES
        if self.pos + size <= len(self.buf):
            self.pos += size
            return self.buf[self.pos - size : self.pos]
        return b"".join([self() for _ in range(n)])

#: The fields each entry type keeps in clear; every other field is committed. ``None``: the
#: whole entry is public. A type missing here commits every field.
CLEAR: Mapping[str, frozenset[str] | None] = {
    "agreement_version": None,  # a commitment to the agreement document already
    "incident": None,  # a count and a digest of the incident set
    "observation": frozenset({"kind", "time", "source_type"}),
    "finding": frozenset(),  # even the id: an unpublished finding is not announced
    "dispute": frozenset({"id", "time"}),
    "status_change": frozenset({"subject", "status"}),
    "key_registration": frozenset({"role"}),
}

_HEX64 = re.compile(r"[0-9a-f]{64}")

#: A field's opening: its salt and its value.
Opening = tuple[bytes, Any]


def commitment(entry_type: str, name: str, salt: bytes, value: Any) -> str:
    """The hex SHA-256 commitment to ``value`` as field ``name`` of an ``entry_type`` entry."""
    return _commit(entry_type, name, salt, canonical_bytes(value))


@functools.lru_cache(maxsize=4096)
def _prefix(entry_type: str, name: str) -> Any:
    return hashlib.sha256(DOMAIN + canonical_bytes([entry_type, name]))


def _commit(entry_type: str, name: str, salt: bytes, value: bytes) -> str:
    if len(salt) != SALT_BYTES:
        raise ValidationError(f"a salt is {SALT_BYTES} bytes, not {len(salt)}", field="salt")
    h = _prefix(entry_type, name).copy()
    h.update(salt)
    h.update(value)
    return str(h.hexdigest())


_JSON = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False)


def json_canonical(v: Any) -> bytes:
    """Canonical bytes of a value read from JSON, fast: for JSON types with string keys the
    core's encoder settings give exactly the canonical form; anything else (a time, a lone
    surrogate, NaN) takes :func:`canonical_bytes` and its errors. Only for values parsed from
    JSON: Python's encoder would turn a non-string key into a string where the canonical form
    refuses it."""
    t = type(v)
    try:
        if t is str:  # most fields: skip the encoder's Python layer
            return encode_basestring(v).encode("utf-8")
        if t is float and math.isfinite(v):
            return repr(v).encode("ascii")
        return _JSON.encode(v).encode("utf-8")
    except (TypeError, ValueError, UnicodeEncodeError, RecursionError):
        return canonical_bytes(v)


def full_entry_bytes(entry_type: str, body: Mapping[str, Any]) -> bytes:
    """:func:`entry_bytes` of an opened entry (values read from JSON), by the fast path."""
    return json_canonical({"body": body, "type": entry_type})


def is_commitment(v: Any) -> bool:
    """Whether a field value is a commitment ``{"c": <64 hex digits>}``."""
    if type(v) is not dict or len(v) != 1:
        return False
    c = v.get("c")
    return isinstance(c, str) and _HEX64.fullmatch(c) is not None


def committed_fields(entry_type: str, body: Mapping[str, Any]) -> list[str]:
    """The fields of ``body`` an entry of ``entry_type`` commits to, sorted."""
    clear = CLEAR.get(entry_type, frozenset())
    if clear is None:
        return []
    return sorted(k for k in body if k not in clear)


def is_committed(entry_type: str, body: Mapping[str, Any]) -> bool:
    """Whether ``body`` is in committed form (else a plaintext entry from before, or a type
    with nothing to commit). A body that commits some of its fields and not others is neither:
    IntegrityError naming the first field in clear."""
    names = committed_fields(entry_type, body)
    done = [n for n in names if is_commitment(body[n])]
    if done and len(done) != len(names):
        bad = next(n for n in names if not is_commitment(body[n]))
        raise IntegrityError(f"a committed {entry_type} entry has field {bad} in clear", field=bad)
    return bool(done)


def commit_body(
    entry_type: str, body: Mapping[str, Any], salt: Callable[[], bytes]
) -> tuple[dict[str, Any], dict[str, Opening]]:
    """The committed form of ``body`` and the opening of each committed field.

    ``salt`` gives a fresh random 32-byte salt per call (the core takes no randomness itself).
    """
    out = dict(body)
    openings: dict[str, Opening] = {}
    for name in committed_fields(entry_type, body):
        s = salt()
        value = body[name]
        out[name] = {"c": commitment(entry_type, name, s, value)}
        openings[name] = (s, json.loads(canonical_bytes(value)))  # the value as JSON reads it
    return out, openings


def commit_entry(data: bytes, salt: Callable[[], bytes]) -> tuple[bytes, dict[str, Opening]]:
    """Canonical entry bytes in committed form, with the openings; an entry already committed
    (a log replayed into a mirror) or with nothing to commit is returned as it is, and so are
    bytes that are no entry at all (``record verify`` names them; committing cannot fix them).
    """
    try:
        obj = json.loads(data)
        entry_type, body = obj["type"], obj["body"]
        clear = CLEAR.get(entry_type, frozenset())
        if clear is None:
            return data, {}
        names = sorted(k for k in body if k not in clear)
        committed_form = any(type(body[n]) is dict for n in names) and \
            is_committed(entry_type, body)
        if not names or committed_form:
            return data, {}
        if entry_type not in ENTRY_TYPES:
            raise ValidationError(f"unknown entry type {entry_type!r}", field="type")
        openings: dict[str, Opening] = {}
        commits: dict[str, str] = {}
        for name in names:  # the values come from JSON: the fast canonical path holds
            s = salt()
            value = body[name]
            commits[name] = _commit(entry_type, name, s, json_canonical(value))
            openings[name] = (s, value)
        return _committed_bytes(entry_type, body, commits), openings
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError, TrucelineError):
        return data, {}


#: One opened field as :func:`commit_prepared` gives it: name, salt, the value's canonical bytes.
RawOpening = tuple[str, bytes, bytes]

_COMMITMENT_HEAD = b'{"c":"'


def commit_prepared(entry: PreparedEntry, salt: Callable[[], bytes]
                    ) -> tuple[bytes, list[RawOpening]]:
    """:func:`commit_entry` of a :class:`~truceline.core.record.canonical.PreparedEntry`,
    from the canonical bytes of its fields: the same committed bytes for the same salts, and
    each opening with its value's canonical bytes (what the store keeps), in field order.
    The committed bytes are the entry's own with each committed value's span replaced by its
    commitment (keys, clear fields and punctuation are already canonical there). A field that
    looks like a commitment already, or a salt of the wrong size, takes :func:`commit_entry`'s
    own path."""
    t = entry.entry_type
    clear = CLEAR.get(t, frozenset())
    if clear is None:
        return bytes(entry), []
    names, sp = entry.names, entry.spans
    committed = [n for n, k in enumerate(names) if k not in clear]
    if not committed:
        return bytes(entry), []
    if any(entry.startswith(_COMMITMENT_HEAD, sp[2 * n]) for n in committed):
        return _commit_parsed(entry, salt)
    out: list[bytes] = []
    openings: list[RawOpening] = []
    at = 0
    for n in committed:
        a, b = sp[2 * n], sp[2 * n + 1]
        k, v, s = names[n], entry[a:b], salt()
        if len(s) != SALT_BYTES:
            return _commit_parsed(entry, itertools.repeat(s).__next__)  # commit_entry's error
        h = _prefix(t, k).copy()
        h.update(s)
        h.update(v)
        out += (entry[at:a], b'{"c":"', h.hexdigest().encode("ascii"), b'"}')
        openings.append((k, s, v))
        at = b
    out.append(entry[at:])
    return b"".join(out), openings


@functools.lru_cache(maxsize=1024)
def _committing(entry_type: str, names: tuple[str, ...]
                ) -> tuple[tuple[int, ...], tuple[Any, ...], tuple[bytes, ...]]:
    """For a body with these field names (in canonical order): the indexes of the committed
    fields, each one's hash prefix and its name as an openings key (``"name":["``)."""
    clear = CLEAR.get(entry_type, frozenset()) or frozenset()
    idx = tuple(n for n, k in enumerate(names) if k not in clear)
    return (idx, tuple(_prefix(entry_type, names[n]) for n in idx),
            tuple(encode_basestring(names[n]).encode("utf-8") + b':["' for n in idx))


def commit_prepared_text(entry: PreparedEntry, salts: Salts) -> tuple[bytes, str | None]:
    """``commit_prepared(entry, salts)`` and its openings as :func:`raw_openings_text` (None
    when nothing is committed): the same bytes and text for the same salts, in one pass.
    Ingest commits every observation this way (issue 21: ~11 fields per observation, each
    with a salt, a hash and its opening's text, were a sixth of the worker's time); a check
    each finding and notification (~15 fields each, 0.28M entries on the 907k month). The
    committed form and the openings are each joined once from their pieces."""
    t = entry.entry_type
    if CLEAR.get(t, frozenset()) is None:
        c, raw = commit_prepared(entry, salts)
        return c, raw_openings_text(raw) if raw else None
    idx, prefixes, keys = _committing(t, entry.names)
    sp = entry.spans
    # no field can look committed where the entry holds no commitment's head at all
    if not idx or (_COMMITMENT_HEAD in entry
                   and any(entry.startswith(_COMMITMENT_HEAD, sp[2 * n]) for n in idx)):
        c, raw = commit_prepared(entry, salts)
        return c, raw_openings_text(raw) if raw else None
    block = salts.take(len(idx))
    hexes = binascii.hexlify(block)
    hexlify = binascii.hexlify
    out: list[bytes] = []
    ops: list[bytes] = [b"{"]
    at = 0
    s = 0
    for j, n in enumerate(idx):
        a, b = sp[2 * n], sp[2 * n + 1]
        v = entry[a:b]
        h = prefixes[j].copy()
        h.update(block[s : s + 32])
        h.update(v)
        out += (entry[at:a], b'{"c":"', hexlify(h.digest()), b'"}')
        ops += (keys[j], hexes[2 * s : 2 * s + 64], b'",', v, b"],")
        at = b
        s += 32
    out.append(entry[at:])
    ops[-1] = b"]}"
    return b"".join(out), b"".join(ops).decode("utf-8")


class EncodedEntry(NamedTuple):
    """A body encoded and committed in one pass (:func:`encode_committed`)."""

    body: bytes  # canonical bytes of the body (``prepared_entry(...).body``)
    committed: bytes  # the entry in committed form (``commit_prepared_text``'s bytes)
    openings: str | None  # ``commit_prepared_text``'s openings text
    without: bytes  # canonical bytes of the body without field ``omit`` (``body`` if absent)


@functools.lru_cache(maxsize=1024)
def _encoding(entry_type: str, names: tuple[str, ...]
              ) -> tuple[tuple[bytes, ...], tuple[bool, ...], bytes]:
    """For a body with these field names (in canonical order): each name as a key
    (``"name":``), whether it is committed, and the entry type's text."""
    clear = CLEAR.get(entry_type, frozenset()) or frozenset()
    return (tuple(encode_basestring(k).encode("utf-8") + b":" for k in names),
            tuple(k not in clear for k in names), encode_basestring(entry_type).encode("utf-8"))


def encode_committed(entry_type: str, body: Mapping[str, Any], salts: Salts,
                     omit: str | None = None) -> EncodedEntry:
    """``prepared_entry(entry_type, body)`` committed by :func:`commit_prepared_text`, and
    the body's canonical bytes without ``omit`` (what a source signs: the record without
    its signature), in one pass over the fields: each value is encoded once and the
    committed form, the openings and both bodies are joined from those bytes, instead of
    encoding the entry and slicing it again (ingest's workers do this for every
    observation: issue 21). The same bytes and the same salts taken as the two calls; any
    body they would treat otherwise (a type in clear, a key that is no string, a value
    that is no canonical scalar or looks committed already) takes them."""
    try:
        if (type(body) is not dict or entry_type not in ENTRY_TYPES
                or CLEAR.get(entry_type, frozenset()) is None):
            raise TypeError
        names = tuple(sorted(body))
        keys, secret, kind = _encoding(entry_type, names)
        vals = [encode_basestring(x).encode("utf-8") if type(x) is str else value_bytes(x)
                for x in map(body.__getitem__, names)]
    except (TypeError, UnicodeEncodeError, ValidationError):
        return _encode_committed_slowly(entry_type, body, salts, omit)
    idx = [n for n, c in enumerate(secret) if c]
    if not idx or any(vals[n].startswith(_COMMITMENT_HEAD) for n in idx):
        return _encode_committed_slowly(entry_type, body, salts, omit)
    _, prefixes, okeys = _committing(entry_type, names)
    block = salts.take(len(idx))
    hexes = binascii.hexlify(block)
    full = [k + v for k, v in zip(keys, vals, strict=True)]
    out = list(full)
    ops = []
    for j, n in enumerate(idx):
        v = vals[n]
        h = prefixes[j].copy()
        h.update(block[32 * j : 32 * j + 32])
        h.update(v)
        out[n] = b"".join((keys[n], b'{"c":"', binascii.hexlify(h.digest()), b'"}'))
        ops.append(b"".join((okeys[j], hexes[64 * j : 64 * j + 64], b'",', v, b"]")))
    data = b"{" + b",".join(full) + b"}"
    without = data
    if omit is not None and omit in body:
        k = names.index(omit)
        without = b"{" + b",".join(full[:k] + full[k + 1 :]) + b"}"
    return EncodedEntry(data, b'{"body":{' + b",".join(out) + b'},"type":' + kind + b"}",
                        (b"{" + b",".join(ops) + b"}").decode("utf-8"), without)


def _encode_committed_slowly(entry_type: str, body: Mapping[str, Any], salts: Salts,
                             omit: str | None) -> EncodedEntry:
    """:func:`encode_committed` by the calls it stands for (and with their errors)."""
    pe = prepared_entry(entry_type, body)
    committed, ops = commit_prepared_text(pe, salts)
    without = pe.body
    if omit is not None and omit in body:
        without = canonical_bytes({k: v for k, v in body.items() if k != omit})
    return EncodedEntry(pe.body, committed, ops, without)


def raw_openings_text(ops: Sequence[RawOpening]) -> str:
    """The openings of one entry as the JSON object a store keeps, ``{field: [salt hex,
    value]}``, from openings whose values are given as their canonical bytes
    (:func:`commit_prepared`, fields in order)."""
    return (b"{" + b",".join([b'%s:["%s",%s]' % (encode_basestring(name).encode("utf-8"),
                                                  salt.hex().encode("ascii"), value)
                              for name, salt, value in ops]) + b"}").decode("utf-8")


class CommittedEntry(bytes):
    """An entry's canonical bytes that were committed where they were made: a store appends
    :attr:`committed` (its log's leaf data) with :attr:`openings` (:func:`raw_openings_text`,
    None when nothing is committed) instead of committing it again. Signed ingest commits
    its observations in worker processes (:mod:`truceline.services.ingest_prepare`), so the
    process that owns the store only writes them."""

    committed: bytes
    openings: str | None

    @classmethod
    def of(cls, full: bytes, committed: bytes, openings: str | None) -> CommittedEntry:
        out = cls(full)
        out.committed, out.openings = committed, openings
        return out


def _commit_parsed(entry: bytes, salt: Callable[[], bytes]) -> tuple[bytes, list[RawOpening]]:
    committed, ops = commit_entry(bytes(entry), salt)
    return committed, [(k, s, json_canonical(v)) for k, (s, v) in sorted(ops.items())]


def _committed_bytes(entry_type: str, body: Mapping[str, Any], commits: Mapping[str, str]
                     ) -> bytes:
    """:func:`full_entry_bytes` of ``body`` with ``commits`` in place of those fields' values,
    written item by item: the encoder's output for a dict is its sorted items joined, and a
    commitment is always ``{"c":"<hex>"}`` (a third of an observation's ingest cost went to
    encoding those small dicts through the encoder's Python layer)."""
    try:
        items = []
        for k in sorted(body):
            c = commits.get(k)
            v = f'{{"c":"{c}"}}' if c is not None else _JSON.encode(body[k])
            items.append(f"{encode_basestring(k)}:{v}")
        text = f'{{"body":{{{",".join(items)}}},"type":{encode_basestring(entry_type)}}}'
        return text.encode("utf-8")
    except (TypeError, ValueError, UnicodeEncodeError, RecursionError):
        out = dict(body)
        out.update((k, {"c": c}) for k, c in commits.items())
        return full_entry_bytes(entry_type, out)


def open_body(
    entry_type: str, body: Mapping[str, Any], openings: Mapping[str, Opening]
) -> tuple[dict[str, Any], list[str]]:
    """``body`` with each opened field replaced by its value, and the fields left committed.

    Every opening must match its commitment (IntegrityError naming the field otherwise), and
    must open a committed field of ``body``: an opening of a field in clear or absent is an
    IntegrityError too (it was added or moved).
    """
    out = dict(body)
    names = committed_fields(entry_type, body)
    for name, (salt, value) in openings.items():
        got = body.get(name)
        if name not in names or not is_commitment(got):
            raise IntegrityError(
                f"an opening of field {name}, which the entry does not commit to", field=name
            )
        try:
            want = _commit(entry_type, name, salt, json_canonical(value))
        except (ValidationError, TypeError):
            want = ""
        if want != got["c"]:  # type: ignore[index]  # is_commitment: a dict
            raise IntegrityError(
                f"the opening of field {name} does not match its commitment", field=name
            )
        out[name] = value
    left = [n for n in names if n not in openings and is_commitment(out[n])]
    return out, left
