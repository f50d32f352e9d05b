"""Report: assemble a daily report from the store (figures in core, rendering in adapters).

A report reads what it reports: the incidents and findings the last check stored for the
reporting period, the period's observations (and the reports the incidents were fused from),
and the monitoring and restriction records coverage is built from. It never fuses, so its
cost follows the period, not the store. Observations stored since the last check are not in
it; it says how many (:attr:`~truceline.core.reporting.DailyReport.unchecked`).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from truceline.core.aggregates import aggregate_rows
from truceline.core.agreement_geometry import regions
from truceline.core.coverage import Coverage
from truceline.core.coverage_inputs import coverage_from_observations
from truceline.core.evidence import gather
from truceline.core.incidents import Incident
from truceline.core.observations import Observation
from truceline.core.recognition import status_of_areas
from truceline.core.record.canonical import parse_entry
from truceline.core.reporting import DailyReport, build_daily_report, reporting_period
from truceline.core.resubmissions import counted
from truceline.errors import ValidationError
from truceline.services.context import AgreementContext, load_context
from truceline.services.guarantees import awaiting_lines
from truceline.services.ports import CHECKED_META, Store

#: Observations read on each side of the period, so that a resubmitted copy near its edge is
#: counted once exactly as the whole store counts it (copies are minutes apart, not hours).
MARGIN = timedelta(hours=1)
_ASSETS = ("monitoring", "restriction")


def parse_day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationError(f"not a date (YYYY-MM-DD): {text!r}", field="date") from None


def daily_report(store: Store, day: str | date) -> DailyReport:
    """The report for the period ending on ``day``, from what the last check stored."""
    d = parse_day(day) if isinstance(day, str) else day
    ctx = load_context(store)
    ag = ctx.agreement
    start, end = reporting_period(d, ag.tz, ag.reporting_period_start)
    incidents = [Incident.from_record(r) for r in store.incident_records(start, end)]
    near = counted(store.observations(start=start - MARGIN, end=end + MARGIN))
    have = {o.id for o in near}
    # the reports an incident was fused from, where they lie outside the period's margin
    missing = sorted({e for i in incidents for e in i.evidence} - have)
    near += [Observation.model_validate_json(r) for r in store.stored_records(missing).values()]
    ev = gather(ctx.geometry, near, incidents, _coverage(store, ctx, start, end))
    g = ag.geography
    sectors = [s.name or s.id for s in g.sectors] if g else []
    rep = build_daily_report(ag, ev, store.findings(start, end), regions(ag), sectors, d,
                             geom=ctx.geometry)
    # measured at the period's end, so the same day always gives the same report
    rep.awaiting = awaiting_lines(store, rep.period_end)
    rep.areas = status_of_areas(ag, d)
    rep.unchecked = unchecked_observations(store)
    rep.aggregates = aggregate_rows(near, rep.period_start, rep.period_end)
    return rep


def _coverage(store: Store, ctx: AgreementContext, start: datetime, end: datetime
              ) -> Coverage | None:
    """What the mission could observe in the period: built from the monitoring and
    restriction records whose windows reach into it (one that ended before the period or
    began after it adds nothing to the period's figures). None as for the whole store: no
    geography, or no monitoring record at all."""
    if ctx.geometry is None or not store.observations(kinds=["monitoring"], limit=1):
        return None
    assets = counted(store.observations_reaching(_ASSETS, start - MARGIN, end + MARGIN))
    return coverage_from_observations(ctx.geometry, ctx.agreement, assets)


def unchecked_observations(store: Store) -> int:
    """How many stored observations the last check did not read (all of them before any)."""
    seen = store.get_meta(CHECKED_META)
    if seen is None:  # a store checked before the count was kept: the last incident entry's
        last = store.last_entry("incident")
        seen = None if last is None else str(parse_entry(last.data)[1].get("observations", 0))
    return max(store.count_observations() - int(seen or 0), 0)
