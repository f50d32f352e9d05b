"""Daily reports as JSON, Markdown or HTML (map embedded), redacted for outsiders.

A report shows the findings its reader may see: everything for analysts, published findings
(plus a party's own, a guarantor's guaranteed ones) for everyone else, with locations coarsened
and, until the period has ended in the monitoring records, no coverage shares or gaps.
Rendered reports are cached per (date, format, audience, record size), since the map takes a
second to draw and nothing in a report changes unless the record grows.
"""

from __future__ import annotations

import base64
import threading
from collections import OrderedDict
from datetime import date
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, Response

from truceline.adapters.http.auth import Principal
from truceline.adapters.http.envelope import error_responses
from truceline.adapters.http.policy import sees_exact, visible_findings
from truceline.adapters.http.redaction import redact_report, withhold_coverage
from truceline.adapters.http.routes_findings import quoted_by
from truceline.adapters.http.state import AppState, app_state, principal
from truceline.adapters.render.report import render_report
from truceline.core.report_scope import narrow
from truceline.core.reporting import DailyReport, utc_iso
from truceline.errors import ValidationError
from truceline.services.coverage import period_ended
from truceline.services.report import period_report

router = APIRouter(tags=["reports"])

_cache: OrderedDict[tuple[Any, ...], Response] = OrderedDict()
_lock = threading.Lock()


def report_json(r: DailyReport) -> dict[str, Any]:
    return {
        "agreement": r.agreement.id, "version": r.agreement.version, "date": r.day.isoformat(),
        "period_start": utc_iso(r.period_start), "period_end": utc_iso(r.period_end),
        "counts": [{"region": reg, "sector": sec, "counts": dict(sorted(c.items()))}
                   for (reg, sec), c in r.counts.items()],
        "totals": dict(sorted(r.category_totals.items())),
        "findings": [f.to_record() for f in r.findings],
        "restrictions": r.restrictions, "coverage": r.coverage, "events": r.events,
        "areas": [x.to_json() for x in r.areas],
        "unchecked": r.unchecked,  # observations since the last check, not in this report
        # counts over an area and a period (kind aggregate), as published: not located
        "aggregates": [{**a, "period_start": utc_iso(a["period_start"]),
                        "period_end": utc_iso(a["period_end"])} for a in r.aggregates],
        "period": r.kind, "scope": r.scope, "days": r.trend(),
        "previous_totals": None if r.previous is None else dict(sorted(r.previous.items())),
        "civilian_harm": r.civilian_harm, "cameras_down": r.cameras_down,
    }


def _render(st: AppState, who: Principal, day: date, fmt: str,
            spec: tuple[str, str | None, str | None, str | None, str | None] = (
                "day", None, None, None, None)) -> Response:
    kind, first, sector, provision, party = spec
    if sees_exact(who):
        r = period_report(st.reader, kind, day, first, sector=sector, provision=provision,
                          party=party)
    else:
        # Narrowed only once redacted: ``party`` keeps the restrictions a party was held
        # responsible for, which outside the mission only findings the reader sees may say.
        r = period_report(st.reader, kind, day, first)
        mine = visible_findings(who, r.findings, st.context().agreement, st.published())
        r = redact_report(r, mine, st.grid, quoted_by(st))
        if "observed" in r.coverage and not period_ended(st.reader, r.period_end):
            r = withhold_coverage(r)
        if sector is not None or provision is not None or party is not None:
            r = narrow(r, sector=sector, provision=provision, party=party)
    if fmt == "json":
        return JSONResponse(report_json(r))
    if fmt == "md":
        return Response(render_report(r, "md", None), media_type="text/markdown")
    from truceline.adapters.render.mapfig import render_map_png

    png = render_map_png(r) if r.agreement.geography is not None else None
    ref = "data:image/png;base64," + base64.b64encode(png).decode() if png else None
    trend = None
    if len(r.days) > 1:
        from truceline.adapters.render.trend import render_trend_png

        trend = "data:image/png;base64," + base64.b64encode(render_trend_png(r)).decode()
    return HTMLResponse(render_report(r, "html", ref, trend))


async def _cached(st: AppState, who: Principal, d: date, fmt: str,
                  spec: tuple[str, str | None, str | None, str | None, str | None]) -> Response:
    audience = ("exact",) if sees_exact(who) else (who.role.value, who.bound)
    key = (st.raw_store.url, d, fmt, spec, audience, st.raw_store.entry_count(),
           st.raw_store.get_meta("http.published_findings"))
    with _lock:
        hit = _cache.get(key)
    if hit is not None:
        return hit
    resp = await run_in_threadpool(_render, st, who, d, fmt, spec)
    with _lock:
        _cache[key] = resp
        while len(_cache) > 64:
            _cache.popitem(last=False)
    return resp


def _day(text: str, field: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationError("not a date (YYYY-MM-DD)", field=field) from None


@router.get("/reports/daily/{day}", responses={
    **error_responses(503),
    200: {"description": "The report", "content": {
        "application/json": {"schema": {"type": "object"}},
        "text/markdown": {"schema": {"type": "string"}},
        "text/html": {"schema": {"type": "string"}}}}})
async def daily(day: str, format: Literal["json", "md", "html"] = Query("json"),
                who: Principal = Depends(principal),
                st: AppState = Depends(app_state)) -> Response:
    """The daily report for the reporting period ending on ``day`` (YYYY-MM-DD, local)."""
    return await _cached(st, who, _day(day, "day"), format, ("day", None, None, None, None))


@router.get("/reports/periods/{day}", responses={
    **error_responses(503),
    200: {"description": "The report", "content": {
        "application/json": {"schema": {"type": "object"}},
        "text/markdown": {"schema": {"type": "string"}},
        "text/html": {"schema": {"type": "string"}}}}})
async def periods(day: str, period: Literal["day", "weekend", "week", "custom"] = Query("week"),
                  from_: str | None = Query(None, alias="from",
                                            description="custom: the first reporting date"),
                  sector: str | None = Query(None), provision: str | None = Query(None),
                  party: str | None = Query(None),
                  format: Literal["json", "md", "html"] = Query("json"),
                  who: Principal = Depends(principal),
                  st: AppState = Depends(app_state)) -> Response:
    """A report over several reporting periods ending on ``day`` (weekend: two, week: seven,
    custom: from ``from``), on everything or one sector, provision or party (a thematic
    report); each role sees what it sees in the daily report (public: published findings)."""
    d = _day(day, "day")
    first = _day(from_, "from").isoformat() if from_ is not None else None
    return await _cached(st, who, d, format, (period, first, sector, provision, party))
