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
from truceline.core.record.canonical import entry_bytes
from truceline.errors import ConflictError, ObservationError, OutsideAreaError, SignatureError
from truceline.services.context import load_context
from truceline.services.ports import Store
from truceline.services.record import check_submissions


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


def ingest(
    store: Store,
    records: Iterable[tuple[int, dict[str, Any] | Rejection]],
    *,
    on_invalid: Literal["raise", "skip"] = "raise",
    batch_size: int = 5000,
    progress: Callable[[int], None] | None = None,
    require_signatures: bool = False,
) -> IngestReport:
    """Validate and store (line, record) pairs; see the module docstring for the policy.

    ``require_signatures`` refuses unsigned submissions even from sources without a key
    (the HTTP API always sets it; the CLI's ``--allow-unsigned`` is for public datasets).
    """
    ctx = load_context(store)
    aoi = ctx.geometry.spec.area_of_interest if ctx.geometry is not None else None
    if aoi is not None:
        shapely.prepare(aoi)
    report = IngestReport()
    pending: list[tuple[int, dict[str, Any]]] = []

    def reject(line: int | None, field: str | None, msg: str, oid: str | None, exc: type) -> None:
        if on_invalid == "raise":
            raise exc(msg, field=field, line=line, id=oid)
        report.rejected.append(Rejection(line, field, msg, oid))

    def flush() -> None:
        batch: list[tuple[int, Observation]] = []
        for line, item in validate_records(pending, on_invalid=on_invalid):
            if isinstance(item, Rejection):
                report.rejected.append(item)
            else:
                batch.append((line, item))
        n = len(pending)
        pending.clear()
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
                    )
                else:
                    keep.append((line, o))
            batch = keep
        records = [o.to_record() for _, o in batch]  # once: signatures and entries use it
        errors = check_submissions(store, [o for _, o in batch], records=records,
                                   require_signatures=require_signatures) if batch else []
        items = []
        for (line, o), rec, err in zip(batch, records, errors, strict=True):
            if err is None:
                items.append((o, entry_bytes("observation", rec)))
            elif on_invalid == "raise":
                raise SignatureError(f"line {line}: {err.message}", field="signature",
                                     line=line, id=o.id)
            else:
                report.rejected.append(Rejection(line, "signature", err.message, o.id))
        res = store.add_observations(items)
        report.added += len(res.added)
        report.duplicates += len(res.duplicates)
        by_id = {o.id: line for line, o in batch}
        for oid in res.conflicts:
            reject(
                by_id[oid],
                "id",
                "already stored with different content; nothing changed",
                oid,
                ConflictError,
            )
        if progress is not None:
            progress(n)

    for line, rec in records:
        if isinstance(rec, Rejection):  # a row the importer could not map (or chose to skip)
            if rec.deliberate:
                report.rejected.append(rec)
            else:
                reject(line, rec.field, rec.reason, rec.id, ObservationError)
            continue
        pending.append((line, rec))
        if len(pending) >= batch_size:
            flush()
    flush()
    return report
