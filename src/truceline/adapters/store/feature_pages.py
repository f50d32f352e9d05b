"""Observations a page at a time for feature APIs, by keyset on the append order ``seq``.

Why: GIS clients (GDAL, QGIS) read a collection by following ``next`` links. Building the
whole collection for every page made page k cost what the whole read does (GDAL took ~2 s a
page at 60k observations). A keyset page, ``seq > cursor ORDER BY seq LIMIT n``, walks the
primary key on SQLite and PostgreSQL alike, so the last page costs what the first does, and
``seq`` never changes once written (observations are only appended), so a reader paging while
new data arrives sees each observation at most once.

Filters are pushed into the same statement: source (the role's own), a CRS84 box on the
event location (ends included; a box whose west edge is east of its east edge crosses the
antimeridian), and a time interval (ends included). Records are returned as stored (the
canonical JSON of :meth:`Observation.to_record`), so no model object is built per row.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from truceline.adapters.store.schema import time_text
from truceline.adapters.store.sql import SQLStore


@dataclass(frozen=True)
class ObservationFilter:
    """What a page is drawn from: ``None`` means no condition."""

    source_id: str | None = None
    bbox: tuple[float, float, float, float] | None = None  # CRS84: west, south, east, north
    start: datetime | None = None  # included
    end: datetime | None = None  # included


def _where(f: ObservationFilter, after: int | None) -> tuple[str, list[Any]]:
    where: list[str] = []
    args: list[Any] = []
    if after is not None:
        where.append("seq > ?")
        args.append(after)
    if f.source_id is not None:
        where.append("source_id = ?")
        args.append(f.source_id)
    if f.bbox is not None:
        w, s, e, n = f.bbox
        where.append("lat >= ? AND lat <= ?")
        args += [s, n]
        where.append("lon >= ? AND lon <= ?" if w <= e else "(lon >= ? OR lon <= ?)")
        args += [w, e]
    if f.start is not None:
        where.append("time >= ?")
        args.append(time_text(f.start))
    if f.end is not None:
        where.append("time <= ?")
        args.append(time_text(f.end))
    return (" WHERE " + " AND ".join(where) if where else ""), args


def observation_page(
    store: SQLStore, f: ObservationFilter, after: int | None, limit: int
) -> list[tuple[int, dict[str, Any]]]:
    """Up to ``limit`` observations matching ``f`` with ``seq`` above ``after``, as
    ``(seq, record)`` in ``seq`` order; fewer than ``limit`` means the last page."""
    where, args = _where(f, after)
    rows = store._all(
        f"SELECT seq, record FROM observations{where} ORDER BY seq LIMIT {int(limit)}", args
    )
    return [(int(seq), json.loads(rec)) for seq, rec in rows]


def count_observations_matching(store: SQLStore, f: ObservationFilter) -> int:
    """How many observations match ``f`` (one indexed or sequential count, no rows read)."""
    where, args = _where(f, None)
    return int(store._one(f"SELECT count(*) FROM observations{where}", args)[0])


def observation_extent(
    store: SQLStore, source_id: str | None
) -> tuple[tuple[float, float, float, float] | None, tuple[str, str] | None]:
    """The CRS84 box of the located observations and their first and last stored times
    (fixed-width UTC text), in one aggregate; ``None`` for what there is none of."""
    where, args = _where(ObservationFilter(source_id=source_id), None)
    row = store._one(
        "SELECT min(lon), min(lat), max(lon), max(lat), min(time), max(time) "
        f"FROM observations{where}",
        args,
    )
    box = None if row[0] is None else (float(row[0]), float(row[1]), float(row[2]), float(row[3]))
    times = None if row[4] is None else (str(row[4]), str(row[5]))
    return box, times


__all__ = [
    "ObservationFilter",
    "count_observations_matching",
    "observation_extent",
    "observation_page",
]
