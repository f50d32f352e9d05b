"""Early warning: escalation alarms per sector and category from what the last check stored.

Reads the stored fire incidents (the last check's, so each event counts once however many
monitors reported it) and the monitoring and restriction records coverage is built from;
counts each reporting day's incidents per sector and category in the monitors' units, with the
sector's observed share that day (kind ``fire``, both sides weighted by area); and runs the
detector of :mod:`truceline.core.early_warning` on every series. ``docs/early_warning.md``.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np

from truceline.core.coverage import Coverage
from truceline.core.coverage_inputs import period_end
from truceline.core.early_warning import (
    ARL0_DAYS,
    BASELINE_DAYS,
    MIN_COVERAGE,
    Alarm,
    Series,
    detect,
    dispersion_error,
    dispersion_spread,
    pooled_dispersion,
)
from truceline.core.evidence import gather
from truceline.core.incidents import Incident
from truceline.core.reporting import category_of, reporting_period
from truceline.core.taxonomy import Kind
from truceline.errors import ValidationError
from truceline.services.context import load_context
from truceline.services.coverage import load_mission_coverage
from truceline.services.ports import Store

__all__ = [
    "ALL",
    "INCIDENTS",
    "AlarmReport",
    "daily_series",
    "escalation_alarms",
    "parse_since",
    "sector_shares",
]

#: The category of every fire count of a sector together, in the monitors' units.
ALL = "all fire"
#: Every fire incident once, whatever its count: the firing decisions, not the rounds. A
#: barrage of 40 rounds is one incident, so this series is far less over-dispersed than the
#: counted rounds and shows a change in how often fire is opened soonest.
INCIDENTS = "fire incidents"
_FIRE = frozenset({"fire"})


@dataclass
class AlarmReport:
    """The alarms of a store and how they were reached (one entry per series examined)."""

    agreement: str
    days: list[str]
    baseline_days: int
    arl0_days: float
    alarms: list[Alarm] = field(default_factory=list)
    series: list[dict[str, Any]] = field(default_factory=list)
    sector_names: dict[str, str] = field(default_factory=dict)
    #: Incident ids behind each (sector, category, day) count: the drill-down for analysts.
    incidents: dict[tuple[str, str, str], list[str]] = field(default_factory=dict)
    reason: str | None = None
    #: Per category, the variance-to-mean ratio pooled over the sectors' baselines.
    dispersion: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "agreement": self.agreement,
            "first_day": self.days[0] if self.days else None,
            "last_day": self.days[-1] if self.days else None,
            "baseline_days": self.baseline_days,
            "arl0_days_per_sector": self.arl0_days,
            "reason": self.reason,
            "dispersion": self.dispersion,
            "series": self.series,
            "alarms": [self.alarm_json(a) for a in self.alarms],
        }

    def alarm_json(self, a: Alarm) -> dict[str, Any]:
        rec = a.to_record()
        rec["sector_name"] = self.sector_names.get(a.sector, a.sector)
        for row in rec["evidence"]:
            row["incidents"] = self.incidents.get((a.sector, a.category, row["day"]), [])
        return rec


def parse_since(text: str | None) -> date | None:
    """A reporting day (YYYY-MM-DD) to list alarms from; a bad one names ``since``."""
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationError(f"not a date (YYYY-MM-DD): {text!r}", field="since") from None


def _category_order(c: str) -> tuple[int, str]:
    return (0 if c == INCIDENTS else 1 if c == ALL else 2, c)


def sector_shares(
    cov: Coverage | None, start: datetime, end: datetime, sectors: list[str]
) -> dict[str, float]:
    """Each sector's observed share of ``[start, end)`` for fire, both sides by area."""
    out = dict.fromkeys(sectors, 0.0)
    if cov is None:
        return out
    area: dict[str, float] = defaultdict(float)
    seen: dict[str, float] = defaultdict(float)
    for s in cov.by_sector(start, end, _FIRE):
        area[s.sector] += s.area_km2
        seen[s.sector] += s.share * s.area_km2
    for k in sectors:
        if area[k] > 0:
            out[k] = min(1.0, seen[k] / area[k])
    return out


def daily_series(
    store: Store, baseline: int = BASELINE_DAYS
) -> tuple[list[str], dict[str, str], list[Series], dict[tuple[str, str, str], list[str]]]:
    """Per sector and category, the counts and observed shares of every complete reporting
    day from the first to the last one the records speak for; sector names; incident ids."""
    ctx = load_context(store)
    ag, geom = ctx.agreement, ctx.geometry
    g = ag.geography
    if geom is None or g is None or not g.sectors:
        raise ValidationError(
            "the agreement has no sectors of its line to watch", field="geography.sectors"
        )
    sectors = [s.id for s in g.sectors]
    names = {s.id: s.name or s.id for s in g.sectors}
    incidents = [
        i
        for i in (Incident.from_record(r) for r in store.incident_records())
        if i.kind == Kind.FIRE.value
    ]
    mc = load_mission_coverage(store)
    times = [datetime.fromisoformat(i.time) for i in incidents]
    if mc.model is not None and mc.model.as_of is not None:
        times.append(mc.model.as_of - timedelta(seconds=1))
    if not times:
        return [], names, [], {}
    first = period_end(ag, min(times)).astimezone(ag.tz).date()
    last = period_end(ag, max(times)).astimezone(ag.tz).date()
    if mc.model is not None and mc.model.as_of is not None:
        done = period_end(ag, mc.model.as_of).astimezone(ag.tz).date()
        if period_end(ag, mc.model.as_of) > mc.model.as_of:
            done -= timedelta(days=1)  # the period the records stop in is not complete
        last = min(last, done)
    days = [first + timedelta(days=k) for k in range((last - first).days + 1)]
    index = {d: k for k, d in enumerate(days)}
    ev = gather(geom, [], incidents)
    counts: dict[tuple[str, str], np.ndarray] = {}
    ids: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    for inc in incidents:
        row = ev.inc_row.get(inc.id)
        k = int(ev.inc_sector[row]) if row is not None and ev.inc_sector is not None else -1
        if k < 0:
            continue  # no location, or one too uncertain for a sector
        d = period_end(ag, datetime.fromisoformat(inc.time)).astimezone(ag.tz).date()
        if d not in index:
            continue
        for cat, n in ((INCIDENTS, 1), (ALL, inc.count), (category_of(inc), inc.count)):
            arr = counts.setdefault((sectors[k], cat), np.zeros(len(days)))
            arr[index[d]] += n
            ids[(sectors[k], cat, d.isoformat())].append(inc.id)
    shares = np.zeros((len(days), len(sectors)))
    for j, d in enumerate(days):
        s, e = reporting_period(d, ag.tz, ag.reporting_period_start)
        got = sector_shares(mc.model, s, e, sectors)
        shares[j] = [got[k] for k in sectors]
    iso = tuple(d.isoformat() for d in days)
    cats = sorted({c for _, c in counts}, key=_category_order)
    # each sector's categories: its fire incidents, all its fire, and the categories it had
    # at least once a day on average in the baseline (a rarer one still counts in all fire;
    # its own series would have little power and dilute the sector's false-alarm budget)
    series = [
        Series(sec, cat, iso, counts[(sec, cat)], shares[:, k])
        for k, sec in enumerate(sectors)
        for cat in cats
        if (sec, cat) in counts
        and (cat in (INCIDENTS, ALL) or counts[(sec, cat)][:baseline].mean() >= 1.0)
    ]
    return list(iso), names, series, {k: sorted(v) for k, v in ids.items()}


def escalation_alarms(
    store: Store,
    *,
    baseline_days: int = BASELINE_DAYS,
    arl0: float = ARL0_DAYS,
    since: date | None = None,
) -> AlarmReport:
    """The alarms of every sector and category after the first ``baseline_days`` reporting
    days; each sector's series share ``arl0`` (days between false alarms per sector).
    ``since``: only alarms raised on or after that day."""
    if baseline_days < 7:
        raise ValidationError("must be at least 7 days", field="baseline_days")
    if not arl0 >= 30:
        raise ValidationError("must be at least 30 days", field="arl0")
    ctx = load_context(store)
    days, names, series, ids = daily_series(store, baseline_days)
    rep = AlarmReport(
        ctx.agreement.id, days, baseline_days, arl0, sector_names=names, incidents=ids
    )
    if len(days) <= baseline_days:
        rep.reason = (
            f"{len(days)} complete reporting days; the baseline needs "
            f"{baseline_days} and the watch at least one more"
        )
        return rep
    per_sector: dict[str, int] = defaultdict(int)
    by_category: dict[str, list[tuple[np.ndarray, np.ndarray]]] = defaultdict(list)
    for s in series:
        per_sector[s.sector] += 1
        if (s.coverage[:baseline_days] >= MIN_COVERAGE).sum() >= 2:
            by_category[s.category].append((s.counts[:baseline_days], s.coverage[:baseline_days]))
    pooled = {k: pooled_dispersion(v) for k, v in by_category.items()}
    # the pooled dispersion's own error and the sectors' spread around it (random effect)
    pooled_se = {
        k: math.hypot(dispersion_error(v), dispersion_spread(v)) for k, v in by_category.items()
    }
    rep.dispersion = {k: round(v, 4) for k, v in sorted(pooled.items())}
    for s in series:
        target = arl0 * per_sector[s.sector]
        try:
            base, h, alarms = detect(
                s,
                arl0=target,
                baseline_days=baseline_days,
                dispersion=pooled.get(s.category),
                dispersion_se=pooled_se.get(s.category, 0.0),
            )
        except ValidationError as exc:  # e.g. a sector the mission never observed
            rep.series.append({"sector": s.sector, "category": s.category, "skipped": exc.message})
            continue
        rep.series.append(
            {
                "sector": s.sector,
                "category": s.category,
                **base.to_json(),
                "threshold": round(h, 4),
                "arl0_days": target,
                "alarms": len(alarms),
            }
        )
        rep.alarms += [a for a in alarms if since is None or a.day >= since.isoformat()]
    rep.alarms.sort(key=lambda a: (a.day, a.sector, _category_order(a.category)))
    return rep
