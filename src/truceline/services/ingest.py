"""Ingest: validate observations at the boundary and store them, idempotently and durably.

A bad record never takes its valid neighbours down with it: in ``skip`` mode it becomes a
:class:`Rejection` (line, field, reason) and the rest go on; in ``raise`` mode nothing from the
failing record onwards is stored (records before it may be; ingest is idempotent, so fix the file
and run it again) and the error names the line. A record whose id is stored with other content is
refused and the stored one kept. Geometry outside the agreement's area of interest is rejected,
never silently used. Signatures follow :mod:`truceline.services.record`'s submission policy; a
submission whose signature fails is rejected (field ``signature``) and nothing of it is stored.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import shapely

from truceline.core.observations import Observation, Rejection, validate_records
from truceline.errors import ConflictError, ObservationError, OutsideAreaError, SignatureError
from truceline.services.context import AgreementContext, load_context
from truceline.services.ports import Store
from truceline.services.record import start_submission_checks
from truceline.services.submissions import submission_messages


@dataclass
class IngestReport:
    added: int = 0
    duplicates: int = 0
    rejected: list[Rejection] = field(default_factory=list)

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


#: An observation's entry is its canonical record inside ``{"body": ..., "type": ...}``.
_ENTRY_HEAD, _ENTRY_TAIL = b'{"body":', b',"type":"observation"}'


@dataclass
class _Batch:
    """A validated batch whose signatures are being verified (worker processes) until stored."""

    taken: int  # raw records it came from, for ``progress``
    obs: list[tuple[int, Observation]]
    entries: list[bytes]
    check: Callable[[], list[SignatureError | None]]
    #: Rejections reported before its own signature checks (in the order a one-stage
    #: ingest reports them): rows skipped while it filled, then its invalid records.
    rejected: list[Rejection]
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
) -> IngestReport:
    """Validate and store (line, record) pairs; see the module docstring for the policy.

    ``require_signatures`` refuses unsigned submissions even from sources without a key
    (the HTTP API always sets it; the CLI's ``--allow-unsigned`` is for public datasets).
    ``on_bad_signature`` (default: ``on_invalid``) lets a caller refuse a batch with a bad
    signature even in ``skip`` mode (the HTTP API does: such a request stores nothing).
    ``context`` is the store's agreement context when the caller keeps it (a server between
    requests); without it ingest loads it from the store.

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
            raise exc(msg, field=field, line=line, id=oid)
        (report.rejected if into is None else into).append(Rejection(line, field, msg, oid))

    def prepare(chunk: list[tuple[int, dict[str, Any]]]) -> _Batch:
        """Validate, check the area, build canonical bytes, start the signature checks."""
        nonlocal held
        rejected, held = held, []
        batch: list[tuple[int, Observation]] = []
        for line, item in validate_records(chunk, on_invalid=on_invalid):
            if isinstance(item, Rejection):
                rejected.append(item)
            else:
                batch.append((line, item))
        if aoi is not None and batch:
            keep = []
            for (line, o), out in zip(batch, _outside(aoi, batch), strict=True):
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
                    keep.append((line, o))
            batch = keep
        # Canonical bytes once per observation: the signed message and the entry (whose
        # body the store keeps as the record's text) are cut from the same bytes.
        pairs = submission_messages([o.to_record() for _, o in batch])
        entries = [_ENTRY_HEAD + data + _ENTRY_TAIL for data, _ in pairs]
        if batch:
            check = start_submission_checks(
                store, [o for _, o in batch], messages=[m for _, m in pairs],
                require_signatures=require_signatures)
        else:
            def check() -> list[SignatureError | None]:
                return []
        return _Batch(len(chunk), batch, entries, check, rejected)

    def commit(b: _Batch) -> None:
        """Store a prepared batch once its checks are in (one durable transaction)."""
        report.rejected += b.rejected
        items = []
        for (line, o), entry, err in zip(b.obs, b.entries, b.errors(), strict=True):
            if err is None:
                items.append((o, entry))
            elif sig_policy == "raise":
                raise SignatureError(f"line {line}: {err.message}", field="signature",
                                     line=line, id=o.id)
            else:
                report.rejected.append(Rejection(line, "signature", err.message, o.id))
        res = store.add_observations(items)
        report.added += len(res.added)
        report.duplicates += len(res.duplicates)
        by_id = {o.id: line for line, o in b.obs}
        for oid in res.conflicts:
            reject(
                by_id[oid],
                "id",
                "already stored with different content; nothing changed",
                oid,
                ConflictError,
            )
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
