"""The mission's map: the dashboard page at ``/`` and the few answers only it needs.

The page (``static/index.html`` and plain JS modules, no build step) reads what every other
client reads (``/findings``, ``/reports/daily/{day}``, ``/coverage``, ``/record/proof/...``,
``/findings/{id}/disputes``, ``/notifications``) under the same role policy; the routes here add
only what has no home elsewhere, each through :mod:`policy` and :mod:`redaction` too:

* ``/dashboard/config``: who is signed in, the agreement's period and the public grid;
* ``/dashboard/basemap`` and ``/dashboard/layers``: public geometry (base map, lines, areas of
  control, zones, sectors), simplified for the screen;
* ``/dashboard/incidents``: incidents the caller may see, clustered per zoom on the server, so
  a day of 100,000 incidents is a few hundred marks (bench/bench_dashboard.py);
* ``/dashboard/record/{finding_id}`` and ``/dashboard/checkpoint``: where a finding's
  entry is in the record, and a checkpoint with its cosignatures and the keys to check them,
  so the browser verifies the inclusion proof and the signatures itself (``static/verify.js``).
"""

from __future__ import annotations

import functools
import math
import threading
from datetime import UTC, date, datetime, timedelta
from importlib.resources import files
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse

from truceline.adapters.http import dashboard_layers as layers
from truceline.adapters.http.auth import Principal
from truceline.adapters.http.disclosure import openable, visible_ids_of
from truceline.adapters.http.envelope import error_responses
from truceline.adapters.http.policy import incidents_behind, sees_exact, visible_findings
from truceline.adapters.http.redaction import redact_incident
from truceline.adapters.http.routes_findings import finding_for
from truceline.adapters.http.state import AppState, app_state, principal
from truceline.core.agreements import Agreement
from truceline.core.record.canonical import parse_entry
from truceline.errors import NotFoundError, ValidationError
from truceline.services import record, witnesses
from truceline.services.ports import CHECKED_META

router = APIRouter(tags=["dashboard"])

STATIC = Path(str(files("truceline.adapters.http").joinpath("static")))
#: The longest span of days the incidents route clusters at once.
MAX_DAYS = 62


#: The page runs only its own script files: markup that slips into it (text from a report is a
#: party's or a monitor's) cannot run, and no other site may frame it (its buttons publish).
CSP = "script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"


@router.get("/", include_in_schema=False)
def index() -> HTMLResponse:
    """The dashboard page."""
    return HTMLResponse((STATIC / "index.html").read_text(encoding="utf-8"),
                        headers={"Content-Security-Policy": CSP})


@router.get("/dashboard/static/{path:path}", include_in_schema=False)
def static(path: str) -> FileResponse:
    """The page's scripts, styles and the vendored libraries (nothing outside ``static/``)."""
    target = (STATIC / path).resolve()
    if not target.is_relative_to(STATIC.resolve()) or not target.is_file():
        raise NotFoundError("no such file", field="path")
    return FileResponse(target, headers={"Cache-Control": "max-age=3600"})


def period(ag: Agreement) -> tuple[date, date]:
    """The days the time slider spans: entry into force to the last provision's end (at most
    ``MAX_DAYS`` later; 30 days when every provision is open-ended)."""
    start = ag.entry_into_force_at
    ends = [e for e in (ag.window(p)[1] for p in ag.provisions) if e is not None and e > start]
    end = max(ends) if ends else start + timedelta(days=30)
    end = min(end, start + timedelta(days=MAX_DAYS))
    return start.date(), end.date()


@router.get("/dashboard/config", responses=error_responses(503))
def config(who: Principal = Depends(principal),
           st: AppState = Depends(app_state)) -> dict[str, Any]:
    """Who the key is, the agreement's parties, provisions and period, the public grid
    (None for the mission, which sees exact positions) and the optional tile server."""
    ag = st.context().agreement
    first, last = period(ag)
    return {
        "role": who.role.value, "bound": who.bound, "name": who.name,
        "grid": None if sees_exact(who) else st.grid,
        "tile_url": st.settings.dashboard_tile_url,
        "agreement": {"id": ag.id, "version": ag.version, "title": ag.title,
                      "parties": [p.id for p in ag.parties],
                      "guarantors": [g.id for g in ag.guarantors],
                      "provisions": [{"id": p.id, "clause": p.clause} for p in ag.provisions]},
        "period": {"start": first.isoformat(), "end": last.isoformat()},
    }


@functools.lru_cache(maxsize=1)
def _base() -> dict[str, Any]:
    return layers.base_map()


@router.get("/dashboard/basemap", responses=error_responses())
def basemap() -> JSONResponse:
    """Outline, oblasts, Russia near Ukraine and named places (public, shipped data)."""
    return JSONResponse(_base(), headers={"Cache-Control": "max-age=3600"})


@router.get("/dashboard/published", responses=error_responses(503))
def published(who: Principal = Depends(principal),
              st: AppState = Depends(app_state)) -> dict[str, list[str]]:
    """Which of the findings this key may see are published (for the analyst's "publish"
    button and the list's marks); the public's are all of them."""
    ctx = st.context()
    pub = st.published()
    seen = visible_findings(who, st.findings(), ctx.agreement, pub)
    return {"published": sorted(f.id for f in seen if f.id in pub)}


_layer_cache: dict[tuple[str, int], dict[str, Any]] = {}
_layer_lock = threading.Lock()


@router.get("/dashboard/layers", responses=error_responses(503))
def agreement_layers(st: AppState = Depends(app_state)) -> dict[str, Any]:
    """The agreement's lines, areas of control (with dates), zones and sectors. Public."""
    ag = st.context().agreement
    key = (ag.id, ag.version)
    with _layer_lock:
        if key not in _layer_cache:
            _layer_cache.clear()
            _layer_cache[key] = layers.agreement_layers(ag)
        return _layer_cache[key]


def _time(text: str | None, field: str) -> datetime | None:
    if text is None:
        return None
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationError("not an ISO 8601 time", field=field) from None
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def _bbox(text: str | None) -> tuple[float, float, float, float] | None:
    if text is None:
        return None
    try:
        w, s, e, n = (float(v) for v in text.split(","))
    except ValueError:
        raise ValidationError("four numbers: west,south,east,north", field="bbox") from None
    if not all(math.isfinite(v) for v in (w, s, e, n)) or not (
            w >= -180 and e <= 180 and s >= -90 and n <= 90):
        raise ValidationError("degrees: longitude within -180..180, latitude -90..90",
                              field="bbox")
    if not (w <= e and s <= n):
        raise ValidationError("west must not exceed east, south not north", field="bbox")
    return w, s, e, n


_incident_cache: dict[tuple[Any, ...], layers.IncidentIndex] = {}
_incident_lock = threading.Lock()


def _incident_index(st: AppState, who: Principal, t0: datetime | None,
                    t1: datetime | None) -> layers.IncidentIndex:
    """The incidents ``who`` may see in ``[t0, t1)``, redacted, as arrays; kept until a check
    changes the incidents (incidents follow the observations a check read) or, outside the
    mission, the set behind the findings the key may see changes (a publication, a new
    finding). Panning then costs the clustering only, not reading every incident again."""
    exact = sees_exact(who)
    behind: frozenset[str] = frozenset()
    if not exact:
        ctx = st.context()
        behind = incidents_behind(visible_findings(who, st.findings(), ctx.agreement,
                                                   st.published()))
    # the answer is a function of the store, the check, the span and what is redacted how:
    # the set itself (not its hash, which two sets may share) and the grid it is coarsened to
    key = (st.raw_store.url, st.raw_reader.get_meta(CHECKED_META), t0, t1,
           ("exact",) if exact else (st.grid, behind))
    with _incident_lock:
        hit = _incident_cache.get(key)
    if hit is not None:
        return hit
    recs = st.reader.incident_records(t0, t1)
    if not exact:
        recs = [redact_incident(r, st.grid) for r in recs if r["id"] in behind]
    ix = layers.index_incidents(recs)
    with _incident_lock:
        if len(_incident_cache) >= 16:
            _incident_cache.clear()
        _incident_cache[key] = ix
    return ix


@router.get("/dashboard/incidents", responses=error_responses(503))
def incidents(start: str | None = Query(None, max_length=40),
              end: str | None = Query(None, max_length=40),
              zoom: int = Query(6, ge=0, le=20),
              bbox: str | None = Query(None, max_length=120,
                                       description="west,south,east,north (degrees)"),
              who: Principal = Depends(principal),
              st: AppState = Depends(app_state)) -> dict[str, Any]:
    """Incidents in ``[start, end)`` inside ``bbox``, clustered for ``zoom``: analysts all,
    exact; everyone else those behind the findings it may see, on the public grid."""
    t0, t1 = _time(start, "start"), _time(end, "end")
    span = timedelta(days=MAX_DAYS)
    try:  # one bound alone spans MAX_DAYS too: no query reads every incident from a day on
        t1 = t0 + span if t0 and not t1 else t1
        t0 = t1 - span if t1 and not t0 else t0
    except OverflowError:
        raise ValidationError("too far from year 1 or 9999", field="start" if start else "end") \
            from None
    if t0 and t1 and (t1 <= t0 or t1 - t0 > span):
        raise ValidationError(f"must be after start, at most {MAX_DAYS} days", field="end")
    box = _bbox(bbox)
    grid = None if sees_exact(who) else st.grid
    total, marks = layers.cluster(_incident_index(st, who, t0, t1), zoom, grid, box)
    return {"zoom": zoom, "cell_deg": layers.cell_deg(zoom, grid), "total": total,
            "marks": marks}


#: Per store: how many entries were read, and finding id -> index of its latest entry.
_index_cache: dict[str, tuple[int, dict[str, int]]] = {}
_index_lock = threading.Lock()


def finding_entries(st: AppState) -> dict[str, int]:
    """Finding id -> index of its latest ``finding`` entry in the record, read from the
    openings of the finding entries (or the body of a plaintext one). The record only grows,
    so each call reads just the entries appended since the last."""
    store = st.raw_store
    with _index_lock:
        done, known = _index_cache.get(store.url, (0, {}))
        n = store.entry_count()
        if done > n:  # another store at the same URL: start again
            done, known = 0, {}
        out = dict(known)
        step = 20_000
        for lo in range(done, n, step):
            found = [e for e in store.entries(lo, min(n, lo + step)) if e.type == "finding"]
            if not found:
                continue
            ops = store.openings(found[0].index, found[-1].index + 1)
            for e in found:
                opened = ops.get(e.index, {}).get("id")
                # without an opening: a plaintext entry from before commitments
                fid = opened[1] if opened is not None else parse_entry(e.data)[1].get("id")
                if isinstance(fid, str):
                    out[fid] = e.index
        _index_cache[store.url] = (n, out)
        return out


@router.get("/dashboard/record/{finding_id}", responses=error_responses(404))
def finding_record(finding_id: str, who: Principal = Depends(principal),
                   st: AppState = Depends(app_state)) -> dict[str, Any]:
    """Where a finding this key may see is in the record: its entry's index, the checkpoint
    to prove it against (the latest the parties' quorum cosigned, else the latest), and the
    opening of the entry's ``id`` field when this key may open it (docs/record.md)."""
    f = finding_for(st, who, finding_id)  # not found unless this key may see it
    index = finding_entries(st).get(f.id)
    if index is None:
        raise NotFoundError("this finding is not in the record yet", field="finding_id")
    sizes = [c.size for c in st.raw_store.checkpoints() if c.size > index]
    if not sizes:
        raise NotFoundError("no checkpoint covers this finding's entry yet", field="finding_id")
    final = witnesses.final_checkpoint(st.raw_store)
    size = final[0].size if final is not None and final[0].size > index else sizes[-1]
    opening = None
    salt_value = st.raw_store.openings(index, index + 1).get(index, {}).get("id")
    if salt_value is not None:
        body = {"id": f.id}
        allowed = openable(who, "finding", body, visible_ids_of(st.raw_store, who))
        if allowed is None or "id" in allowed:
            opening = {"field": "id", "salt": salt_value[0].hex(), "value": salt_value[1]}
    return {"finding_id": f.id, "index": index, "size": size, "opening": opening}


@router.get("/dashboard/checkpoint", responses=error_responses(404))
def checkpoint(size: int | None = Query(None, ge=1, le=2**62,
                                        description="Default: the latest checkpoint."),
               who: Principal = Depends(principal),
               st: AppState = Depends(app_state)) -> dict[str, Any]:
    """A stored checkpoint with every cosignature, the log's key and the parties' witness
    keys (in the agreement's order of parties): all a browser needs to check the signatures
    itself. Public."""
    if size is None:
        stored = st.raw_store.checkpoints()
        if not stored:
            raise NotFoundError("no checkpoint yet", field="size")
        size = stored[-1].size
    note = witnesses.cosigned_note(st.raw_store, size)
    order = [p.id for p in st.context().agreement.parties]
    found = witnesses.witness_keys(st.raw_store)
    keys = {party: [v.to_vkey() for v in found[party]]
            for party in sorted(found, key=lambda p: (p not in order, order.index(p)
                                                      if p in order else 0, p))}
    return {"size": size, "note": note.decode(),
            "log_vkey": record.log_verifier(st.raw_store).to_vkey(), "witnesses": keys}
