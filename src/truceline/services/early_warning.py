"""Early warning: escalation alarms per sector from what the last check stored.

Reads the stored fire incidents (the last check's, so each event counts once however many
monitors reported it) and the monitoring and restriction records coverage is built from;
counts each reporting day's incidents per sector and category in the monitors' units, with the
sector's observed share that day (kind ``fire``, both sides weighted by area); and runs one
chart per sector over its series (:mod:`truceline.core.alarm_sector`), each alarm naming the
category that drove it. ``docs/early_warning.md``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np

from truceline.core.alarm_sector import design_sector, detect_sector
from truceline.core.coverage import Coverage
from truceline.core.coverage_inputs import period_end
from truceline.core.early_warning import (
    ARL0_DAYS,
    BASELINE_DAYS,
    MIN_COVERAGE,
    Alarm,
    Series,
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
    "OTHER",
    "AlarmReport",
    "daily_series",
    "escalation_alarms",
    "other_fire",
    "parse_since",
    "sector_shares",
]

#: The category of every fire count of a sector together, in the monitors' units.
ALL = "all fire"
#: Every fire incident once, whatever its count: the firing decisions, not the rounds. A
#: barrage of 40 rounds is one incident, so this series is far less over-dispersed than the
#: counted rounds and shows a change in how often fire is opened soonest.
INCIDENTS = "fire incidents"
#: A sector's fire in the categories too rare to watch one by one (less than once a day in
#: the baseline), together: all fire less the watched categories.
OTHER = "other fire"
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
    return (0 if c == INCIDENTS else 1 if c == ALL else 3 if c == OTHER else 2, c)


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
    # each sector's categories: its fire incidents, all its fire, and the categories it had
    # at least once a day on average in the baseline; the rarer ones together as "other fire"
    # (so that the sector chart, which leaves all fire out, still sees every round)
    for sec in sectors:
        total = counts.get((sec, ALL))
        if total is None:
            continue
        kept = [
            c
            for (s2, c) in counts
            if s2 == sec and c not in (INCIDENTS, ALL, OTHER) and _daily(counts[(s2, c)], baseline)
        ]
        rest = other_fire(total, [counts[(sec, c)] for c in kept], baseline)
        if rest is not None:
            counts[(sec, OTHER)] = rest
            for day in iso:
                inc_ids = set(ids.get((sec, ALL, day), [])) - {
                    i for c in kept for i in ids.get((sec, c, day), [])
                }
                if inc_ids:
                    ids[(sec, OTHER, day)] = sorted(inc_ids)
    cats = sorted({c for _, c in counts}, key=_category_order)
    series = [
        Series(sec, cat, iso, counts[(sec, cat)], shares[:, k])
        for k, sec in enumerate(sectors)
        for cat in cats
        if (sec, cat) in counts
        and (cat in (INCIDENTS, ALL, OTHER) or _daily(counts[(sec, cat)], baseline))
    ]
    return list(iso), names, series, {k: sorted(v) for k, v in ids.items()}


def other_fire(total: np.ndarray, kept: list[np.ndarray], baseline: int) -> np.ndarray | None:
    """A sector's fire outside its ``kept`` categories, as the series its chart watches in
    their place (the chart leaves all fire out, so this is how it sees every round): when
    it reaches once a day in the baseline, and always when no category is kept, where it is
    all the sector's fire (else a sector of rare categories would have its rounds watched by
    no series). None when there is nothing outside the kept categories."""
    rest = total - sum(kept, np.zeros(len(total)))
    if not rest.any():
        return None
    return rest if not kept or _daily(rest, baseline) else None


def _daily(y: np.ndarray, baseline: int) -> bool:
    """Seen at least once a day on average in the baseline: often enough to watch alone."""
    return bool(y[:baseline].mean() >= 1.0)


def escalation_alarms(
    store: Store,
    *,
    baseline_days: int = BASELINE_DAYS,
    arl0: float = ARL0_DAYS,
    since: date | None = None,
) -> AlarmReport:
    """The alarms of every sector after the first ``baseline_days`` reporting days: one chart
    per sector over its fire incidents and categories at ``arl0`` (days between false alarms
    per sector), each alarm naming the category that drove it.
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
    # the sector chart leaves all fire out: it is the sum of the categories, whose rounds its
    # llr would count twice
    watched = [s for s in series if s.category != ALL]
    by_category: dict[str, list[tuple[np.ndarray, np.ndarray]]] = defaultdict(list)
    by_sector: dict[str, list[Series]] = defaultdict(list)
    for s in watched:
        by_sector[s.sector].append(s)
        if (s.coverage[:baseline_days] >= MIN_COVERAGE).sum() >= 2:
            by_category[s.category].append((s.counts[:baseline_days], s.coverage[:baseline_days]))
    pooled = {k: pooled_dispersion(v) for k, v in by_category.items()}
    rep.dispersion = {k: round(v, 4) for k, v in sorted(pooled.items())}
    for group in by_sector.values():
        try:
            # a thin sector's baseline grows until its own evidence supports the requirement
            design = design_sector(
                [s.counts for s in group],
                group[0].coverage,
                [by_category[s.category] for s in group],
                available=len(days),
                arl0=arl0,
                baseline_days=baseline_days,
                categories=[s.category for s in group],
            )
            if not design.ready:
                rep.series += [
                    {
                        "sector": s.sector,
                        "category": s.category,
                        "skipped": f"the baseline grows to {design.baseline_days} days: "
                        "its counts are too thin to show a doubling in time on fewer",
                    }
                    for s in group
                ]
                continue
            bases, h, alarms = detect_sector(
                group,
                dispersions=design.dispersions,
                dispersion_ses=design.dispersion_ses,
                arl0=arl0,
                baseline_days=design.baseline_days,
                h=design.h,
            )
        except ValidationError as exc:  # e.g. a sector the mission never observed
            rep.series += [
                {"sector": s.sector, "category": s.category, "skipped": exc.message} for s in group
            ]
            continue
        rep.series += [
            {
                "sector": s.sector,
                "category": s.category,
                **base.to_json(),
                "dispersion": round(d, 4),
                "threshold": round(h, 4),
                "arl0_days": arl0,
                "baseline_days": design.baseline_days,
                "alarms": sum(1 for a in alarms if a.category == s.category),
            }
            for s, base, d in zip(group, bases, design.dispersions, strict=True)
        ]
        rep.alarms += [a for a in alarms if since is None or a.day >= since.isoformat()]
    rep.alarms.sort(key=lambda a: (a.day, a.sector, _category_order(a.category)))
    return rep
