"""The collections of the OGC API: what each holds, for whom, and how it is built.

Incidents and findings are what the key may see through ``/incidents`` and ``/findings``
(coarsened outside the mission); zones and lines are the agreement's geography, computed once
per agreement version; coverage gaps are ``GET /coverage``'s gaps over the last reporting period
that has ended in the record (whole periods: what outsiders may ask ``/coverage`` for); the
observations are read from the store a page at a time
(:mod:`truceline.adapters.http.ogc_observations`).
"""

from __future__ import annotations

import threading

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from truceline.adapters.http.auth import Principal, Role
from truceline.adapters.http.ogc_features import Collection, Item, flat, point, time_of
from truceline.adapters.http.ogc_observations import (
    observation_extent,
    observation_one,
    observation_page,
    observation_schema,
)
from truceline.adapters.http.routes_findings import findings_for, incidents_for
from truceline.adapters.http.state import AppState
from truceline.services.context import AgreementContext


def _incidents(st: AppState, who: Principal) -> list[Item]:
    out = []
    for r in incidents_for(st, who):
        role, loc = next(
            ((k, r[k]) for k in ("origin", "impact", "location") if r.get(k)), (None, None)
        )
        props = {k: flat(v) for k, v in r.items() if k not in ("origin", "impact", "location")}
        props["located_as"] = role
        out.append(
            Item(r["id"], point(loc["lon"], loc["lat"]) if loc else None, time_of(r["time"]), props)
        )
    return out


def _findings(st: AppState, who: Principal) -> list[Item]:
    out = []
    for f in findings_for(st, who):
        rec = f.to_record()
        props = {k: flat(v) for k, v in rec.items() if k not in ("lon", "lat")}
        out.append(Item(f.id, point(f.lon, f.lat), time_of(f.time), props))
    return out


def _coverage_gaps(st: AppState, who: Principal) -> list[Item]:
    """Stretches of the line a party's side was observed less than half of the last reporting
    period that has ended in the monitoring records (fire): the same gaps as an outsider's
    ``GET /coverage``, for every role (one layer; no window finer than a period)."""
    from truceline.adapters.http.routes_coverage import mission_coverage
    from truceline.services.coverage import gap_geometries

    out = []
    for g in gap_geometries(mission_coverage(st), whole_periods=True):
        geom = shapely.MultiLineString(g["stretch"]["coordinates"])
        props = {k: flat(v) for k, v in g.items() if k not in ("stretch", "area")}
        gid = f"gap-{g['party']}-{g['from_km']:g}-{g['to_km']:g}"
        out.append(Item(gid, geom, time_of(g["end"]), props))
    return out


_geo_cache: dict[int, dict[str, list[Item]]] = {}
_geo_lock = threading.Lock()


def _buffer_km(ctx: AgreementContext, g: BaseGeometry, km: float) -> BaseGeometry:
    assert ctx.geometry is not None
    proj = ctx.geometry.projection
    xy = shapely.transform(g, lambda c: np.column_stack(proj.forward(c[:, 0], c[:, 1])))
    grown = xy.buffer(km * 1000.0, quad_segs=4).simplify(100.0)
    return shapely.transform(grown, lambda c: np.column_stack(proj.inverse(c[:, 0], c[:, 1])))


def _agreement_geometry(ctx: AgreementContext) -> dict[str, list[Item]]:
    """Zones and lines of an agreement as items (computed once per agreement version)."""
    with _geo_lock:
        hit = _geo_cache.get(id(ctx))
    if hit is not None:
        return hit
    lines: list[Item] = []
    zones: list[Item] = []
    if ctx.geometry is not None and ctx.agreement.geography is not None:
        spec, geo = ctx.geometry.spec, ctx.agreement.geography
        for ln in geo.lines:
            lines.append(
                Item(
                    ln.id,
                    spec.lines[ln.id],
                    None,
                    {
                        "id": ln.id,
                        "name": ln.name,
                        "line_of_contact": ln.id == geo.line_of_contact,
                        "note": ln.note,
                    },
                )
            )
        for z, zs in zip(geo.zones, spec.zones, strict=True):
            g = zs.polygon
            if g is None and zs.line is not None and zs.within_km is not None:
                g = _buffer_km(ctx, spec.lines[zs.line], zs.within_km)
                if zs.party_side is not None:
                    held = [
                        c.geometry
                        for c in spec.control
                        if c.party == zs.party_side and c.valid_to is None
                    ]
                    if held:
                        g = g.intersection(shapely.union_all(held))
            zones.append(
                Item(
                    z.id,
                    g,
                    None,
                    {
                        "id": z.id,
                        "name": z.name,
                        "line": z.line,
                        "within_km": z.within_km_of_line,
                        "party_side": z.party_side,
                    },
                )
            )
    out = {"zones": zones, "lines": lines}
    with _geo_lock:
        _geo_cache[id(ctx)] = out
    return out


COLLECTIONS = {
    c.id: c
    for c in [
        Collection(
            "incidents",
            "Incidents",
            "Fused events (origin, impact or location).",
            frozenset(Role),
            _incidents,
            "geometry-point",
        ),
        Collection(
            "findings",
            "Findings",
            "Determinations about provisions, with evidence.",
            frozenset(Role),
            _findings,
            "geometry-point",
        ),
        Collection(
            "observations",
            "Observations",
            "Observations as submitted (own or all).",
            frozenset({Role.MONITOR, Role.PARTY, Role.ANALYST}),
            None,
            "geometry-point",
            page=observation_page,
            one=observation_one,
            extent=observation_extent,
            schema=observation_schema,
        ),
        Collection(
            "zones",
            "Zones",
            "Zones of the agreement.",
            frozenset(Role),
            lambda st, who: _agreement_geometry(st.context())["zones"],
        ),
        Collection(
            "lines",
            "Lines",
            "Line of contact and reference lines.",
            frozenset(Role),
            lambda st, who: _agreement_geometry(st.context())["lines"],
        ),
        Collection(
            "coverage_gaps",
            "Coverage gaps",
            "Stretches of the line of contact a party's side was observed less than half "
            "of the last 24 h of monitoring (fire); no asset positions.",
            frozenset(Role),
            _coverage_gaps,
            "geometry-multilinestring",
        ),
    ]
}


__all__ = ["COLLECTIONS"]
