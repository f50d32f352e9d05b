"""Escalation alarms per sector (``GET /alarms``, docs/early_warning.md), each naming the
category that drove it.

Alarms are sector-level aggregates: a sector's counts per category and reporting day, the
share of it the mission observed, the statistic and its threshold. Everyone may read them at
that level (the daily report and ``/coverage`` publish the same counts and shares). The
incidents behind each day's count are a finer level: analysts get every id; everyone else only
the ids of incidents behind findings it may see (``policy.incidents_behind``; the public:
behind published findings), as ``/incidents`` does. The alarms are computed once per record
size and baseline (computing them reads every fire incident and sweeps coverage day by day).
"""

from __future__ import annotations

import threading
from typing import Any

from fastapi import APIRouter, Depends, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from truceline.adapters.http.auth import Principal
from truceline.adapters.http.envelope import error_responses
from truceline.adapters.http.policy import incidents_behind, sees_exact, visible_findings
from truceline.adapters.http.state import AppState, app_state, principal
from truceline.services.early_warning import escalation_alarms, parse_since

router = APIRouter(tags=["alarms"])

_lock = threading.Lock()
_cache: dict[tuple[Any, ...], dict[str, Any]] = {}


class CategoryDay(BaseModel):
    count: float
    expected: float
    llr: float


class EvidenceDay(BaseModel):
    day: str
    count: float
    coverage: float
    expected: float
    cusum: float
    incidents: list[str]
    categories: dict[str, CategoryDay] = {}


class AlarmOut(BaseModel):
    id: str
    sector: str
    sector_name: str
    category: str
    start: str
    day: str
    statistic: float
    threshold: float
    arl0_days: float
    baseline: dict[str, Any]
    evidence: list[EvidenceDay]
    contributions: dict[str, float] = {}


class AlarmsOut(BaseModel):
    agreement: str
    first_day: str | None
    last_day: str | None
    baseline_days: int
    arl0_days_per_sector: float
    reason: str | None
    dispersion: dict[str, float]
    series: list[dict[str, Any]]
    alarms: list[AlarmOut]


def _computed(st: AppState, baseline_days: int) -> dict[str, Any]:
    key = (st.raw_reader.url, st.raw_reader.entry_count(), baseline_days)
    with _lock:
        hit = _cache.get(key)
    if hit is None:
        hit = escalation_alarms(st.reader, baseline_days=baseline_days).to_json()
        with _lock:
            _cache.clear()  # one answer per app: the latest record
            _cache[key] = hit
    return hit


def alarms_for(st: AppState, who: Principal, baseline_days: int, since: str | None
               ) -> dict[str, Any]:
    """The alarms for ``who``: incident ids cut to those it may see; ``since`` filters."""
    day = parse_since(since)
    body = _computed(st, baseline_days)
    alarms = [a for a in body["alarms"] if day is None or a["day"] >= day.isoformat()]
    if not sees_exact(who):
        ctx = st.context()
        behind = incidents_behind(visible_findings(who, st.findings(), ctx.agreement,
                                                   st.published()))
        alarms = [{**a, "evidence": [{**r, "incidents": [i for i in r["incidents"]
                                                          if i in behind]}
                                     for r in a["evidence"]]} for a in alarms]
    return {**body, "alarms": alarms}


@router.get("/alarms", response_model=AlarmsOut, responses=error_responses())
async def list_alarms(
    since: str | None = Query(None, max_length=10, json_schema_extra={"format": "date"},
                              description="Only alarms raised on or after this reporting "
                                          "day (YYYY-MM-DD, local)."),
    baseline_days: int = Query(28, ge=7, le=3650,
                               description="Reporting days at the start that teach the "
                                           "in-control rates."),
    who: Principal = Depends(principal), st: AppState = Depends(app_state),
) -> dict[str, Any]:
    """Escalation alarms per sector: one negative-binomial CUSUM over each sector's
    coverage-normalised daily counts per category, the alarm naming the category that drove
    it (docs/early_warning.md).

    Sector-level for everyone; the incident ids behind each day's count only where the
    reader may see those incidents (analysts: all).
    """
    return await run_in_threadpool(alarms_for, st, who, baseline_days, since)
