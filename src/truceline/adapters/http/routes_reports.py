"""Daily reports as JSON, Markdown or HTML (map embedded), redacted for outsiders.

A report shows the findings its reader may see: everything for analysts, published findings
(plus a party's own, a guarantor's guaranteed ones) for everyone else, with locations coarsened.
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
from truceline.adapters.http.redaction import redact_report
from truceline.adapters.http.state import AppState, app_state, principal
from truceline.adapters.render.report import render_report
from truceline.core.reporting import DailyReport, utc_iso
from truceline.errors import ValidationError
from truceline.services.report import daily_report

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
    }


def _render(st: AppState, who: Principal, day: date, fmt: str) -> Response:
    r = daily_report(st.reader, day)
    if not sees_exact(who):
        ctx = st.context()
        mine = visible_findings(who, r.findings, ctx.agreement, st.published())
        r = redact_report(r, mine, st.grid)
    if fmt == "json":
        return JSONResponse(report_json(r))
    if fmt == "md":
        return Response(render_report(r, "md", None), media_type="text/markdown")
    from truceline.adapters.render.mapfig import render_map_png

    png = render_map_png(r) if r.agreement.geography is not None else None
    ref = "data:image/png;base64," + base64.b64encode(png).decode() if png else None
    return HTMLResponse(render_report(r, "html", ref))


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
    try:
        d = date.fromisoformat(day)
    except ValueError:
        raise ValidationError("not a date (YYYY-MM-DD)", field="day") from None
    audience = ("exact",) if sees_exact(who) else (who.role.value, who.bound)
    key = (st.raw_store.url, d, format, audience, st.raw_store.entry_count(), st.raw_store.get_meta(
        "http.published_findings"))
    with _lock:
        hit = _cache.get(key)
    if hit is not None:
        return hit
    resp = await run_in_threadpool(_render, st, who, d, format)
    with _lock:
        _cache[key] = resp
        while len(_cache) > 64:
            _cache.popitem(last=False)
    return resp
