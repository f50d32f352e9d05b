"""Canonical entry bytes: one byte string per value, so every party hashes the same leaf.

The canonical JSON form
-----------------------
* UTF-8, no byte order mark; strings are written as-is (no ``\\uXXXX`` escapes except those
  JSON requires: ``"``, ``\\``, and control characters below U+0020); lone surrogates are
  rejected. Strings are not Unicode-normalised: what was signed is what is stored.
* Objects: keys are strings, unique, sorted by Unicode code point; no insignificant
  whitespace (separators ``,`` and ``:``).
* Integers as-is (arbitrary size, no exponent, no leading zeros). ``True``/``False``/``None``
  become ``true``/``false``/``null``.
* Floats in the shortest form that round-trips (Python ``repr``: ``0.1``, ``1e-07``,
  ``1e+16``, ``2.0``); a float stays a float (``2.0`` is not ``2``). NaN and ±Infinity are
  rejected.
* Times are RFC 3339 UTC strings ending in ``Z``: ``2025-03-01T17:30:00Z``, with a fraction
  only when microseconds are non-zero, trailing zeros trimmed (``...:00.25Z``). Naive datetimes
  are rejected (an unzoned clock time is ambiguous across EET/EEST); aware ones are converted
  to UTC. Dates are ``YYYY-MM-DD``.
* Lists and tuples are arrays; anything else (bytes, sets, objects) is rejected: encode
  bytes as base64 strings before building an entry.

An entry is ``{"type": <entry type>, "body": {...}}`` with a type from :data:`ENTRY_TYPES`.
:func:`parse_entry` accepts only bytes that re-encode to themselves, so the same entry can
never be stored under two encodings (and thus two leaf hashes).
"""

from __future__ import annotations

import datetime as dt
import json
import math
from array import array
from collections.abc import Mapping
from json.encoder import encode_basestring
from typing import Any

from truceline.errors import ValidationError

__all__ = ["ENTRY_TYPES", "PreparedEntry", "canonical_bytes", "entry_bytes", "parse_entry",
           "prepared_entry", "value_bytes"]

ENTRY_TYPES = frozenset(
    {
        "observation",
        "incident",
        "finding",
        "agreement_version",
        "dispute",
        "status_change",
        "key_registration",
        "notification",
        "acknowledgement",
        "api_key",
        "endpoint",
        "pseudonym_secret",
    }
)


def _time(v: dt.datetime, path: str) -> str:
    off = v.utcoffset()
    if off is None:
        raise ValidationError(
            "datetime must carry a time zone (naive times are ambiguous)", field=path
        )
    u = v.replace(tzinfo=None) - off
    s = f"{u.year:04d}-{u.month:02d}-{u.day:02d}T{u.hour:02d}:{u.minute:02d}:{u.second:02d}"
    if u.microsecond:
        s += f".{u.microsecond:06d}".rstrip("0")
    return s + "Z"


_SCALARS = frozenset({str, int, bool, type(None)})


def _prepare(v: Any, path: str) -> Any:
    """Check types and convert times, naming the JSON path of the first bad value."""
    t = type(v)
    if t in _SCALARS:
        return v
    if t is dict:
        out = {}
        for k, x in v.items():
            if type(k) is not str:
                raise ValidationError(f"object keys must be strings, got {k!r}", field=path)
            tx = type(x)
            out[k] = x if tx in _SCALARS else _prepare(x, f"{path}.{k}")
        return out
    if t is list or t is tuple:
        return [x if type(x) in _SCALARS else _prepare(x, f"{path}[{i}]") for i, x in enumerate(v)]
    if isinstance(v, float):
        if not math.isfinite(v):
            raise ValidationError("NaN and Infinity have no canonical form", field=path)
        return float(v)
    if isinstance(v, dt.datetime):
        return _time(v, path)
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, str | int):  # subclasses (enums): the encoder writes the plain value
        return v
    if isinstance(v, dict | list | tuple):
        return _prepare(dict(v) if isinstance(v, dict) else list(v), path)
    raise ValidationError(f"{type(v).__name__} has no canonical JSON form", field=path)


_ENCODER = json.JSONEncoder(
    ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False
)


def _dump(v: Any) -> bytes:
    try:
        s = _ENCODER.encode(v)
    except ValueError as e:  # only reachable from parse_entry: e.g. 1e400 parsed as inf
        raise ValidationError("number out of range for canonical JSON", field="$") from e
    try:
        return s.encode("utf-8")
    except UnicodeEncodeError as e:
        raise ValidationError(
            "string contains a lone surrogate (not valid Unicode)", field="$"
        ) from e


_PLAIN = frozenset({str, int, float, bool, type(None)})


def _plain_json(v: Any) -> bool:
    """Whether ``v`` is made of JSON's own types only: dicts with ``str`` keys, lists, tuples,
    str, int, float, bool, None (exactly those types, not subclasses). For such a value
    :func:`_prepare` changes nothing the encoder would write, so the encoder alone gives the
    canonical bytes; the walk only looks, it builds nothing (a check encodes a record per
    incident and finding, and ``_prepare``'s copy was most of that cost)."""
    t = type(v)
    if t is dict:
        for k, x in v.items():
            if type(k) is not str or (type(x) not in _PLAIN and not _plain_json(x)):
                return False
        return True
    if t is list or t is tuple:
        return all(type(x) in _PLAIN or _plain_json(x) for x in v)
    return t in _PLAIN


def canonical_bytes(obj: Any) -> bytes:
    """The canonical JSON bytes of ``obj`` (see the module docstring for the rules)."""
    try:
        if _plain_json(obj):  # NaN, a lone surrogate: the full path names the value
            return _ENCODER.encode(obj).encode("utf-8")
    except (ValueError, UnicodeEncodeError, RecursionError):
        pass
    return _dump(_prepare(obj, "$"))


def _check_type(entry_type: str, body: Any) -> None:
    if entry_type not in ENTRY_TYPES:
        raise ValidationError(
            f"unknown entry type {entry_type!r}; one of {sorted(ENTRY_TYPES)}", field="type"
        )
    if not isinstance(body, dict):
        raise ValidationError("entry body must be an object", field="body")


def entry_bytes(entry_type: str, body: dict[str, Any]) -> bytes:
    """Canonical bytes of an entry ``{"type": entry_type, "body": body}``: the leaf data."""
    _check_type(entry_type, body)
    return canonical_bytes({"type": entry_type, "body": body})


class PreparedEntry(bytes):
    """:func:`entry_bytes` of a body that knows where each field's canonical bytes lie in it
    (:attr:`fields`, by name) and where the body's do (:attr:`body`): committing the entry
    (:func:`truceline.core.record.commit.commit_prepared`) then needs no parse and no second
    encoding, and a store row holding the record takes :attr:`body` as its text. Equal, as
    bytes, to :func:`entry_bytes`; the spans are kept as offsets (a check holds one entry
    per finding, tens of thousands)."""

    entry_type: str
    #: The body's field names in canonical (code point) order.
    names: tuple[str, ...]
    #: Field ``n``'s canonical bytes are ``self[spans[2n] : spans[2n + 1]]``.
    spans: array[int]
    _end: int

    @property
    def fields(self) -> list[tuple[str, bytes]]:
        """Each field's name and canonical bytes, in canonical order."""
        sp = self.spans
        return [(k, self[sp[2 * n] : sp[2 * n + 1]]) for n, k in enumerate(self.names)]

    @property
    def body(self) -> bytes:
        """The canonical bytes of the body."""
        return self[8 : self._end]


def value_bytes(v: Any) -> bytes:
    """``canonical_bytes(v)``, without its walk for the scalars most fields hold."""
    t = type(v)
    try:
        if t is str:  # the encoder's own string writer
            return encode_basestring(v).encode("utf-8")
        if t is float and math.isfinite(v):
            return repr(v).encode("ascii")
        if v is None:
            return b"null"
        if t is bool:
            return b"true" if v else b"false"
        if t is int:
            return repr(v).encode("ascii")
        if (t is list or t is tuple) and all(type(x) is str for x in v):
            # a list of text (a finding's evidence, a notification's recipients): the
            # encoder's own strings, joined as it joins them, without its walk and setup
            return b"[" + ",".join(map(encode_basestring, v)).encode("utf-8") + b"]"
    except (UnicodeEncodeError, ValueError):
        pass  # a lone surrogate, an int too long to write: canonical_bytes names it
    return canonical_bytes(v)


#: Field names seen, encoded with their colon (a body's keys are a type's few field names).
_KEYS: dict[str, bytes] = {}


def _key_bytes(k: str) -> bytes:
    b = _KEYS.get(k)
    if b is None:
        b = encode_basestring(k).encode("utf-8") + b":"
        if len(_KEYS) < 4096:
            _KEYS[k] = b
    return b


def prepared_entry(entry_type: str, body: Mapping[str, Any]) -> PreparedEntry:
    """:func:`entry_bytes` of ``body``, as a :class:`PreparedEntry` (same bytes, same errors)."""
    _check_type(entry_type, body)
    try:
        names = tuple(sorted(body))  # canonical order: by code point, as strings sort
        parts = []
        spans = array("I")
        add = spans.append
        at = 9  # past '{"body":{'
        known = _KEYS.get
        for k in names:  # _key_bytes and value_bytes inlined for keys seen and text (hot)
            if type(k) is not str:
                raise TypeError
            key = known(k) or _key_bytes(k)
            x = body[k]
            v = encode_basestring(x).encode("utf-8") if type(x) is str else value_bytes(x)
            at += len(key)
            add(at)
            at += len(v)
            add(at)
            at += 1
            parts.append(key + v)
        kind = encode_basestring(entry_type).encode("utf-8")
    except (TypeError, UnicodeEncodeError, ValidationError):  # a key that is no string, a
        entry_bytes(entry_type, dict(body))  # lone surrogate, NaN...: the error, by its path
        raise
    out = PreparedEntry(b'{"body":{' + b",".join(parts) + b'},"type":' + kind + b"}")
    out.entry_type, out.names, out.spans = entry_type, names, spans
    out._end = len(out) - len(kind) - 9  # before ',"type":' + kind + '}'
    return out


def prepared_from(entry_type: str, body: bytes, names: tuple[str, ...], spans: bytes
                  ) -> PreparedEntry:
    """The :class:`PreparedEntry` of ``prepared_entry(entry_type, b)`` from its ``body``
    bytes and what it said of them (its ``names`` and ``spans.tobytes()``), not encoded
    again: a check that writes its findings' rows first and their entries later keeps
    those (~0.2 KB a finding) rather than the entries (~1 KB)."""
    kind = encode_basestring(entry_type).encode("utf-8")
    out = PreparedEntry(b'{"body":' + body + b',"type":' + kind + b"}")
    out.entry_type, out.names, out.spans = entry_type, names, array("I", spans)
    out._end = len(out) - len(kind) - 9
    return out


def _reject_constant(name: str) -> Any:
    raise ValidationError(f"{name} is not allowed in canonical JSON", field="$")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise ValidationError(f"duplicate key {k!r}", field="$")
        out[k] = v
    return out


def parse_entry(data: bytes) -> tuple[str, dict[str, Any]]:
    """Parse entry bytes, accepting only the canonical encoding; returns ``(type, body)``."""
    if not isinstance(data, bytes):
        raise ValidationError("entry must be bytes", field="entry")
    try:
        text = data.decode("utf-8")
        obj = json.loads(text, parse_constant=_reject_constant, object_pairs_hook=_no_duplicates)
    except UnicodeDecodeError as e:
        raise ValidationError("entry is not valid UTF-8", field="entry") from e
    except json.JSONDecodeError as e:
        raise ValidationError(f"entry is not JSON: {e.msg} at {e.pos}", field="entry") from e
    except ValueError as e:  # e.g. an integer longer than Python's digit limit
        raise ValidationError(f"entry is not acceptable JSON: {e}", field="entry") from e
    except RecursionError:
        raise ValidationError("entry is nested too deeply to read", field="entry") from None
    if not isinstance(obj, dict) or set(obj) != {"type", "body"}:
        raise ValidationError('entry must be exactly {"type": ..., "body": {...}}', field="entry")
    entry_type, body = obj["type"], obj["body"]
    if entry_type not in ENTRY_TYPES:
        raise ValidationError(f"unknown entry type {entry_type!r}", field="type")
    if not isinstance(body, dict):
        raise ValidationError("entry body must be an object", field="body")
    try:
        canonical = _dump(obj) == data
    except RecursionError:
        raise ValidationError("entry is nested too deeply to read", field="entry") from None
    if not canonical:
        raise ValidationError("entry is not in canonical form", field="entry")
    return entry_type, body
