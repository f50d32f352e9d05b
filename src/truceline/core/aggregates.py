"""Aggregates in the daily report: counts over an area and a period, listed as published.

An aggregate (kind ``aggregate``, e.g. the OSCE SMM's count of explosions in Donetsk region
over one reporting period) has no point: it cannot be fused, given a sector or a distance to
the line, or attributed. The report lists it apart from the located violations, as counted,
per area and period, with a blank (not a zero) for a category the source did not give, and
never adds it into the located totals (the same explosions may be in both).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from truceline.core.counting import source_of
from truceline.core.observations import Observation
from truceline.core.taxonomy import AGGREGATE_CATEGORIES, Kind


def aggregate_rows(
    observations: Iterable[Observation], start: datetime, end: datetime
) -> list[dict[str, Any]]:
    """One row per (area, period, source report) whose period lies within [start, end).

    A row is ``{"area", "period_start", "period_end", "source", "ref", "counts": {category:
    n}}``, sorted by area and period: ``source`` the dataset or kind of source (never a
    source id: :func:`truceline.core.counting.source_of`), ``ref`` the source's own reference
    (its report, if imported; an outsider's report drops it, like an observation's
    ``dataset_ref``). A longer period (a weekend, a cumulative figure) is not in a day's
    report, whose period it exceeds.
    """
    rows: dict[tuple[str, datetime, datetime, str, str], dict[str, int]] = {}
    for o in observations:
        if o.kind is not Kind.AGGREGATE or o.end_time is None or o.area is None:
            continue
        if not (start <= o.time and o.end_time <= end):
            continue
        key = (o.area, o.time, o.end_time, source_of(o), o.dataset_ref or "")
        counts = rows.setdefault(key, {})
        if o.category is not None and o.quantity is not None:
            counts[o.category] = counts.get(o.category, 0) + int(o.quantity)
    return [
        {"area": a, "period_start": t0, "period_end": t1, "source": src, "ref": ref,
         "counts": {c: counts[c] for c in AGGREGATE_CATEGORIES if c in counts}}
        for (a, t0, t1, src, ref), counts in sorted(rows.items())
    ]


def aggregate_note(
    observations: Iterable[Observation], start: datetime, end: datetime | None
) -> str | None:
    """What a check says of the aggregates overlapping its window: they exist, they are not
    located, so they are evidence about no party (None when there are none). Figures are not
    summed: a day's count and a cumulative one overlap."""
    hits = [o for o in observations if o.kind is Kind.AGGREGATE and o.end_time is not None
            and o.end_time > start and (end is None or o.time < end)]
    if not hits:
        return None
    sources = ", ".join(sorted({source_of(o) for o in hits}))
    return (f"{len(hits)} counts over areas ({sources}) overlap the window; counted, not "
            "located, they are evidence about no party's side")

