"""Coverage: which share of the line and of each party's side the mission could observe.

``GET /coverage`` answers for a window (``start``/``end``, or the reporting period ending on
``day``) and kinds of event: the shares of the line, of each party's side and of each sector,
and the gaps (stretches of a party's side observed less than ``below``). Everyone may ask; the
mission's assets (ids, positions and hours of its posts, patrols, cameras and sensors) are
added for analysts and monitors only (``policy.sees_assets``), and every other answer passes
``redaction.redact_coverage`` and covers whole reporting periods that have ended (finer or
still-filling windows would trace the monitors' patrols: 403 naming the field). The model is
rebuilt only when the record grows.
"""

from __future__ import annotations

import threading
from typing import Any

from fastapi import APIRouter, Depends, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from truceline.adapters.http.auth import Principal
from truceline.adapters.http.envelope import error_responses
from truceline.adapters.http.policy import sees_assets
from truceline.adapters.http.redaction import redact_coverage
from truceline.adapters.http.state import AppState, app_state, principal
from truceline.services.coverage import (
    MissionCoverage,
    coverage_answer,
    load_mission_coverage,
    parse_day,
    parse_kinds,
    parse_time,
)

router = APIRouter(tags=["coverage"])

_lock = threading.Lock()
_models: dict[tuple[Any, ...], MissionCoverage] = {}


class SectorShareOut(BaseModel):
    sector: str
    party: str
    share: float
    area_km2: float


class GapOut(BaseModel):
    party: str
    sector: str | None
    from_km: float
    to_km: float
    share: float


class AssetOut(BaseModel):
    source_id: str
    asset_type: str | None
    asset_status: str
    time: str
    end_time: str | None
    lon: float | None
    lat: float | None
    facing_deg: float | None
    fov_deg: float | None
    range_m: float | None


class CoverageOut(BaseModel):
    """The coverage answer; ``assets`` only for analysts and monitors."""

    agreement: str
    version: int
    start: str | None
    end: str | None
    kinds: list[str]
    below: float
    min_coverage: float
    assessed: bool
    reason: str | None
    line: str | None
    band_km: float | None
    as_of: str | None
    line_share: float | None
    parties: dict[str, float]
    sectors: list[SectorShareOut]
    gaps: list[GapOut]
    assets: list[AssetOut] | None = None


def mission_coverage(st: AppState) -> MissionCoverage:
    """The record's coverage model, rebuilt when the record or the agreement changes."""
    key = (st.raw_reader.url, st.raw_reader.entry_count(), id(st.reader.agreement_doc()))
    with _lock:
        hit = _models.get(key)
    if hit is None:
        hit = load_mission_coverage(st.reader)
        with _lock:
            _models.clear()  # one model per app: the latest record
            _models[key] = hit
    return hit


def _answer(st: AppState, who: Principal, start: str | None, end: str | None, day: str | None,
            kinds: str | None, below: float) -> dict[str, Any]:
    t0, t1, d = parse_time(start, "start"), parse_time(end, "end"), parse_day(day)
    ks = parse_kinds(kinds)
    inside = sees_assets(who)
    body = coverage_answer(mission_coverage(st), start=t0, end=t1, day=d, kinds=ks, below=below,
                           whole_periods=not inside)
    return body if inside else redact_coverage(body)


@router.get("/coverage", response_model=CoverageOut, response_model_exclude_unset=True,
            responses=error_responses(403))
async def coverage(
    start: str | None = Query(None, max_length=40, json_schema_extra={"format": "date-time"},
                              description="From this time (RFC 3339 with offset); default "
                                          "24 h before end. Outside the mission: a "
                                          "reporting period boundary (else 403)."),
    end: str | None = Query(None, max_length=40, json_schema_extra={"format": "date-time"},
                            description="Until this time (exclusive); default the latest time "
                                        "the monitoring records speak for (outside the "
                                        "mission: the end of the last period that has "
                                        "ended; a later or unaligned end is a 403)."),
    day: str | None = Query(None, max_length=10, json_schema_extra={"format": "date"},
                            description="Instead of start/end: the reporting period ending on "
                                        "this date (YYYY-MM-DD, local), as the daily report."),
    kinds: str | None = Query(None, max_length=200,
                              description="Comma-separated: fire, fire:mortar, "
                                          "fire:tube_artillery, fire:mlrs, weapon_sighting, "
                                          "presence (default fire). Every kind must be "
                                          "observable for a place to count."),
    below: float = Query(0.5, ge=0.0, le=1.0,
                         description="Gaps: stretches observed less than this share."),
    who: Principal = Depends(principal), st: AppState = Depends(app_state),
) -> dict[str, Any]:
    """Observed shares of the line, of each party's side and each sector, and the gaps.

    "No violation observed" means something only where the mission could observe: this is
    where it could (docs/coverage.md). Asset ids and positions, and windows other than whole
    reporting periods that have ended: analysts and monitors only.
    """
    return await run_in_threadpool(_answer, st, who, start, end, day, kinds, below)
