"""Ingest's work on each record, done in worker processes: the server's process only writes.

For every record of a batch, :func:`prepare_chunk` computes what storing it needs and what
depends on nothing stored: the digest of its input, its validation, its canonical record and
submission message, its committed entry (fresh salts, the openings' text), the submission
policy and its signature check (given the sources' keys), and the resubmitted copies among
the valid ones (:func:`truceline.core.resubmissions.duplicates`). It is a function of its
arguments (and of the random salts), run in the children of
:mod:`truceline.services.verifiers` (here, for a small batch or without children): the same
answer wherever it runs. Ingest then applies, in this process, every rule that reads the
store (what is stored already, copies stored before, the append to the record), in the same
order and with the same errors as when it did all of it here.

Why: signed ingest's server was one process doing ~130 µs of Python per observation, ~55 %
of it validation, encoding and commitments (issue 21); in a worker they run beside it. A
batch is split by source among the children, so that copies (always of one source) are
found within one part.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from truceline.core.observations import Observation, Rejection, parse_observation, safe_id
from truceline.core.record.commit import CommittedEntry, Salts, encode_committed
from truceline.core.record.signing import verify_many
from truceline.core.resubmissions import duplicates
from truceline.core.taxonomy import Kind
from truceline.errors import ObservationError
from truceline.services.submissions import apply_policy, submission_messages
from truceline.services.verifiers import MIN_OFFLOAD, count_signatures, pool_size, run_jobs

#: Source keys as a worker takes them: each source's ``(public key, revoked)``.
Keys = Mapping[str, Sequence[tuple[bytes, bool]]]

#: An observation's entry is its canonical record inside ``{"body": ..., "type": ...}``.
ENTRY_HEAD, ENTRY_TAIL = b'{"body":', b',"type":"observation"}'


def _tagged(v: Any) -> Any:
    """A value JSON cannot hold (a date from a spreadsheet, bytes), named with its type so
    that no other input digests the same."""
    return {"$type": type(v).__qualname__, "$str": str(v)}


_DIGEST_ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                                   default=_tagged)


def input_digest(record: Mapping[str, Any]) -> bytes | None:
    """SHA-256 of a raw input record, before validation; None if it cannot be encoded.

    Two records digest alike only when they are the same input (same keys, same values of
    the same JSON types), and validation is deterministic: so a stored observation's input
    digest says that this input was already validated, checked and stored under its id.
    """
    try:
        text = _DIGEST_ENCODER.encode(record)
    except (TypeError, ValueError, RecursionError):  # RecursionError: nested too deeply
        return None
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()


def record_digest(record: Any, canonical: Mapping[str, Any], body: bytes) -> bytes | None:
    """:func:`input_digest` of ``record`` given its validated ``canonical`` record
    (``to_record()``) and that record's canonical bytes ``body``: when the input is already
    its canonical record (the same keys in the same order, the same values of the same
    types: what a source sends when it submits what it signed), the digest's encoding is
    those bytes and the record is not encoded twice. A zero (whose sign a float equality
    would not see) or any difference takes :func:`input_digest`."""
    if (type(record) is dict and record == canonical and 0 not in record.values()
            and list(record) == list(canonical)
            and list(map(type, record.values())) == list(map(type, canonical.values()))):
        return hashlib.sha256(body).digest()
    return input_digest(record)


class Invalid(NamedTuple):
    """A record that did not validate: the error to raise (``raise`` mode) and its
    rejection (``skip`` mode), as validation gives them."""

    line: int
    error: type[ObservationError]
    message: str
    field: str | None
    details: dict[str, Any]
    id: str | None

    def exception(self) -> ObservationError:
        details = dict(self.details)
        line = details.pop("line", None)
        return self.error(self.message, field=self.field, line=line, **details)

    def rejection(self) -> Rejection:
        return Rejection(self.line, self.field, self.message, self.id)


class PreparedObservation(NamedTuple):
    """A valid observation as the store writes it: the columns its row keeps, its canonical
    record, its committed entry and openings, and its signature's verdict."""

    line: int
    digest: bytes | None
    id: str
    kind: Kind
    time: datetime
    arrival_time: datetime | None
    lon: float | None
    lat: float | None
    observer_lon: float | None
    observer_lat: float | None
    source_id: str
    record: bytes  # canonical bytes of to_record(): the row's text and the entry's body
    committed: bytes  # the entry in committed form (the log's leaf data)
    openings: str | None
    sig_error: str | None  # why the submission policy refuses it, or None
    #: False for a record whose id is stored (from another input): it is only compared with
    #: the stored one (a duplicate or a conflict), so it is neither committed nor verified.
    fresh: bool = True

    def entry(self) -> CommittedEntry:
        return CommittedEntry.of(ENTRY_HEAD + self.record + ENTRY_TAIL, self.committed,
                                 self.openings)

    def to_record(self) -> dict[str, Any]:
        out: dict[str, Any] = json.loads(self.record)
        return out

    def observation(self) -> Observation:
        """The observation itself (parsed from its canonical record, as the store reads it)."""
        return Observation.model_validate_json(self.record)


Prepared = PreparedObservation | Invalid


def prepare_chunk(chunk: Sequence[tuple[int, Any]], keys: Keys, require_signatures: bool,
                  known: frozenset[str] = frozenset()
                  ) -> tuple[list[Prepared], dict[str, str], int]:
    """Each record of ``chunk`` prepared (module docstring), in order; the copies among
    :func:`groupable` ones (``duplicates`` of them); how many signatures were verified.
    Records whose id is in ``known`` (stored) are validated and encoded only."""
    salt = Salts()
    out: list[Prepared] = []
    obs: list[Observation] = []
    parts: list[tuple[int, bytes | None, dict[str, Any], bytes, bytes, str | None]] = []
    msgs: list[bytes | None] = []
    for line, rec in chunk:
        try:
            o = parse_observation(rec, line=line)
        except ObservationError as exc:
            out.append(Invalid(line, type(exc), exc.message, exc.field, dict(exc.details),
                               safe_id(rec.get("id"))))
            continue
        r = o.to_record()
        if o.id in known:
            data = submission_messages([r])[0][0]  # to compare with the stored record
            digest = record_digest(rec, r, data)
            out.append(PreparedObservation(line, digest, o.id, o.kind, o.time, o.arrival_time,
                                           o.lon, o.lat, o.observer_lon, o.observer_lat,
                                           o.source_id, data, b"", None, None, False))
            continue
        enc = encode_committed("observation", r, salt, "signature")
        data = enc.body
        obs.append(o)
        # what its source signed: the record without its signature (as ``message_of``)
        msgs.append(data if r.get("signature") is None else enc.without)
        parts.append((line, record_digest(rec, r, data), r, data, enc.committed, enc.openings))
        out.append(o)  # type: ignore[arg-type]  # replaced below, once its signature is known
    pol = apply_policy(obs, keys, require_signatures=require_signatures, messages=msgs)
    errors = pol.finish(verify_many(pol.pks, pol.msgs, pol.sigs), obs) if pol.idx else pol.errors
    k = 0
    for n, item in enumerate(out):
        if not isinstance(item, Observation):
            continue
        o, err = obs[k], errors[k]
        line, digest, _, data, committed, ops = parts[k]
        out[n] = PreparedObservation(line, digest, o.id, o.kind, o.time, o.arrival_time, o.lon,
                                     o.lat, o.observer_lon, o.observer_lat, o.source_id, data,
                                     committed, ops, None if err is None else err.message)
        k += 1
    chosen = {id(p) for p in groupable(out)}
    fresh = [p for p in out if isinstance(p, PreparedObservation) and p.fresh]  # as ``obs``
    return (out, duplicates([o for o, p in zip(obs, fresh, strict=True) if id(p) in chosen]),
            len(pol.pks))


def prepare_job(*args: Any) -> bytes:
    """:func:`prepare_chunk` as a worker's job: its answer pickled."""
    return pickle.dumps(prepare_chunk(*args), protocol=5)


def groupable(items: Sequence[Prepared]) -> list[PreparedObservation]:
    """The observations a part's copies are found among: the valid ones (the first of each
    id) whose submission the policy accepts. When exactly these are stored and nothing
    stored is near them, the part's copies are the batch's."""
    seen: set[str] = set()
    out = []
    for p in items:
        if isinstance(p, PreparedObservation) and p.id not in seen:
            seen.add(p.id)
            if p.fresh and p.sig_error is None:
                out.append(p)
    return out


@dataclass
class PreparedBatch:
    """A batch prepared part by part: its items in the batch's order, each part's items
    (for :func:`groupable`) and copies."""

    items: list[Prepared]
    parts: list[list[Prepared]]
    copies: list[dict[str, str]]

    def copies_of(self, stored: Sequence[PreparedObservation]) -> dict[str, str] | None:
        """The copies among ``stored`` (what is being stored of this batch) when the parts
        found them: ``stored`` is exactly their :func:`groupable` observations. Else None:
        the caller finds them itself."""
        chosen = {id(p) for part in self.parts for p in groupable(part)}
        if len(chosen) != len(stored) or any(id(p) not in chosen for p in stored):
            return None
        out: dict[str, str] = {}
        for c in self.copies:
            out.update(c)
        return out


#: A part is at least this many records (a child's round trip costs more than it saves
#: below that).
MIN_PART = MIN_OFFLOAD


def start_prepare(chunk: Sequence[tuple[int, Any]], keys: Keys, require_signatures: bool,
                  known: frozenset[str] = frozenset()) -> Callable[[], PreparedBatch]:
    """Start :func:`prepare_chunk` on ``chunk`` in the worker processes, split by source
    (small batches: here); returns a function that waits for the prepared batch."""
    n = max(1, min(pool_size(), len(chunk) // MIN_PART))
    where: list[list[int]] = [[] for _ in range(n)]
    for k, (_, rec) in enumerate(chunk):
        sid = rec.get("source_id") if isinstance(rec, dict) else None
        where[zlib.crc32(sid.encode("utf-8", "surrogatepass")) % n
              if isinstance(sid, str) else 0].append(k)
    where = [w for w in where if w] or [[]]
    args = []
    for w in where:
        part = [chunk[k] for k in w]
        mine = {s for _, rec in part if isinstance(rec, dict)  # a bad id is validation's to
                and isinstance(s := rec.get("source_id"), str)}  # name, not a crash here
        args.append((part, {s: keys[s] for s in mine if s in keys},
                     require_signatures, known))
    wait = run_jobs(prepare_job, args, here=len(chunk) < MIN_OFFLOAD)

    def finish() -> PreparedBatch:
        items: list[Prepared | None] = [None] * len(chunk)
        parts, copies = [], []
        for w, answer in zip(where, wait(), strict=True):
            got, dup, verified = pickle.loads(answer)  # from our own child (or this process)
            count_signatures(verified)
            for k, item in zip(w, got, strict=True):
                items[k] = item
            parts.append(got)
            copies.append(dup)
        return PreparedBatch(items, parts, copies)  # type: ignore[arg-type]  # all filled

    return finish
