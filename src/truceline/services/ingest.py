"""Ingest: validate observations at the boundary and store them, idempotently and durably.

A bad record never takes its valid neighbours down with it: in ``skip`` mode it becomes a
:class:`Rejection` (line, field, reason) and the rest go on; in ``raise`` mode nothing from the
failing record onwards is stored (records before it may be; ingest is idempotent, so fix the file
and run it again) and the error names the line. A record whose id is stored with other content is
refused and the stored one kept. Geometry outside the agreement's area of interest is rejected,
never silently used. Signatures follow :mod:`truceline.services.submissions`'s submission
policy; a submission whose signature fails is rejected (field ``signature``) and nothing of it is
stored.

**Already stored, skipped first.** Before anything costly, each batch's ids are looked up in the
store together with the digest of the input each was stored from (:func:`input_digest`): a
record whose id is stored from the very same input is counted as a duplicate without being
validated, located or verified again. A record whose id is stored from another input is
validated and compared by its canonical record, still before the area and signature checks:
the same record is a duplicate, another one a conflict (field ``id``). So an ingest that was
interrupted and run again costs only what is new, however often it is interrupted. The same
rule holds within one input: an id given again with the same record is a duplicate, with
another record a conflict, whether or not the first has been stored yet.

**Resubmissions are stored and linked.** An observation with a new id but the same content
as another of its source (:mod:`truceline.core.resubmissions`: a retry, the same report by a
second channel) is stored as it came, and in the same transaction its row's ``duplicate_of``
names the report its group is counted through (the smallest id), with a ``status_change``
entry (``subject`` observation, ``status`` duplicate) in the record. When a copy with a
smaller id arrives later, the stored ones are linked to it the same way: which report is
counted never depends on the order of arrival. The checks count by the same rule.

**Times in the future are refused.** An observation whose ``time`` or ``arrival_time`` is
later than the time of receipt (the service's ``clock``) plus ``future_tolerance`` is rejected
(field ``time`` or ``arrival_time``): the record is append-only, so a time in 2099 would stay in
it for good.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal

import numpy as np
import shapely

from truceline.core.observations import Observation, Rejection, is_text, validate_records
from truceline.core.record.canonical import entry_bytes
from truceline.core.resubmissions import candidate_windows, duplicates
from truceline.errors import ConflictError, ObservationError, OutsideAreaError, SignatureError
from truceline.services.context import AgreementContext, load_context
from truceline.services.ports import Clock, Store, system_clock
from truceline.services.submissions import start_submission_checks, submission_messages


@dataclass
class IngestReport:
    added: int = 0
    duplicates: int = 0
    rejected: list[Rejection] = field(default_factory=list)

    #: Observations linked as resubmitted copies: new ones, and stored ones that a report
    #: with a smaller id, added now, takes the place of (one ``status_change`` entry each).
    copies: int = 0

    @property
    def seen(self) -> int:
        return self.added + self.duplicates + len(self.rejected)


def _outside(aoi: Any, batch: list[tuple[int, Observation]]) -> list[bool]:
    """For each observation: is its event or observer position outside the area of interest?"""
    flags = np.zeros(len(batch), dtype=bool)
    for lon_f, lat_f in (("lon", "lat"), ("observer_lon", "observer_lat")):
        lon = np.array(
            [getattr(o, lon_f) if getattr(o, lon_f) is not None else np.nan for _, o in batch]
        )
        lat = np.array(
            [getattr(o, lat_f) if getattr(o, lat_f) is not None else np.nan for _, o in batch]
        )
        has = ~np.isnan(lon)
        inside = np.ones(len(batch), dtype=bool)
        if has.any():
            inside[has] = shapely.contains_xy(aoi, lon[has], lat[has])
        flags |= ~inside
    return flags.tolist()


def resubmission_links(store: Store, obs: list[Observation]) -> dict[str, tuple[str, bytes]]:
    """The links to write with ``obs``: for each copy among them, and each stored report whose
    group they join, the id it is counted through and the record entry that says so.

    Reads only the stored reports of the same sources within the time tolerance of each.
    """
    if not obs:
        return {}
    rows = store.duplicate_candidates(candidate_windows(obs))
    known = {i: d for i, _, d in rows if d is not None}
    group = duplicates([*(o for _, o, _ in rows if o is not None), *obs], known=known)
    out = {}
    for oid, orig in group.items():
        if oid in known and known[oid] == orig:
            continue  # stored so already
        body = {"subject": "observation", "observation_id": oid, "status": "duplicate",
                "duplicate_of": orig}
        out[oid] = (orig, entry_bytes("status_change", body))
    return out


#: Default for ``future_tolerance`` (the ``future_tolerance_minutes`` setting's default).
FUTURE_TOLERANCE = timedelta(minutes=60)

CONFLICT = "already stored with different content; nothing changed"


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


#: An observation's entry is its canonical record inside ``{"body": ..., "type": ...}``.
_ENTRY_HEAD, _ENTRY_TAIL = b'{"body":', b',"type":"observation"}'


@dataclass
class _Batch:
    """A validated batch whose signatures are being verified (worker processes) until stored."""

    taken: int  # raw records it came from, for ``progress``
    obs: list[tuple[int, Observation]]
    digests: list[bytes | None]  # of each one's input (input_digest)
    entries: list[bytes]
    check: Callable[[], list[SignatureError | None]]
    #: Rejections reported before its own signature checks (in the order a one-stage
    #: ingest reports them): rows skipped while it filled, then its invalid records.
    rejected: list[Rejection]
    skipped: int = 0  # already stored from the same input or with the same record
    _errors: list[SignatureError | None] | None = None

    def errors(self) -> list[SignatureError | None]:
        """Wait for the signature checks (once) and return one error or None each."""
        if self._errors is None:
            self._errors = self.check()
        return self._errors


def ingest(
    store: Store,
    records: Iterable[tuple[int, dict[str, Any] | Rejection]],
    *,
    on_invalid: Literal["raise", "skip"] = "raise",
    batch_size: int = 1000,
    progress: Callable[[int], None] | None = None,
    require_signatures: bool = False,
    on_bad_signature: Literal["raise", "skip"] | None = None,
    context: AgreementContext | None = None,
    clock: Clock = system_clock,
    future_tolerance: timedelta | None = FUTURE_TOLERANCE,
) -> IngestReport:
    """Validate and store (line, record) pairs; see the module docstring for the policy.

    ``require_signatures`` refuses unsigned submissions even from sources without a key
    (the HTTP API always sets it; the CLI's ``--allow-unsigned`` is for public datasets).
    ``on_bad_signature`` (default: ``on_invalid``) lets a caller refuse a batch with a bad
    signature even in ``skip`` mode (the HTTP API does: such a request stores nothing).
    ``context`` is the store's agreement context when the caller keeps it (a server between
    requests); without it ingest loads it from the store. ``clock`` gives the time of
    receipt (read once per batch); a time later than it plus ``future_tolerance`` is refused
    (None: no limit, for replaying data whose receipt time has passed).

    Batches flow through a pipeline: the signatures of batch k are verified in worker
    processes (:mod:`truceline.services.verifiers`) while this thread validates batch k+1
    and then writes batch k-1 to the store (one durable commit). Batches are still stored
    strictly in order, each only after all of its checks, and an error stops everything
    from the failing record onwards exactly as it would without the overlap. Batches are
    small (1,000) so that the pipeline fills and drains quickly: the first batch is
    validated with no verification beside it and the last verified with nothing else to
    do; a commit per 1,000 costs no more CPU than one per 5,000.
    """
    sig_policy = on_invalid if on_bad_signature is None else on_bad_signature
    ctx = load_context(store) if context is None else context
    aoi = ctx.geometry.spec.area_of_interest if ctx.geometry is not None else None
    if aoi is not None:
        shapely.prepare(aoi)
    report = IngestReport()
    pending: list[tuple[int, dict[str, Any]]] = []
    verifying: _Batch | None = None  # prepared, checks running, not yet stored
    held: list[Rejection] = []  # reported once the batch before them is stored

    def reject(line: int | None, field: str | None, msg: str, oid: str | None, exc: type,
               into: list[Rejection] | None = None) -> None:
        if on_invalid == "raise":
            if not issubclass(exc, ObservationError):  # whose message shows no line of its own
                msg = f"{msg} (line {line}, id {oid!r})"
            raise exc(msg, field=field, line=line, id=oid)
        (report.rejected if into is None else into).append(Rejection(line, field, msg, oid))

    def prepare(chunk: list[tuple[int, dict[str, Any]]]) -> _Batch:
        """Skip what is stored, validate, check repeats, times and area, build canonical
        bytes, start the signature checks."""
        nonlocal held
        rejected, held = held, []
        taken = len(chunk)
        digests = [input_digest(rec) for _, rec in chunk]
        ids = [rec.get("id") for _, rec in chunk]
        known = store.stored_inputs(sorted({i for i in ids if type(i) is str and is_text(i)}))
        skipped = 0
        if known:  # stored from the same input: nothing to validate or verify again
            fresh = [k for k, (i, d) in enumerate(zip(ids, digests, strict=True))
                     if d is None or type(i) is not str or known.get(i, b"") != d]
            skipped = len(chunk) - len(fresh)
            chunk, digests = [chunk[k] for k in fresh], [digests[k] for k in fresh]
        batch: list[tuple[int, Observation]] = []
        bdigests: list[bytes | None] = []
        for (line, item), d in zip(validate_records(chunk, on_invalid=on_invalid), digests,
                                   strict=True):
            if isinstance(item, Rejection):
                rejected.append(item)
            else:
                batch.append((line, item))
                bdigests.append(d)
        # Canonical bytes once per observation: the signed message and the entry (whose
        # body the store keeps as the record's text) are cut from the same bytes.
        pairs = submission_messages([o.to_record() for _, o in batch])
        drop: set[int] = set()
        again = [k for k, (_, o) in enumerate(batch) if o.id in known]
        if again:  # stored from another input: the same record is a duplicate, else a conflict
            stored = store.stored_records([batch[k][1].id for k in again])
            for k in again:
                line, o = batch[k]
                prior = stored.get(o.id)
                if prior is not None:
                    drop.add(k)
                    if prior.encode("utf-8") == pairs[k][0]:
                        skipped += 1
                    else:
                        reject(line, "id", CONFLICT, o.id, ConflictError, rejected)
        first: dict[str, int] = {}  # an id given again in this batch: held to its first record
        for k, (line, o) in enumerate(batch):
            if k in drop:
                continue
            j = first.setdefault(o.id, k)
            if j != k:
                drop.add(k)
                if pairs[j][0] == pairs[k][0]:
                    skipped += 1
                else:
                    reject(line, "id", f"already given on line {batch[j][0]} with different "
                           "content; nothing of this one is stored", o.id, ConflictError,
                           rejected)
        if future_tolerance is not None and batch:
            limit = clock() + future_tolerance
            now = (limit - future_tolerance).isoformat(timespec="seconds")
            minutes = future_tolerance.total_seconds() / 60
            for k, (line, o) in enumerate(batch):
                if k in drop:
                    continue
                late = "time" if o.time > limit else "arrival_time" if (
                    o.arrival_time is not None and o.arrival_time > limit) else None
                if late is not None:
                    drop.add(k)
                    reject(line, late,
                           f"{getattr(o, late).isoformat()} is later than the time of receipt "
                           f"({now}) plus the tolerance of {minutes:g} min: a time in the "
                           "future is refused", o.id, ObservationError, rejected)
        if drop:
            keep = [k for k in range(len(batch)) if k not in drop]
            batch, bdigests = [batch[k] for k in keep], [bdigests[k] for k in keep]
            pairs = [pairs[k] for k in keep]
        if aoi is not None and batch:
            keep = []
            for k, ((line, o), out) in enumerate(zip(batch, _outside(aoi, batch), strict=True)):
                if out:
                    field = "lon" if o.lon is not None else "observer_lon"
                    reject(
                        line,
                        field,
                        "outside the agreement's area of interest",
                        o.id,
                        OutsideAreaError,
                        rejected,
                    )
                else:
                    keep.append(k)
            if len(keep) < len(batch):
                batch, bdigests = [batch[k] for k in keep], [bdigests[k] for k in keep]
                pairs = [pairs[k] for k in keep]
        entries = [_ENTRY_HEAD + data + _ENTRY_TAIL for data, _ in pairs]
        if batch:
            check = start_submission_checks(
                store, [o for _, o in batch], messages=[m for _, m in pairs],
                require_signatures=require_signatures)
        else:
            def check() -> list[SignatureError | None]:
                return []
        return _Batch(taken, batch, bdigests, entries, check, rejected, skipped)

    def commit(b: _Batch) -> None:
        """Store a prepared batch once its checks are in (one durable transaction)."""
        report.rejected += b.rejected
        report.duplicates += b.skipped
        items = []
        inputs = []
        for (line, o), digest, entry, err in zip(b.obs, b.digests, b.entries, b.errors(),
                                                 strict=True):
            if err is None:
                items.append((o, entry))
                inputs.append(digest)
            elif sig_policy == "raise":
                raise SignatureError(f"line {line}: {err.message}", field="signature",
                                     line=line, id=o.id)
            else:
                report.rejected.append(Rejection(line, "signature", err.message, o.id))
        links = resubmission_links(store, [o for o, _ in items])
        res = store.add_observations(items, inputs, links)
        report.added += len(res.added)
        report.copies += sum(1 for oid in links if oid not in res.conflicts)
        report.duplicates += len(res.duplicates)
        by_id = {o.id: line for line, o in b.obs}
        for oid in res.conflicts:
            reject(by_id[oid], "id", CONFLICT, oid, ConflictError)
        if progress is not None:
            progress(b.taken)

    def commit_verifying() -> None:
        nonlocal verifying
        if verifying is not None:
            b, verifying = verifying, None
            commit(b)

    def flush() -> None:
        nonlocal verifying
        chunk = list(pending)
        pending.clear()
        cur = prepare(chunk)  # on error, the batch before is still stored (see below)
        commit_verifying()  # store the previous batch while this one verifies
        verifying = cur

    try:
        for line, rec in records:
            if isinstance(rec, Rejection):  # a row the importer could not map (or skipped)
                if rec.deliberate:
                    held.append(rec)
                else:
                    reject(line, rec.field, rec.reason, rec.id, ObservationError, held)
                continue
            pending.append((line, rec))
            if len(pending) >= batch_size:
                flush()
        flush()
    except Exception:
        # Whatever stopped the ingest came after the batch being verified: store it, as
        # it would have been stored before the error without the pipeline (an error of
        # its own, e.g. a signature in raise mode, takes precedence as the earlier one).
        commit_verifying()
        raise
    commit_verifying()
    return report
