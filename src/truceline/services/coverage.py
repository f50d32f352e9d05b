"""Coverage: where and when the mission could observe, for a window and kinds of event.

The model is built from the record's ``monitoring`` and ``restriction`` observations
(:func:`truceline.core.coverage_inputs.coverage_from_observations`, docs/coverage.md); this
service parses a request's window and kinds, and answers with the shares of the line, of each
party's side and of each sector, and the gaps. The answer's ``assets`` (ids, positions, hours)
is for the mission only: adapters drop it for everyone else.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np

from truceline.core.coverage import COVERAGE_KINDS, Coverage
from truceline.core.coverage_inputs import period_end, period_start
from truceline.core.coverage_map import gap_shapes
from truceline.core.observations import Observation
from truceline.core.reporting import reporting_period, utc_iso
from truceline.core.taxonomy import AssetStatus, Kind
from truceline.errors import ForbiddenError, ValidationError
from truceline.services.check import derive_coverage
from truceline.services.context import AgreementContext, load_context
from truceline.services.ports import Store

__all__ = [
    "DEFAULT_KINDS",
    "MissionCoverage",
    "coverage_answer",
    "gap_geometries",
    "load_mission_coverage",
    "parse_day",
    "parse_kinds",
    "parse_time",
    "period_ended",
]

DEFAULT_KINDS = frozenset({"fire"})
#: Times the model can sweep (UTC nanoseconds in int64 end in 2262).
YEARS = (1900, 2200)


@dataclass(frozen=True)
class MissionCoverage:
    """The coverage model of the record (None: no monitoring assets in it) and its inputs."""

    ctx: AgreementContext
    model: Coverage | None
    monitoring: tuple[Observation, ...]


def load_mission_coverage(store: Store) -> MissionCoverage:
    """Build the model from the stored monitoring and restriction records (one read)."""
    ctx = load_context(store)
    obs = store.observations([Kind.MONITORING.value, Kind.RESTRICTION.value])
    mon = tuple(o for o in obs if o.kind is Kind.MONITORING)
    return MissionCoverage(ctx, derive_coverage(ctx, obs), mon)


def parse_kinds(text: str | None) -> frozenset[str]:
    """``"fire,presence"`` -> the kinds (default ``fire``); unknown kinds name the field."""
    if text is None or not text.strip():
        return DEFAULT_KINDS
    kinds = frozenset(k.strip() for k in text.split(",") if k.strip())
    unknown = sorted(kinds - set(COVERAGE_KINDS))
    if unknown:
        raise ValidationError(f"unknown kind {unknown[0]!r}; known: {', '.join(COVERAGE_KINDS)}",
                              field="kinds")
    return kinds


def parse_time(text: str | None, field: str) -> datetime | None:
    """An RFC 3339 time with its offset (a naive time is refused, not guessed)."""
    if text is None:
        return None
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationError(f"not an RFC 3339 date-time: {text!r}", field=field) from None
    if t.utcoffset() is None:
        raise ValidationError("needs a UTC offset (e.g. ...Z or +02:00)", field=field)
    _in_years(t.year, field)
    return t


def parse_day(text: str | None) -> date | None:
    """A reporting period by the date it ends on (YYYY-MM-DD, local)."""
    if text is None:
        return None
    try:
        d = date.fromisoformat(text)
    except ValueError:
        raise ValidationError(f"not a date (YYYY-MM-DD): {text!r}", field="day") from None
    _in_years(d.year, "day")
    return d


def _in_years(year: int, field: str) -> None:
    if not YEARS[0] <= year < YEARS[1]:
        raise ValidationError(f"must be in the years {YEARS[0]}-{YEARS[1] - 1}", field=field)


def _window(mc: MissionCoverage, start: datetime | None, end: datetime | None,
            day: date | None) -> tuple[datetime, datetime] | None:
    """The window asked for; None when none was given and the record speaks for no time."""
    a = mc.ctx.agreement
    if day is not None:
        if start is not None or end is not None:
            raise ValidationError("give either day or start/end", field="day")
        return reporting_period(day, a.tz, a.reporting_period_start)
    if end is None:  # the latest time the records speak for, else the end of start's period
        as_of = mc.model.as_of if mc.model is not None else None
        end = as_of or (period_end(a, start) if start is not None else None)
        if end is None:
            return None
    if start is None:
        start = end - timedelta(days=1)
    if end <= start:
        raise ValidationError("must be after start", field="end")
    return start, end


def _whole_periods(mc: MissionCoverage, start: datetime | None, end: datetime | None,
                   day: date | None) -> tuple[datetime, datetime] | None:
    """The window for a reader outside the mission: whole reporting periods that have ended
    in the record (its ``as_of``). Shares of finer windows, or of a period still filling
    (asked again as records arrive), sliced by sector and gap, would trace the monitors'
    posts and patrols hour by hour; a period is what the daily report publishes. Default:
    the last period that has ended. Anything else is a ForbiddenError naming the field."""
    a = mc.ctx.agreement
    if day is not None and (start is not None or end is not None):
        raise ValidationError("give either day or start/end", field="day")
    if start is not None and end is not None and end <= start:  # bad input before the role
        raise ValidationError("must be after start", field="end")
    when = f"{a.reporting_period_start:%H:%M} {a.timezone}"
    for t, field in ((start, "start"), (end, "end")):
        if t is not None and period_start(a, t) != t:
            raise ForbiddenError(
                f"outside the mission, coverage is given over whole reporting periods only: "
                f"{field} must be a period boundary ({when}), or ask by day", field=field)
    field = "day" if day is not None else "end" if end is not None else "start"
    if day is not None:
        start, end = reporting_period(day, a.tz, a.reporting_period_start)
    as_of = mc.model.as_of if mc.model is not None else None
    if as_of is None:  # no monitoring records: coverage unknown, nothing to trace
        return _window(mc, start, end, None)
    last = period_start(a, as_of)  # the end of the last period the record speaks for
    end = last if end is None else end
    start = period_start(a, end - timedelta(microseconds=1)) if start is None else start
    if end > last or start >= last:
        raise ForbiddenError(
            "outside the mission, coverage is given only for reporting periods that have "
            f"ended in the record (the last ended {utc_iso(last)})", field=field)
    if end <= start:
        raise ValidationError("must be after start", field="end")
    return start, end


def period_ended(store: Store, end: datetime) -> bool:
    """Whether the record speaks for the time up to ``end`` (a reporting period's end): some
    monitoring or restriction record begins or ends at or after it, so the coverage model's
    ``as_of`` reaches it. A period's coverage goes outside the mission only then (as
    :func:`_whole_periods`); two small reads, not the model."""
    kinds = [Kind.MONITORING.value, Kind.RESTRICTION.value]
    if store.observations(kinds, start=end, limit=1):
        return True
    last = store.observations_reaching(kinds, end - timedelta(microseconds=1), end)
    return any(o.end_time is not None and o.end_time >= end for o in last)


def _assets(mc: MissionCoverage, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """The monitoring records that overlap the window: which asset, where, when, up or down."""
    out = []
    for o in mc.monitoring:
        if o.time >= end or (o.end_time is not None and o.end_time <= start):
            continue
        out.append({
            "source_id": o.source_id, "asset_type": o.asset_type.value if o.asset_type else None,
            "asset_status": (o.asset_status or AssetStatus.ACTIVE).value,
            "time": utc_iso(o.time), "end_time": utc_iso(o.end_time) if o.end_time else None,
            "lon": o.observer_lon, "lat": o.observer_lat, "facing_deg": o.facing_deg,
            "fov_deg": o.fov_deg, "range_m": o.range_m,
        })
    return sorted(out, key=lambda r: (r["source_id"], r["time"]))


def coverage_answer(mc: MissionCoverage, *, start: datetime | None = None,
                    end: datetime | None = None, day: date | None = None,
                    kinds: frozenset[str] = DEFAULT_KINDS, below: float = 0.5,
                    whole_periods: bool = False) -> dict[str, Any]:
    """Shares of the line, per party and per sector, and the gaps below ``below`` in the
    window (``day``: the reporting period ending on that day; default: the last 24 h the
    records speak for; ``whole_periods``: as :func:`_whole_periods`, for outsiders).
    ``assets`` lists the mission's monitoring records in the window: the mission's own
    information, which adapters keep from outsiders."""
    if not 0.0 <= below <= 1.0 or not np.isfinite(below):
        raise ValidationError("must be a share between 0 and 1", field="below")
    window = (_whole_periods if whole_periods else _window)(mc, start, end, day)
    a = mc.ctx.agreement
    head: dict[str, Any] = {
        "agreement": a.id, "version": a.version,
        "start": utc_iso(window[0]) if window else None,
        "end": utc_iso(window[1]) if window else None,
        "kinds": sorted(kinds), "below": below, "min_coverage": a.min_coverage,
    }
    if mc.model is None or window is None:
        why = ("the agreement has no geography" if mc.ctx.geometry is None
               else "the record holds no monitoring assets")
        return {**head, "assessed": False, "reason": f"coverage unknown: {why}",
                "line": None, "band_km": None, "as_of": None, "line_share": None,
                "parties": {}, "sectors": [], "gaps": [], "assets": []}
    cov, (s, e) = mc.model, window
    summary = cov.summary(s, e, kinds, below=below)
    summary.pop("kinds", None)
    as_of = cov.as_of
    if whole_periods and as_of is not None:
        # The latest time the records speak for is the latest end of a post's or patrol's
        # hours (committed in the log): outside the mission, the last period that has ended.
        as_of = period_start(a, as_of)
    return {**head, "assessed": True, "reason": None, "line": cov.grid.line,
            "as_of": utc_iso(as_of) if as_of else None, **summary,
            "assets": _assets(mc, s, e)}


def gap_geometries(mc: MissionCoverage, *, start: datetime | None = None,
                   end: datetime | None = None, day: date | None = None,
                   kinds: frozenset[str] = DEFAULT_KINDS, below: float = 0.5,
                   whole_periods: bool = False) -> list[dict[str, Any]]:
    """The gaps of the window (as :func:`coverage_answer`) with their geometry in lon/lat:
    ``stretch`` (the line between the gap's chainages) and ``area`` (the party's side of the
    band there), GeoJSON-style, plus the window and kinds. No asset positions."""
    window = (_whole_periods if whole_periods else _window)(mc, start, end, day)
    if mc.model is None or mc.ctx.geometry is None or window is None:
        return []
    s, e = window
    gaps = mc.model.gaps(s, e, kinds, below=below)
    return [{**g.to_json(), "start": utc_iso(s), "end": utc_iso(e), "kinds": sorted(kinds),
             "below": below} for g in gap_shapes(mc.ctx.geometry, mc.model, gaps)]
