"""The coverage model's inputs, read from the signed records in the store.

Coverage is derived from observations, never invented: ``monitoring`` records say which asset
(``source_id``) of which type stood where and observed (``asset_status: active``) or could not
(``down``) over ``[time, end_time)``; ``restriction`` records stop the restricted source from
the restriction's time to its ``end_time``, or else to the end of its reporting period (the
monitors' day), and with ``denied_radius_m`` deny the area around the place to every asset.
See ``docs/coverage.md``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import numpy as np

from truceline.core.agreements import Agreement
from truceline.core.classify import CompiledGeometry
from truceline.core.coverage import Coverage, build_coverage
from truceline.core.coverage_footprints import ASSET_TYPES, Assets, CoverageParams
from truceline.core.coverage_time import DeniedAreas, Intervals, to_ns
from truceline.core.observations import Observation
from truceline.core.taxonomy import AssetStatus, Kind

__all__ = ["coverage_from_observations", "has_monitoring", "period_end", "period_start"]

_OPEN = int(np.iinfo(np.int64).max)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ACTIVE, _DOWN = AssetStatus.ACTIVE, AssetStatus.DOWN


def period_end(agreement: Agreement, t: datetime) -> datetime:
    """The end of the reporting period (e.g. 19:30 local) that ``t`` falls in."""
    local = t.astimezone(agreement.tz)
    end = datetime.combine(local.date(), agreement.reporting_period_start, tzinfo=agreement.tz)
    if end <= local:
        end = datetime.combine(local.date() + timedelta(days=1),
                               agreement.reporting_period_start, tzinfo=agreement.tz)
    return end


def period_start(agreement: Agreement, t: datetime) -> datetime:
    """The start of the reporting period ``t`` falls in (a period boundary is its own): the
    end of the last period that has ended by ``t``."""
    end = period_end(agreement, t).astimezone(agreement.tz)
    return datetime.combine(end.date() - timedelta(days=1), agreement.reporting_period_start,
                            tzinfo=agreement.tz)


def has_monitoring(observations: Sequence[Observation]) -> bool:
    return any(o.kind is Kind.MONITORING for o in observations)


def coverage_from_observations(
    geom: CompiledGeometry,
    agreement: Agreement,
    observations: Sequence[Observation],
    *,
    as_of: datetime | None = None,
    cell_m: float = 1_000.0,
    params: CoverageParams | None = None,
) -> Coverage:
    """Build the coverage model from the ``monitoring`` and ``restriction`` observations.

    ``as_of`` (default: the latest ``time`` or ``end_time`` of the records) is what an open
    window ends at.
    """
    mon = [o for o in observations if o.kind is Kind.MONITORING]
    rows: dict[tuple[object, ...], int] = {}
    rows_of: dict[str, list[int]] = {}
    act_a, act_s, act_e = [], [], []
    downs: list[tuple[str, int, int]] = []
    for o in mon:
        s = to_ns(o.time)
        e = to_ns(o.end_time) if o.end_time is not None else _OPEN
        if o.asset_status is _DOWN:
            downs.append((o.source_id, s, e))
            continue
        assert o.asset_type is not None
        key = (o.source_id, ASSET_TYPES.index(o.asset_type.value), o.observer_lon,
               o.observer_lat, o.facing_deg, o.fov_deg, o.range_m)
        r = rows.setdefault(key, len(rows))
        act_a.append(r)
        act_s.append(s)
        act_e.append(e)
    for o in observations:
        if o.kind is not Kind.RESTRICTION:
            continue
        end = o.end_time or period_end(agreement, o.time)
        downs.append((o.source_id, to_ns(o.time), to_ns(end)))
    keys = list(rows)
    for r, k in enumerate(keys):
        rows_of.setdefault(str(k[0]), []).append(r)

    def col(i: int) -> np.ndarray:
        return np.array([np.nan if k[i] is None else k[i] for k in keys], float)

    assets = Assets.of([str(k[0]) for k in keys], [k[1] for k in keys],
                       col(2), col(3), col(4), col(5), col(6))
    d_a, d_s, d_e = [], [], []
    for sid, s, e in downs:
        for r in rows_of.get(sid, ()):
            d_a.append(r)
            d_s.append(s)
            d_e.append(e)
    den = [o for o in observations
           if o.kind is Kind.RESTRICTION and o.denied_radius_m is not None
           and (o.lon is not None or o.observer_lon is not None)]
    denied = DeniedAreas(
        np.array([o.lon if o.lon is not None else o.observer_lon for o in den], float),
        np.array([o.lat if o.lat is not None else o.observer_lat for o in den], float),
        np.array([o.denied_radius_m for o in den], float),
        np.array([to_ns(o.time) for o in den], np.int64),
        np.array([to_ns(o.end_time or period_end(agreement, o.time)) for o in den], np.int64),
    )
    if as_of is None and observations:  # the latest time the records speak for
        as_of = max(max(o.time for o in observations),
                    max((o.end_time for o in observations if o.end_time), default=_EPOCH))
    return build_coverage(geom, assets, Intervals.of(act_a, act_s, act_e),
                          Intervals.of(d_a, d_s, d_e), denied, cell_m=cell_m, params=params,
                          as_of=as_of)
