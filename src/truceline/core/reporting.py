"""The daily report's figures, computed from the data by rules in code (not by people).

Reporting period: from the agreement's reporting time (19:30 local by default, as the OSCE SMM
counted) on the previous day to the same time on the report's date, in local time with DST.
Every explosion, projectile in flight, muzzle flash, illumination flare and burst or shot counts
once; a fused incident counts once however many monitors reported it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from weakref import WeakKeyDictionary
from zoneinfo import ZoneInfo

import shapely
from shapely.geometry.base import BaseGeometry

from truceline.core.agreements import Agreement
from truceline.core.classify import CompiledGeometry
from truceline.core.counting import ReportFacts, incident_records
from truceline.core.coverage_map import gap_shapes, line_stretch
from truceline.core.evidence import Evidence, precision_of, where_inc, where_obs
from truceline.core.findings import Finding
from truceline.core.incidents import Incident
from truceline.core.observations import in_utc
from truceline.core.precision import region_of, regions_of, unassigned
from truceline.core.recognition import AreaStatus
from truceline.core.report_sections import harm_in, period_day
from truceline.core.taxonomy import CountUnit, Kind
from truceline.core.wording import place_words
from truceline.core.zone_map import zone_shapes
from truceline.errors import ValidationError

#: Report categories in the order monitors read them.
CATEGORIES = (
    "explosion: impact",
    "explosion: outgoing",
    "explosion: airburst",
    "explosion: undetermined",
    "projectile in flight",
    "muzzle flash",
    "illumination flare",
    "burst or shot",
)


def category_of(inc: Incident, facts: Mapping[str, ReportFacts] | None = None) -> str:
    """The monitors' category of an incident; a dataset's coded event (e.g. a UCDP GED day of
    fighting) is counted apart, under 'event (<source>)', never as an explosion."""
    # the unit is an event only when every known report behind it counts events (a day's
    # ~12,000 incidents are tested; only those are described)
    if facts is not None and _events_only(inc, facts):
        unit, sources = incident_records(inc, facts)
        if unit is CountUnit.EVENT:
            return f"event ({', '.join(sources) or 'dataset'})"
    if inc.fire_type == "explosion":
        return f"explosion: {inc.explosion_type or 'undetermined'}"
    return (inc.fire_type or "burst_or_shot").replace("_", " ")


def _events_only(inc: Incident, facts: Mapping[str, ReportFacts]) -> bool:
    """Whether :func:`incident_records` can give ``inc`` the unit event: it has a known
    report, and every known report counts events."""
    known = [f for i in inc.evidence if (f := facts.get(i)) is not None]
    return bool(known) and all(f.unit is CountUnit.EVENT for f in known)


def reporting_period(day: date, tz: ZoneInfo, start: time) -> tuple[datetime, datetime]:
    """[start, end) of the period that ends at ``start`` local time on ``day``.

    A day whose period does not fit the years 1 to 9999 in local time and in UTC (the first
    day of the year 1, say) has none: ValidationError naming ``day``.
    """
    try:
        end = datetime.combine(day, start, tzinfo=tz)
        begin = datetime.combine(day - timedelta(days=1), start, tzinfo=tz)
        begin.astimezone(UTC), end.astimezone(UTC)
    except OverflowError:
        raise ValidationError(f"no reporting period ends on {day.isoformat()}: its period "
                              "must lie in the years 1 to 9999", field="day") from None
    return begin, end


@dataclass
class DailyReport:
    agreement: Agreement
    day: date
    period_start: datetime
    period_end: datetime
    counts: dict[tuple[str, str], Counter[str]]  # (region, sector) -> category -> count
    findings: list[Finding]
    restrictions: list[dict[str, Any]]
    coverage: dict[str, object]
    events: list[dict[str, Any]] = field(default_factory=list)  # for the map
    #: The map's "not covered" shading: ``GapShape.to_json()`` of each gap in
    #: ``coverage["observed"]["gaps"]`` (stretch of the line and the party's side of the band).
    uncovered: list[dict[str, Any]] = field(default_factory=list)
    #: Guarantee notifications unacknowledged past their deadline at the period's end, one
    #: line per guarantor ("awaiting acknowledgement: UK, 2 notifications, 26 h overdue").
    awaiting: list[str] = field(default_factory=list)
    #: The status of areas on the report's day: recognition entries in force (public: the
    #: agreement states them), as :class:`truceline.core.recognition.AreaStatus`.
    areas: list[AreaStatus] = field(default_factory=list)
    #: Observations stored since the last check: the report reads that check's incidents and
    #: findings, so these are not in it (it says so rather than fusing them itself).
    unchecked: int = 0
    #: Counts over an area and a period (kind ``aggregate``), listed apart as published:
    #: :func:`truceline.core.aggregates.aggregate_rows`.
    aggregates: list[dict[str, Any]] = field(default_factory=list)
    #: The map's zones, as the checks decide them (:func:`truceline.core.zone_map.zone_shapes`
    #: ``to_json()`` plus the zone's ``name``).
    zones: list[dict[str, Any]] = field(default_factory=list)
    #: The map's sectors: id, name, chainages and the stretch of the line (lon/lat parts).
    sectors: list[dict[str, Any]] = field(default_factory=list)
    #: The agreement's geometry as the checks compiled it (``GeometrySpec``), for the map;
    #: None: the map resolves it from the agreement.
    spec: Any = None
    #: Counts by (reporting day, sector) -> category, for trend charts over several days.
    daily: dict[tuple[str, str], Counter[str]] = field(default_factory=dict)
    #: What the report covers: "day", "weekend" (two periods), "week" or "custom".
    kind: str = "day"
    #: A thematic report's scope in words ("sector Lyman - Siversk"); "" for all.
    scope: str = ""
    #: The previous period of the same length: category totals (None: not computed).
    previous: Counter[str] | None = None
    #: Civilian casualties reported in the period (:func:`report_sections.harm_in`).
    civilian_harm: list[dict[str, Any]] = field(default_factory=list)
    #: Cameras reported down during the period (:func:`report_sections.cameras_down`).
    cameras_down: list[dict[str, Any]] = field(default_factory=list)

    @property
    def days(self) -> list[str]:
        """The reporting days the report covers (ISO dates of their ends)."""
        out, d = [], self.period_end.astimezone(self.agreement.tz).date()
        n = max(round((self.period_end - self.period_start).total_seconds() / 86400), 1)
        for k in range(n - 1, -1, -1):
            out.append((d - timedelta(days=k)).isoformat())
        return out

    @property
    def heading(self) -> str:
        """The report's name: "Daily report 2025-03-28", "Weekly report 2025-03-22 to
        2025-03-28 (7 reporting periods)", with its scope if thematic."""
        days = self.days
        span = f"{days[0]} to {days[-1]} ({len(days)} reporting periods)"
        head = {"day": f"Daily report {self.day.isoformat()}",
                "weekend": f"Weekend report {span}", "week": f"Weekly report {span}"
                }.get(self.kind, f"Report {span}")
        return f"{head}: {self.scope}" if self.scope else head

    def comparison(self) -> list[tuple[str, int, int]]:
        """(category, this period, previous period) for every category either has."""
        if self.previous is None:
            return []
        now = self.category_totals
        return [(c, now.get(c, 0), self.previous.get(c, 0)) for c in CATEGORIES
                if now.get(c, 0) or self.previous.get(c, 0)]

    def trend(self) -> dict[str, int]:
        """Violations per reporting day (the monitors' units), every day of the report."""
        per = dict.fromkeys(self.days, 0)
        for (d, _), c in self.daily.items():
            per[d] = per.get(d, 0) + self.row_total(c)
        return per

    @property
    def category_totals(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for c in self.counts.values():
            total.update(c)
        return total

    @property
    def violations_total(self) -> int:
        """Ceasefire violations in the monitors' units (each explosion, projectile, flash,
        flare, burst or shot once); records in other units are in :attr:`counted_apart`."""
        totals = self.category_totals
        return sum(totals.get(c, 0) for c in CATEGORIES)

    @staticmethod
    def row_total(c: Counter[str]) -> int:
        """A region/sector row's violations in the monitors' units (events apart)."""
        return sum(c.get(k, 0) for k in CATEGORIES)

    @property
    def counted_apart(self) -> dict[str, int]:
        """Records in other units, by unit and source (e.g. 'event (ucdp-ged)': 3)."""
        return {c: n for c, n in sorted(self.category_totals.items()) if c not in CATEGORIES}

    @property
    def weapons_in_violation(self) -> list[Finding]:
        """Withdrawal findings with a violation: weapons seen inside a withdrawal distance
        (the SMM's table of weapons in violation of the withdrawal lines)."""
        return [f for f in self.findings
                if f.rule_kind == "withdrawal" and f.verdict.value == "violation"]

    def party_name(self, pid: str | None) -> str:
        """A party's name ("unattributed" for none)."""
        return _party_name(self.agreement, pid) if pid else "unattributed"

    def findings_table(self) -> list[tuple[str, str, str, int]]:
        """(provision, party, verdict, count) rows, sorted."""
        c = Counter(
            (f.provision_id, f.party or "unattributed", f.verdict.value) for f in self.findings
        )
        return sorted((p, party, v, n) for (p, party, v), n in c.items())


#: The region of a point outside every region of the agreement.
OUTSIDE = "outside the report's regions"


def _region_of(
    regions: list[tuple[str, BaseGeometry]],
    lon: float,
    lat: float,
    sigma_m: float | None = None,
    precision: str | None = None,
) -> str:
    """The region of a point, :data:`OUTSIDE` every region (the caller may name it by a
    region of the map's base), or "unassigned (precision: ...)" when the point's 95 % disk
    reaches beyond its region (e.g. an oblast-level location)."""
    for name, geom in regions:
        if shapely.contains_xy(geom, lon, lat):
            got = region_of([(name, geom)], lon, lat, sigma_m)
            return name if got is not None else unassigned(precision, sigma_m)
    return OUTSIDE


def _regions_of(regions: list[tuple[str, BaseGeometry]], pos: list[tuple[float, float]],
                sigma_m: list[float | None], precision: list[str | None]) -> list[str]:
    """:func:`_region_of` of many points (one containment test per region for them all)."""
    idx, ok = regions_of(regions, [p[0] for p in pos], [p[1] for p in pos], sigma_m)
    return [OUTSIDE if k < 0 else regions[k][0] if good else unassigned(lab, s)
            for k, good, s, lab in zip(idx.tolist(), ok.tolist(), sigma_m, precision,
                                       strict=True)]


#: The map's layers per compiled geometry (they depend on it alone): a server or a run of
#: reports builds them once (buffering a 1,262 km line costs ~0.2-0.4 s).
_LAYERS: WeakKeyDictionary[CompiledGeometry, tuple[list[dict[str, Any]], list[dict[str, Any]]]]
_LAYERS = WeakKeyDictionary()


def _map_layers(agreement: Agreement, geom: CompiledGeometry
                ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The zones (as the checks decide them) and the sectors (stretches of their line)."""
    hit = _LAYERS.get(geom)
    if hit is None:
        hit = _LAYERS[geom] = _build_layers(agreement, geom)
    return hit


def _build_layers(agreement: Agreement, geom: CompiledGeometry
                  ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    g = agreement.geography
    assert g is not None
    names = {z.id: z.name or z.id for z in g.zones}
    zones = [{**z.to_json(), "name": names.get(z.id, z.id)} for z in zone_shapes(geom)]
    sectors = []
    for s in g.sectors:
        if s.line not in geom.lines:
            continue
        parts = line_stretch(geom, s.line, s.from_km * 1e3, s.to_km * 1e3)
        sectors.append({"id": s.id, "name": s.name or s.id, "from_km": s.from_km,
                        "to_km": s.to_km, "stretch": [p.round(4).tolist() for p in parts]})
    return zones, sectors


def _in(t: datetime, a: datetime, b: datetime) -> bool:
    return a <= t < b


def build_daily_report(
    agreement: Agreement,
    ev: Evidence,
    findings: list[Finding],
    regions: list[tuple[str, BaseGeometry]],
    sector_names: list[str],
    day: date,
    *,
    geom: CompiledGeometry | None = None,
    window: tuple[datetime, datetime] | None = None,
) -> DailyReport:
    """The report for the period ending on ``day`` (or for ``window``, [start, end), e.g. a
    week of periods ending on ``day``); with ``geom`` (the agreement's compiled geometry) the
    gaps in coverage also get their geometry for the map (``uncovered``)."""
    start, end = window or reporting_period(day, agreement.tz, agreement.reporting_period_start)
    lo, hi = in_utc(start), in_utc(end)  # the same window, for the many tests of stored times
    for _, g in regions:
        shapely.prepare(g)
    obs_by_id = {o.id: o for o in ev.observations}
    counts: dict[tuple[str, str], Counter[str]] = {}
    daily: dict[tuple[str, str], Counter[str]] = {}
    events = []
    attributed = {f.incident_id: f.party for f in findings
                  if f.incident_id is not None and f.party is not None}
    # the party the freedom-of-movement check held responsible for each restriction
    restricted_by = {e: _party_name(agreement, f.party) for f in findings
                     if f.rule_kind == "freedom_of_movement" and f.party for e in f.evidence}
    # in (time, id) order, as the store keeps them: the map and the event list must not
    # depend on the order fusion happened to produce
    # each event tests the regions in turn: prepared, a test does not walk every vertex
    shapely.prepare([g for _, g in regions])
    todo = []
    for inc in sorted(ev.incidents, key=lambda i: (i.time, i.id)):
        t = datetime.fromisoformat(inc.time)
        if inc.kind != Kind.FIRE.value or not _in(t, lo, hi):
            continue
        loc = where_inc(inc)
        pos = (loc.lon, loc.lat) if loc else None
        if pos is None:  # no event location: count it where the reporting monitor was
            first = obs_by_id.get(inc.evidence[0])
            pos = where_obs(first) if first else \
                ev.fire.where.get(inc.evidence[0]) if ev.fire is not None else None
        todo.append((inc, t, loc, pos, *precision_of(inc, loc, ev)))
    # a region only where the location's uncertainty allows one: all events at once
    placed = [x for x in todo if x[3] is not None]
    where = _regions_of(regions, [x[3] for x in placed if x[3] is not None],
                        [x[4] if x[2] else None for x in placed], [x[5] for x in placed])
    region_at = {id(x[0]): r for x, r in zip(placed, where, strict=True)}
    for inc, t, loc, pos, sigma, plabel in todo:
        region = region_at[id(inc)] if pos else "unknown"
        sector = "-"
        row = ev.inc_row.get(inc.id)
        if region == OUTSIDE and ev.inc_cls is not None and row is not None and loc:
            region = _outside(agreement, int(ev.inc_cls.control[row]))
        if ev.inc_cls is not None and row is not None and int(ev.inc_cls.sector[row]) >= 0:
            k = int(ev.inc_sector[row]) if ev.inc_sector is not None else -1
            sector = sector_names[k] if k >= 0 else unassigned(plabel, sigma)
        cat = category_of(inc, ev.facts)
        counts.setdefault((region, sector), Counter())[cat] += inc.count
        pday = period_day(t, agreement.tz, agreement.reporting_period_start).isoformat()
        daily.setdefault((pday, sector), Counter())[cat] += inc.count
        if pos is not None:
            events.append(
                {
                    "lon": pos[0],
                    "lat": pos[1],
                    "category": cat,
                    "count": inc.count,
                    "located": loc is not None,
                    "id": inc.id,
                    "time": inc.time,
                    "sector": sector,
                    "ellipse": inc.details.get("ellipse"),
                    "sigma_m": sigma,
                    # the party a finding attributed it to (None: unattributed), and the
                    # impact an origin is linked to, for the map
                    "party": attributed.get(inc.id),
                    "impact": ([inc.impact.lon, inc.impact.lat]
                               if inc.origin is not None and inc.impact is not None else None),
                }
            )
    restrictions = []
    for o in ev.by_kind.get(Kind.RESTRICTION.value, []):
        if not _in(o.time, lo, hi):
            continue
        pos = where_obs(o)
        restrictions.append(
            {
                "id": o.id,
                "time": o.time.astimezone(agreement.tz).strftime("%Y-%m-%d %H:%M"),
                "type": o.restriction_type.value if o.restriction_type else "",
                "region": _obs_region(agreement, regions, ev, o.id, pos),
                "party": restricted_by.get(o.id, ""),
                "place": place_words(*pos) if pos else "place not reported",
                "lon": pos[0] if pos else None,
                "lat": pos[1] if pos else None,
                "description": o.description or "",
            }
        )
    in_period = [o for o in ev.observations if _in(o.time, lo, hi)]
    by_type = Counter(o.source_type.value for o in in_period)
    sources = {o.source_id for o in in_period}
    n_obs = len(in_period)
    if ev.fire is not None:  # the fire reports held as values
        rows = ev.fire.in_window(lo, hi)
        n_obs += len(rows)
        by_type.update(ev.fire.source_types[k] for k in rows)
        sources.update(ev.fire.source_ids[k] for k in rows)
    uncovered: list[dict[str, Any]] = []
    coverage = {
        "observations": n_obs,
        "sources": len(sources),
        "by_source_type": dict(sorted(by_type.items())),
    }
    if ev.coverage is not None:  # where the mission could and could not see (fire, by day)
        seen = ev.coverage.summary(start, end, frozenset({"fire"}))
        coverage["observed"] = seen
        sec = {x.id: x.name or x.id for x in agreement.geography.sectors} \
            if agreement.geography else {}
        coverage["not_covered"] = "; ".join(
            f"{_party_name(agreement, g['party'])}'s side, "
            f"{sec.get(g['sector'], g['sector']) if g['sector'] else 'no sector'}, "
            f"km {g['from_km']:.0f}-{g['to_km']:.0f}" for g in seen["gaps"]) or "none"
        if geom is not None:  # the same gaps (same window, kinds and threshold), as shapes
            gaps = ev.coverage.gaps(start, end, frozenset({"fire"}))
            uncovered = [s.to_json() for s in gap_shapes(geom, ev.coverage, gaps)]
    period_findings = [
        f
        for f in findings
        if f.time is not None and _in(datetime.fromisoformat(f.time), lo, hi)
    ]
    zones, sectors = _map_layers(agreement, geom) if geom is not None else ([], [])
    return DailyReport(
        agreement,
        day,
        start,
        end,
        dict(sorted(counts.items())),
        period_findings,
        restrictions,
        coverage,
        events,
        uncovered,
        zones=zones,
        sectors=sectors,
        spec=geom.spec if geom is not None else None,
        daily=dict(sorted(daily.items())),
        civilian_harm=harm_in(ev.by_kind.get(Kind.CIVILIAN_HARM.value, []), start, end,
                              agreement.tz),
    )


def _outside(agreement: Agreement, control: int) -> str:
    """A point outside every region, named by the party holding it (Russia's own territory
    along the border is "outside the report's regions, held by Russian Federation")."""
    if control < 0:
        return OUTSIDE
    return f"{OUTSIDE}, held by {agreement.parties[control].name or agreement.parties[control].id}"


def _obs_region(agreement: Agreement, regions: list[tuple[str, BaseGeometry]], ev: Evidence,
                oid: str, pos: tuple[float, float] | None) -> str:
    if pos is None:
        return "unknown"
    region = _region_of(regions, *pos)
    row = ev.obs_row.get(oid)
    if region == OUTSIDE and ev.obs_cls is not None and row is not None:
        region = _outside(agreement, int(ev.obs_cls.control[row]))
    return region


def _party_name(agreement: Agreement, pid: str) -> str:
    p = next((p for p in agreement.parties if p.id == pid), None)
    return p.name if p is not None and p.name else pid


def utc_iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")
