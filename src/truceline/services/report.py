"""Report: assemble a daily report from the store (figures in core, rendering in adapters)."""

from __future__ import annotations

from datetime import date

from truceline.core.agreement_geometry import regions
from truceline.core.evidence import gather
from truceline.core.recognition import status_of_areas
from truceline.core.reporting import DailyReport, build_daily_report
from truceline.core.resubmissions import counted
from truceline.errors import ValidationError
from truceline.services.check import derive_coverage, derive_incidents
from truceline.services.context import load_context
from truceline.services.guarantees import awaiting_lines
from truceline.services.ports import Store


def parse_day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationError(f"not a date (YYYY-MM-DD): {text!r}", field="date") from None


def daily_report(store: Store, day: str | date) -> DailyReport:
    d = parse_day(day) if isinstance(day, str) else day
    ctx = load_context(store)
    obs = counted(store.observations())  # a resubmitted copy counts once
    ev = gather(ctx.geometry, obs, derive_incidents(ctx, obs), derive_coverage(ctx, obs))
    g = ctx.agreement.geography
    sectors = [s.name or s.id for s in g.sectors] if g else []
    rep = build_daily_report(
        ctx.agreement, ev, store.findings(), regions(ctx.agreement), sectors, d,
        geom=ctx.geometry,
    )
    # measured at the period's end, so the same day always gives the same report
    rep.awaiting = awaiting_lines(store, rep.period_end)
    rep.areas = status_of_areas(ctx.agreement, d)
    return rep
