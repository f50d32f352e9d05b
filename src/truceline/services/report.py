"""Report: assemble a daily report from the store (figures in core, rendering in adapters).

A report reads what it reports: the incidents and findings the last check stored for the
reporting period, the period's observations (and the reports the incidents were fused from),
and the monitoring and restriction records coverage is built from. It never fuses, so its
cost follows the period, not the store. Observations stored since the last check are not in
it; it says how many (:attr:`~truceline.core.reporting.DailyReport.unchecked`).
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta

from truceline.core.aggregates import aggregate_rows
from truceline.core.agreement_geometry import regions
from truceline.core.counting import facts_of
from truceline.core.coverage_inputs import coverage_from_observations
from truceline.core.evidence import gather, where_inc
from truceline.core.incidents import Incident
from truceline.core.observations import Observation, in_utc, stored_observation
from truceline.core.recognition import status_of_areas
from truceline.core.record.canonical import parse_entry
from truceline.core.report_scope import narrow
from truceline.core.report_sections import cameras_down, report_window
from truceline.core.reporting import (
    DailyReport,
    build_daily_report,
    category_of,
    reporting_period,
)
from truceline.core.resubmissions import counted
from truceline.core.taxonomy import CountUnit, Kind
from truceline.errors import ValidationError
from truceline.services.context import AgreementContext, load_context
from truceline.services.guarantees import awaiting_lines
from truceline.services.ports import CHECKED_META, Store
from truceline.services.report_read import read_period

#: Observations read on each side of the period, so that a resubmitted copy near its edge is
#: counted once exactly as the whole store counts it (copies are minutes apart, not hours).
MARGIN = timedelta(hours=1)
_ASSETS = ("monitoring", "restriction")
#: The observations a report places by classifying them (its other reports count by id).
_PLACED = frozenset({Kind.RESTRICTION})
#: What :func:`window_totals` reads of an incident's record.
_COUNTED = ("id", "kind", "time", "evidence", "fire_type", "explosion_type", "count")
_EVENT = CountUnit.EVENT.value


def parse_day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationError(f"not a date (YYYY-MM-DD): {text!r}", field="date") from None


def daily_report(store: Store, day: str | date) -> DailyReport:
    """The report for the period ending on ``day``, from what the last check stored."""
    return period_report(store, "day", day)


def period_report(store: Store, kind: str, day: str | date, first: str | date | None = None,
                  *, sector: str | None = None, provision: str | None = None,
                  party: str | None = None) -> DailyReport:
    """The report for the ``kind`` window (day, weekend, week, custom from ``first``) ending
    on ``day``, narrowed to a sector, provision or party if given (a thematic report), with
    the previous window of the same length for comparison."""
    d = parse_day(day) if isinstance(day, str) else day
    f0 = parse_day(first) if isinstance(first, str) else first
    lo, hi = report_window(kind, d, f0)
    ctx = load_context(store, keep=True)
    ag = ctx.agreement
    start = reporting_period(lo, ag.tz, ag.reporting_period_start)[0]
    end = reporting_period(hi, ag.tz, ag.reporting_period_start)[1]
    rep = _build(store, ctx, d, start, end)
    rep.kind = kind
    n = (hi - lo).days + 1
    try:  # no previous window before the calendar's start: nothing to compare with
        p_start = reporting_period(lo - timedelta(days=n), ag.tz, ag.reporting_period_start)[0]
    except (OverflowError, ValidationError):
        rep.previous = None
    else:
        rep.previous = window_totals(store, p_start, start)
    if sector is provision is party is None:
        return rep
    return narrow(rep, sector=sector, provision=provision, party=party)


def window_totals(store: Store, start: datetime, end: datetime) -> Counter[str]:
    """Category totals of [start, end) from the incidents the last check stored, counted as
    the report counts them (a dataset's coded event apart), without locating anything.

    Only an incident with a coded event among its reports can be counted otherwise than by
    its fire type (:func:`~truceline.core.reporting.category_of`: the unit is an event only
    when every stored report behind it counts events), so only those incidents' reports are
    read; and an incident whose first report is stored and counts otherwise is not one of
    them, so the others' reports are looked at only where the first is a coded event or is
    not stored (a day's ~50,000 reports looked up by id: ~10,000)."""
    lo, hi = in_utc(start), in_utc(end)
    # of each record, only what counting reads (not its locations, ellipses and details)
    fire = [Incident(d["id"], d["kind"], d["time"], tuple(d["evidence"]), d.get("fire_type"),
                     d.get("explosion_type"), count=d.get("count", 1))
            for d in store.incident_fields(start, end, _COUNTED)
            if d["kind"] == Kind.FIRE.value and lo <= datetime.fromisoformat(d["time"]) < hi]
    first = store.count_units(sorted({i.evidence[0] for i in fire if i.evidence}))
    maybe = [i for i in fire if i.evidence and first.get(i.evidence[0], _EVENT) == _EVENT]
    coded = store.coded_event_ids(sorted({e for i in maybe for e in i.evidence}))
    apart = [i for i in maybe if coded.intersection(i.evidence)]
    ids = sorted({e for i in apart for e in i.evidence})
    obs = {k: facts_of(stored_observation(v))
           for k, v in store.stored_records(ids).items()}
    seen = {id(i) for i in apart}
    out: Counter[str] = Counter()
    for i in fire:  # in their order; without a coded event behind it, by its fire type
        out[category_of(i, obs) if id(i) in seen else category_of(i)] += i.count
    return out


def _build(store: Store, ctx: AgreementContext, d: date, start: datetime, end: datetime
           ) -> DailyReport:
    ag = ctx.agreement
    incidents = [Incident.from_record(r) for r in store.incident_records(start, end)]
    # the fire reports as values (:mod:`truceline.services.report_read`), the rest as objects
    # the reports placing an event that has no location of its own (:func:`where_inc`)
    placed = {i.evidence[0] for i in incidents if i.evidence and where_inc(i) is None}
    near, fire, reported = read_period(store.observation_texts(start - MARGIN, end + MARGIN),
                                       placed)
    have = {o.id for o in near}.union(fire.ids if fire is not None else ())
    # the reports an incident was fused from, where they lie outside the period's margin
    missing = sorted({e for i in incidents for e in i.evidence} - have)
    near += [stored_observation(r) for r in store.stored_records(missing).values()]
    assets = _assets(store, ctx, start, end)
    cov = None if assets is None or ctx.geometry is None \
        else coverage_from_observations(ctx.geometry, ag, assets)
    # the report places only the period's restrictions (:func:`build_daily_report`)
    ev = gather(ctx.geometry, near, incidents, cov, reported, classified_kinds=_PLACED)
    ev.fire = fire
    g = ag.geography
    sectors = [s.name or s.id for s in g.sectors] if g else []
    rep = build_daily_report(ag, ev, store.findings(start, end), regions(ag), sectors, d,
                             geom=ctx.geometry, window=(start, end))
    rep.cameras_down = cameras_down(assets or [], start, end, ag.tz)
    # measured at the period's end, so the same day always gives the same report
    rep.awaiting = awaiting_lines(store, rep.period_end)
    rep.areas = status_of_areas(ag, d)
    rep.unchecked = unchecked_observations(store)
    rep.aggregates = aggregate_rows(near, rep.period_start, rep.period_end)
    return rep


def _assets(store: Store, ctx: AgreementContext, start: datetime, end: datetime
            ) -> list[Observation] | None:
    """The monitoring and restriction records whose windows reach into the period, which
    coverage is built from (one that ended before the period or began after it adds nothing
    to the period's figures). None as for the whole store: no geography, or no monitoring
    record at all."""
    if ctx.geometry is None or not store.observations(kinds=["monitoring"], limit=1):
        return None
    return counted(store.observations_reaching(_ASSETS, start - MARGIN, end + MARGIN))


def unchecked_observations(store: Store) -> int:
    """How many stored observations the last check did not read (all of them before any):
    those after the first ``n`` it read, an index range whose cost follows them, not the
    store."""
    seen = store.get_meta(CHECKED_META)
    if seen is None:  # a store checked before the count was kept: the last incident entry's
        last = store.last_entry("incident")
        seen = None if last is None else str(parse_entry(last.data)[1].get("observations", 0))
    return store.count_observations(after=int(seen or 0))
