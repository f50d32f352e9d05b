"""``GET /sources``: each source's estimated bearing bias, clock offset and wild-bearing rate.

The estimates name the mission's sources (monitors' posts, cameras, sensors) and say whose
compass or clock is off: a source's identity is sensitive, so only analysts may ask (401
without a key, 403 for every other role), and nothing here is ever redacted for others.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from truceline.adapters.http.auth import Principal, Role, require
from truceline.adapters.http.envelope import error_responses
from truceline.adapters.http.state import AppState, app_state, principal
from truceline.services.sources import source_estimates

router = APIRouter(tags=["sources"])


class SourceOut(BaseModel):
    source_id: str
    bearings: int
    reports_used: int
    bias_deg: float | None
    bias_se_deg: float | None
    flagged: bool
    corrected_deg: float | None
    wild_rate: float | None
    timed: int
    clock_offset_s: float | None
    clock_se_s: float | None


class SourcesOut(BaseModel):
    sources: list[SourceOut]
    flagged: int


@router.get("/sources", response_model=SourcesOut, responses=error_responses(403, 404))
async def sources(
    flagged: bool = Query(False, description="Only the sources whose bearings show a bias."),
    who: Principal = Depends(principal),
    st: AppState = Depends(app_state),
) -> dict[str, Any]:
    """What the last check's shared events say about each source (docs/fusion.md, section 3a):
    bearing bias ± its standard error, flagged when shown (corrected too, unless it rests on
    two samples only), clock offset, share of wild bearings, reports used. Analysts only."""
    require(who, Role.ANALYST)
    rows = await run_in_threadpool(source_estimates, st.reader, flagged)
    return {"sources": rows, "flagged": sum(1 for r in rows if r["flagged"])}
