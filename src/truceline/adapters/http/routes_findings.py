"""Incidents, findings (filtered by role), publication and checks.

Findings are derived data: ``POST /check`` re-runs every provision over the stored evidence.
An analyst *publishes* a finding (recorded in the log as a status change), which makes it
visible to everyone, redacted; until then a finding is seen only by the analysts, the party it
is about, and the guarantors of its provision. Disputes of findings are in
:mod:`truceline.adapters.http.routes_disputes`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from truceline.adapters.http.auth import Principal, Role, require
from truceline.adapters.http.envelope import error_responses
from truceline.adapters.http.policy import (
    incidents_behind,
    sees_exact,
    visible_findings,
)
from truceline.adapters.http.redaction import (
    QUOTING,
    quotes,
    redact_finding,
    redact_incident,
)
from truceline.adapters.http.routes_guarantees import clock_of
from truceline.adapters.http.state import AppState, app_state, principal
from truceline.core.coverage_inputs import period_start
from truceline.core.findings import Finding, Verdict
from truceline.core.observations import Observation
from truceline.core.record.canonical import entry_bytes
from truceline.errors import NotFoundError
from truceline.services.check import run_check
from truceline.services.guarantees import notify

router = APIRouter(tags=["incidents, findings and disputes"])


class FindingList(BaseModel):
    findings: list[Finding]
    numberReturned: int


class IncidentList(BaseModel):
    incidents: list[dict[str, Any]]
    numberReturned: int


class CheckSummary(BaseModel):
    findings: int
    incidents: int
    new_entries: int


def findings_for(st: AppState, who: Principal) -> list[Finding]:
    """The findings this principal may see, redacted unless it is inside the mission."""
    ctx = st.context()
    seen = visible_findings(who, st.findings(), ctx.agreement, st.published())
    if sees_exact(who):
        return seen
    quoted = quoted_by(st)
    starts = partial(period_start, ctx.agreement)
    return [Finding.from_record(redact_finding(f.to_record(), st.grid, _free_text(st, f),
                                               quoted(f), period_start=starts))
            for f in seen]


def quoted_by(st: AppState) -> Callable[[Finding], dict[str, str]]:
    """:func:`~truceline.adapters.http.redaction.quotes` over the store's observations."""
    def observation(oid: str) -> Observation | None:
        try:
            return st.reader.observation(oid)
        except NotFoundError:
            return None

    return lambda f: quotes(f, observation, lambda: st.secret)


def _free_text(st: AppState, f: Finding) -> list[str]:
    """The descriptions a finding's explanation may quote (a restriction's, few a day)."""
    if f.rule_kind not in QUOTING:
        return []
    out = []
    for oid in f.evidence:
        with contextlib.suppress(NotFoundError):
            out.append(st.reader.observation(oid).description or "")
    return out


def incidents_for(st: AppState, who: Principal) -> list[dict[str, Any]]:
    """Every incident for analysts; for everyone else those behind the findings they may see
    (the public: behind published findings), redacted."""
    recs = st.reader.incident_records()
    if sees_exact(who):
        return recs
    ctx = st.context()
    behind = incidents_behind(visible_findings(who, st.findings(), ctx.agreement,
                                               st.published()))
    return [redact_incident(r, st.grid) for r in recs if r["id"] in behind]


@router.get("/incidents", response_model=IncidentList, responses=error_responses())
def list_incidents(who: Principal = Depends(principal),
                   st: AppState = Depends(app_state)) -> IncidentList:
    """Fused incidents: analysts all; everyone else those behind findings it may see
    (the public: published findings), coarsened."""
    recs = incidents_for(st, who)
    return IncidentList(incidents=recs, numberReturned=len(recs))


@router.get("/incidents/{incident_id}", responses=error_responses(404))
def get_incident(incident_id: str, who: Principal = Depends(principal),
                 st: AppState = Depends(app_state)) -> dict[str, Any]:
    for r in incidents_for(st, who):
        if r["id"] == incident_id:
            return r
    raise NotFoundError("no such incident", field="incident_id")


def _render_findings(st: AppState, who: Principal, provision_id: str | None,
                     party: str | None, verdict: Verdict | None) -> bytes:
    fs = [f for f in findings_for(st, who)
          if (provision_id is None or f.provision_id == provision_id)
          and (party is None or f.party == party) and (verdict is None or f.verdict == verdict)]
    return FindingList(findings=fs, numberReturned=len(fs)).model_dump_json().encode()


@router.get("/findings", response_model=FindingList, responses=error_responses())
async def list_findings(provision_id: str | None = Query(None, max_length=60),
                        party: str | None = Query(None, max_length=60),
                        verdict: Verdict | None = None,
                        who: Principal = Depends(principal),
                        st: AppState = Depends(app_state)) -> Response:
    """The findings this key may see (see the roles table in docs/api.md).

    The rendered list is kept for up to a second (``state.FINDINGS_TTL_S``; a ``/check`` or
    publication through this process drops it at once), so readers polling under a heavy
    write load are answered from memory on the event loop.
    """
    key = (who.role, who.bound, provision_id, party, verdict)
    body = st.rendered(key)
    if body is None:
        since = time.monotonic()
        body = await run_in_threadpool(_render_findings, st, who, provision_id, party, verdict)
        st.keep_rendered(key, body, since)
    elif st.refresh_due(key):
        # Past half its life: render it again in the background (from data read now, so the
        # kept body is never older than the TTL), and readers keep hitting the cache instead
        # of one of them paying for the render when the entry expires.
        st.refreshing.add(key)
        task = asyncio.get_running_loop().create_task(
            _refresh(st, key, who, provision_id, party, verdict))
        st.refresh_tasks.add(task)
        task.add_done_callback(st.refresh_tasks.discard)
    return Response(body, media_type="application/json")


async def _refresh(st: AppState, key: tuple[Any, ...], who: Principal,
                   provision_id: str | None, party: str | None, verdict: Verdict | None
                   ) -> None:
    try:
        since = time.monotonic()
        # A failure is left to the next request that misses the cache, which reports it.
        with contextlib.suppress(Exception):
            body = await run_in_threadpool(_render_findings, st, who, provision_id, party,
                                           verdict)
            st.keep_rendered(key, body, since)
    finally:
        st.refreshing.discard(key)


def finding_for(st: AppState, who: Principal, finding_id: str) -> Finding:
    """The finding if this principal may see it (redacted as it sees it), else not found."""
    for f in findings_for(st, who):
        if f.id == finding_id:
            return f
    raise NotFoundError("no such finding", field="finding_id")


@router.get("/findings/{finding_id}", response_model=Finding, responses=error_responses(404))
def get_finding(finding_id: str, who: Principal = Depends(principal),
                st: AppState = Depends(app_state)) -> Finding:
    return finding_for(st, who, finding_id)


@router.post("/findings/{finding_id}/publish", response_model=Finding,
             responses=error_responses(403, 404))
def publish_finding(finding_id: str, who: Principal = Depends(principal),
                    st: AppState = Depends(app_state)) -> Finding:
    """Publish a finding to everyone (analysts); recorded as a status change in the log."""
    require(who, Role.ANALYST)
    f = finding_for(st, who, finding_id)
    if f.id not in st.published():  # the store checks again inside the transaction
        body = {"finding_id": f.id, "status": "published", "by": who.name or "",
                "time": datetime.now(UTC)}
        st.publish(f.id, entry_bytes("status_change", body))
    return f


@router.post("/check", response_model=CheckSummary, responses=error_responses(403, 503))
async def check(request: Request, who: Principal = Depends(principal),
                st: AppState = Depends(app_state)) -> CheckSummary:
    """Re-run every provision over the stored evidence (analysts); then the notifications
    the guarantee clauses call for (docs/guarantees.md)."""
    require(who, Role.ANALYST)
    res = await run_in_threadpool(run_check, st.store)
    st.findings_changed()
    await run_in_threadpool(notify, st.raw_store, clock_of(request)())
    return CheckSummary(findings=res.stored, incidents=res.incidents,
                        new_entries=res.new_entries)
