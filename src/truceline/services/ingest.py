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

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

import numpy as np
import shapely

from truceline.core.observations import Observation, Rejection, is_text
from truceline.core.record.canonical import entry_bytes
from truceline.core.resubmissions import candidate_windows, duplicates
from truceline.errors import ConflictError, ObservationError, OutsideAreaError, SignatureError
from truceline.services.context import AgreementContext, load_context
from truceline.services.ingest_prepare import (
    Invalid,
    Keys,
    PreparedBatch,
    PreparedObservation,
    input_digest,
    prepare_chunk,
    start_prepare,
)
from truceline.services.ports import Clock, Store, system_clock
from truceline.services.submissions import source_keys

__all__ = ["IngestReport", "ingest", "input_digest", "resubmission_links"]


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


def _outside(aoi: Any, batch: Sequence[PreparedObservation]) -> list[bool]:
    """For each observation: is its event or observer position outside the area of interest?"""
    flags = np.zeros(len(batch), dtype=bool)
    for lon_f, lat_f in (("lon", "lat"), ("observer_lon", "observer_lat")):
        lon = np.array(
            [getattr(o, lon_f) if getattr(o, lon_f) is not None else np.nan for o in batch]
        )
        lat = np.array(
            [getattr(o, lat_f) if getattr(o, lat_f) is not None else np.nan for o in batch]
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
    return _links(store.duplicate_candidates(candidate_windows(obs)), lambda: obs)


def _links(rows: list[tuple[str, Observation | None, str | None]],
           obs: Callable[[], list[Observation]], found: dict[str, str] | None = None
           ) -> dict[str, tuple[str, bytes]]:
    """:func:`resubmission_links` given the stored candidates ``rows``; ``found``: the copies
    among ``obs`` when they are known already (only used when ``rows`` is empty)."""
    known = {i: d for i, _, d in rows if d is not None}
    if rows or found is None:
        found = duplicates([*(o for _, o, _ in rows if o is not None), *obs()], known=known)
    out = {}
    for oid, orig in found.items():
        if oid in known and known[oid] == orig:
            continue  # stored so already
        body = {"subject": "observation", "observation_id": oid, "status": "duplicate",
                "duplicate_of": orig}
        out[oid] = (orig, entry_bytes("status_change", body))
    return out


#: Default for ``future_tolerance`` (the ``future_tolerance_minutes`` setting's default).
FUTURE_TOLERANCE = timedelta(minutes=60)

CONFLICT = "already stored with different content; nothing changed"


@dataclass
class _Batch:
    """A batch being prepared (worker processes) until stored."""

    taken: int  # raw records it came from, for ``progress``
    prepared: Callable[[], PreparedBatch]  # waits for the workers
    #: Rejections reported before its own (in the order a one-stage ingest reports them):
    #: rows skipped while it filled.
    rejected: list[Rejection]
    skipped: int  # already stored from the same input
    known: frozenset[str]  # ids stored from another input: compared, not stored again
    chunk: list[tuple[int, dict[str, Any]]]  # what was sent to the workers
    keys: Keys  # its sources' keys
    limit: datetime | None  # the time of receipt plus the tolerance


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

    Batches flow through a pipeline: batch k+1 is prepared (validated, encoded, committed
    and its signatures verified: :mod:`truceline.services.ingest_prepare`) in worker
    processes while this thread applies the rules that read the store to batch k and writes
    it (one durable commit). Batches are still stored strictly in order, each only after
    all of its checks, and an error stops everything from the failing record onwards
    exactly as it would without the overlap (the earlier batch's error first). Batches are
    small (1,000) so that the pipeline fills and drains quickly; a commit per 1,000 costs
    no more CPU than one per 5,000.
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
        """Skip what is stored from the same input; start the others' preparation (validation,
        encoding, commitments, signatures) in the worker processes."""
        nonlocal held
        rejected, held = held, []
        taken = len(chunk)
        ids = [rec.get("id") for _, rec in chunk]
        known = store.stored_inputs(sorted({i for i in ids if type(i) is str and is_text(i)}))
        skipped = 0
        if known:  # stored from the same input: nothing to validate or verify again
            fresh = [k for k, (i, (_, rec)) in enumerate(zip(ids, chunk, strict=True))
                     if type(i) is not str or i not in known
                     or (d := input_digest(rec)) is None or known[i] != d]
            skipped = len(chunk) - len(fresh)
            chunk = [chunk[k] for k in fresh]
        again = frozenset(i for _, rec in chunk if type(i := rec.get("id")) is str and i in known)
        sources = {s for _, rec in chunk if type(s := rec.get("source_id")) is str}
        keys = source_keys(store, sources) if chunk else {}
        limit = None if future_tolerance is None or not chunk else clock() + future_tolerance
        return _Batch(taken, start_prepare(chunk, keys, require_signatures, again), rejected,
                      skipped, again, chunk, keys, limit)

    def commit(b: _Batch) -> None:
        """Apply to a prepared batch, once its workers are done, the rules that read the
        store (in a one-stage ingest's order, with its errors), and store it (one durable
        transaction)."""
        got = b.prepared()
        report.rejected += b.rejected
        report.duplicates += b.skipped
        batch: list[PreparedObservation] = []
        for item in got.items:
            if isinstance(item, Invalid):
                if on_invalid == "raise":
                    raise item.exception()
                report.rejected.append(item.rejection())
            else:
                batch.append(item)
        drop: set[int] = set()
        again = [k for k, p in enumerate(batch) if not p.fresh]
        if again:  # stored from another input: the same record is a duplicate, else a conflict
            stored = store.stored_records([batch[k].id for k in again])
            for k in again:
                p = batch[k]
                prior = stored.get(p.id)
                if prior is None:  # not stored after all: prepared here as a new one
                    rec = next(r for line, r in b.chunk if line == p.line)
                    (fresh, ), _, _ = prepare_chunk([(p.line, rec)], b.keys,
                                                    require_signatures)
                    assert isinstance(fresh, PreparedObservation)  # it validated just now
                    batch[k] = fresh
                    continue
                drop.add(k)
                if prior.encode("utf-8") == p.record:
                    report.duplicates += 1
                else:
                    reject(p.line, "id", CONFLICT, p.id, ConflictError)
        first: dict[str, int] = {}  # an id given again in this batch: held to its first record
        for k, p in enumerate(batch):
            if k in drop:
                continue
            j = first.setdefault(p.id, k)
            if j != k:
                drop.add(k)
                if batch[j].record == p.record:
                    report.duplicates += 1
                else:
                    reject(p.line, "id", f"already given on line {batch[j].line} with different "
                           "content; nothing of this one is stored", p.id, ConflictError)
        if b.limit is not None and future_tolerance is not None:
            now = (b.limit - future_tolerance).isoformat(timespec="seconds")
            minutes = future_tolerance.total_seconds() / 60
            for k, p in enumerate(batch):
                if k in drop:
                    continue
                late = "time" if p.time > b.limit else "arrival_time" if (
                    p.arrival_time is not None and p.arrival_time > b.limit) else None
                if late is not None:
                    drop.add(k)
                    reject(p.line, late,
                           f"{getattr(p, late).isoformat()} is later than the time of receipt "
                           f"({now}) plus the tolerance of {minutes:g} min: a time in the "
                           "future is refused", p.id, ObservationError)
        if drop:
            batch = [p for k, p in enumerate(batch) if k not in drop]
        if aoi is not None and batch:
            keep = []
            for p, out in zip(batch, _outside(aoi, batch), strict=True):
                if out:
                    field = "lon" if p.lon is not None else "observer_lon"
                    reject(p.line, field, "outside the agreement's area of interest", p.id,
                           OutsideAreaError)
                else:
                    keep.append(p)
            batch = keep
        items: list[tuple[PreparedObservation, bytes]] = []
        inputs = []
        final = []
        for p in batch:
            if p.sig_error is None:
                items.append((p, p.entry()))
                inputs.append(p.digest)
                final.append(p)
            elif sig_policy == "raise":
                raise SignatureError(f"line {p.line}: {p.sig_error}", field="signature",
                                     line=p.line, id=p.id)
            else:
                report.rejected.append(Rejection(p.line, "signature", p.sig_error, p.id))
        links = _links(store.duplicate_candidates(candidate_windows(final)),
                       lambda: [p.observation() for p in final],
                       got.copies_of(final)) if final else {}
        res = store.add_observations(items, inputs, links)
        report.added += len(res.added)
        report.copies += sum(1 for oid in links if oid not in res.conflicts)
        report.duplicates += len(res.duplicates)
        by_id = {p.id: p.line for p in batch}
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
