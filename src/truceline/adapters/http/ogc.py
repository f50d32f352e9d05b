"""OGC API - Features (Part 1: Core, GeoJSON, OpenAPI 3.0) over the same data and roles.

So that QGIS, GDAL's OAPIF driver and OWSLib read it as it is: a landing page at ``/ogc`` with
``service-desc``, ``conformance`` and ``data`` links; ``/ogc/collections`` with each
collection's extent; items as ``application/geo+json`` FeatureCollections with
``numberMatched``/``numberReturned`` and ``self``/``next``/``prev`` links; ``limit``, ``bbox``
(CRS84) and ``datetime`` (an instant, or an interval with ``..`` for an open end).

Collections: ``incidents`` and ``findings`` (what the key may see, coarsened outside the
mission), ``observations`` (monitors and parties: their own; analysts: all), ``zones`` and
``lines`` of the agreement (zones defined by a distance from a line are drawn as that buffer,
clipped to the party's area of control when the zone is one side only), ``coverage_gaps``
(line features: stretches of a party's side of the line the mission observed less than half
of the last 24 h of monitoring records, for fire; ``GET /coverage`` asks for any window).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import shapely
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from shapely.geometry import mapping
from shapely.geometry.base import BaseGeometry

from truceline.adapters.http.auth import Principal, Role, require
from truceline.adapters.http.envelope import error_responses
from truceline.adapters.http.routes_findings import findings_for, incidents_for
from truceline.adapters.http.state import AppState, app_state, principal
from truceline.errors import NotFoundError, ValidationError
from truceline.services.context import AgreementContext

router = APIRouter(prefix="/ogc", tags=["OGC API - Features"])

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
GEOJSON = "application/geo+json"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
]
MAX_LIMIT = 10_000
_GEO: dict[int | str, dict[str, Any]] = {
    200: {"description": "GeoJSON", "content": {GEOJSON: {"schema": {"type": "object"}}}}}


@dataclass(frozen=True)
class Item:
    """One feature before encoding: id, geometry (lon/lat), time (for ``datetime``), props."""

    id: str
    geometry: BaseGeometry | None
    time: datetime | None
    properties: dict[str, Any]

    def feature(self) -> dict[str, Any]:
        return {"type": "Feature", "id": self.id,
                "geometry": mapping(self.geometry) if self.geometry is not None else None,
                "properties": self.properties}


@dataclass(frozen=True)
class Collection:
    id: str
    title: str
    description: str
    roles: frozenset[Role]
    items: Callable[[AppState, Principal], list[Item]]


def _t(s: str | None) -> datetime | None:
    return datetime.fromisoformat(s) if s else None


def _flat(v: Any) -> Any:
    """GIS clients want scalar attributes: lists and objects become JSON text."""
    return json.dumps(v, sort_keys=True) if isinstance(v, dict | list | tuple) else v


def _pt(lon: Any, lat: Any) -> BaseGeometry | None:
    return shapely.Point(lon, lat) if lon is not None and lat is not None else None


def _incidents(st: AppState, who: Principal) -> list[Item]:
    out = []
    for r in incidents_for(st, who):
        role, loc = next(((k, r[k]) for k in ("origin", "impact", "location") if r.get(k)),
                         (None, None))
        props = {k: _flat(v) for k, v in r.items() if k not in ("origin", "impact", "location")}
        props["located_as"] = role
        out.append(Item(r["id"], _pt(loc["lon"], loc["lat"]) if loc else None, _t(r["time"]),
                        props))
    return out


def _findings(st: AppState, who: Principal) -> list[Item]:
    out = []
    for f in findings_for(st, who):
        rec = f.to_record()
        props = {k: _flat(v) for k, v in rec.items() if k not in ("lon", "lat")}
        out.append(Item(f.id, _pt(f.lon, f.lat), _t(f.time), props))
    return out


def _coverage_gaps(st: AppState, who: Principal) -> list[Item]:
    """Stretches of the line a party's side was observed less than half of the last 24 h
    the monitoring records speak for (fire); the same gaps as ``GET /coverage``."""
    from truceline.adapters.http.routes_coverage import mission_coverage
    from truceline.services.coverage import gap_geometries

    out = []
    for g in gap_geometries(mission_coverage(st)):
        geom = shapely.MultiLineString(g["stretch"]["coordinates"])
        props = {k: _flat(v) for k, v in g.items() if k not in ("stretch", "area")}
        gid = f"gap-{g['party']}-{g['from_km']:g}-{g['to_km']:g}"
        out.append(Item(gid, geom, _t(g["end"]), props))
    return out


def _observations(st: AppState, who: Principal) -> list[Item]:
    source = None if who.role is Role.ANALYST else who.bound
    out = []
    for o in st.reader.observations(source_id=source):
        rec = o.to_record()
        props = {k: _flat(v) for k, v in rec.items() if k not in ("lon", "lat")}
        out.append(Item(o.id, _pt(o.lon, o.lat), o.time, props))
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
            lines.append(Item(ln.id, spec.lines[ln.id], None, {
                "id": ln.id, "name": ln.name, "line_of_contact": ln.id == geo.line_of_contact,
                "note": ln.note}))
        for z, zs in zip(geo.zones, spec.zones, strict=True):
            g = zs.polygon
            if g is None and zs.line is not None and zs.within_km is not None:
                g = _buffer_km(ctx, spec.lines[zs.line], zs.within_km)
                if zs.party_side is not None:
                    held = [c.geometry for c in spec.control
                            if c.party == zs.party_side and c.valid_to is None]
                    if held:
                        g = g.intersection(shapely.union_all(held))
            zones.append(Item(z.id, g, None, {
                "id": z.id, "name": z.name, "line": z.line, "within_km": z.within_km_of_line,
                "party_side": z.party_side}))
    out = {"zones": zones, "lines": lines}
    with _geo_lock:
        _geo_cache[id(ctx)] = out
    return out


COLLECTIONS = {c.id: c for c in [
    Collection("incidents", "Incidents", "Fused events (origin, impact or location).",
               frozenset(Role), _incidents),
    Collection("findings", "Findings", "Determinations about provisions, with evidence.",
               frozenset(Role), _findings),
    Collection("observations", "Observations", "Observations as submitted (own or all).",
               frozenset({Role.MONITOR, Role.PARTY, Role.ANALYST}), _observations),
    Collection("zones", "Zones", "Zones of the agreement.", frozenset(Role),
               lambda st, who: _agreement_geometry(st.context())["zones"]),
    Collection("lines", "Lines", "Line of contact and reference lines.", frozenset(Role),
               lambda st, who: _agreement_geometry(st.context())["lines"]),
    Collection("coverage_gaps", "Coverage gaps",
               "Stretches of the line of contact a party's side was observed less than half "
               "of the last 24 h of monitoring (fire); no asset positions.", frozenset(Role),
               _coverage_gaps),
]}


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/ogc"


def _collection(collection_id: str, who: Principal) -> Collection:
    c = COLLECTIONS.get(collection_id)
    if c is None:
        raise NotFoundError("no such collection", field="collection_id")
    require(who, *c.roles)
    return c


def _extent(items: list[Item]) -> dict[str, Any]:
    geoms = [i.geometry for i in items if i.geometry is not None and not i.geometry.is_empty]
    bbox = list(shapely.union_all(geoms).bounds) if geoms else [-180.0, -90.0, 180.0, 90.0]
    times = sorted(i.time for i in items if i.time is not None)
    iso = [t.astimezone(UTC).isoformat().replace("+00:00", "Z") for t in times]
    interval = [iso[0], iso[-1]] if iso else [None, None]
    return {"spatial": {"bbox": [bbox], "crs": CRS84},
            "temporal": {"interval": [interval],
                         "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"}}


def _describe(base: str, c: Collection, st: AppState, who: Principal) -> dict[str, Any]:
    url = f"{base}/collections/{c.id}"
    return {
        "id": c.id, "title": c.title, "description": c.description, "itemType": "feature",
        "crs": [CRS84], "extent": _extent(c.items(st, who)),
        "links": [
            {"href": url, "rel": "self", "type": "application/json", "title": c.title},
            {"href": f"{url}/items", "rel": "items", "type": GEOJSON, "title": c.title},
        ],
    }


@router.get("", responses=error_responses())
def landing(request: Request, who: Principal = Depends(principal)) -> dict[str, Any]:
    base = _base(request)
    return {"title": "truceline", "description": "Ceasefire verification: incidents, findings, "
            "observations, zones and lines (OGC API - Features).", "links": [
                {"href": base, "rel": "self", "type": "application/json", "title": "this"},
                {"href": f"{base}/api", "rel": "service-desc",
                 "type": "application/vnd.oai.openapi+json;version=3.0", "title": "OpenAPI"},
                {"href": f"{base}/conformance", "rel": "conformance",
                 "type": "application/json", "title": "conformance"},
                {"href": f"{base}/collections", "rel": "data", "type": "application/json",
                 "title": "collections"}]}


@router.get("/conformance", responses=error_responses())
def conformance(who: Principal = Depends(principal)) -> dict[str, Any]:
    return {"conformsTo": CONFORMANCE}


@router.get("/api", responses={200: {"description": "OpenAPI 3 document", "content": {
    "application/vnd.oai.openapi+json;version=3.0": {"schema": {"type": "object"}}}}})
def api(request: Request) -> JSONResponse:
    return JSONResponse(request.app.openapi(),
                        media_type="application/vnd.oai.openapi+json;version=3.0")


@router.get("/collections", responses=error_responses())
def collections(request: Request, who: Principal = Depends(principal),
                st: AppState = Depends(app_state)) -> dict[str, Any]:
    base = _base(request)
    return {"links": [{"href": f"{base}/collections", "rel": "self", "type": "application/json"}],
            "collections": [_describe(base, c, st, who) for c in COLLECTIONS.values()
                            if who.role in c.roles]}


@router.get("/collections/{collection_id}", responses=error_responses(403, 404))
def collection(collection_id: str, request: Request, who: Principal = Depends(principal),
               st: AppState = Depends(app_state)) -> dict[str, Any]:
    return _describe(_base(request), _collection(collection_id, who), st, who)


def parse_bbox(text: str | None) -> tuple[float, float, float, float] | None:
    if text is None:
        return None
    try:
        v = [float(x) for x in text.split(",")]
    except ValueError:
        raise ValidationError("four numbers: minlon,minlat,maxlon,maxlat", field="bbox") from None
    if len(v) == 6:  # 3D: drop the heights
        v = [v[0], v[1], v[3], v[4]]
    if len(v) != 4 or not all(np.isfinite(v)) or v[0] > v[2] or v[1] > v[3]:
        raise ValidationError("four numbers: minlon,minlat,maxlon,maxlat", field="bbox")
    return v[0], v[1], v[2], v[3]


def _instant(s: str) -> datetime | None:
    if s in ("", ".."):
        return None
    try:
        t = datetime.fromisoformat(s)
    except ValueError:
        raise ValidationError(f"not an RFC 3339 date-time: {s!r}", field="datetime") from None
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)


def parse_datetime(text: str | None) -> tuple[datetime | None, datetime | None] | None:
    """An instant ``t`` is [t, t]; an interval ``a/b`` is [a, b] with ``..`` or '' open."""
    if text is None:
        return None
    if "/" in text:
        a, _, b = text.partition("/")
        lo, hi = _instant(a), _instant(b)
        if lo is not None and hi is not None and lo > hi:
            raise ValidationError("the interval ends before it starts", field="datetime")
        return lo, hi
    t = _instant(text)
    if t is None:
        raise ValidationError("give an instant or an interval", field="datetime")
    return t, t


def _select(items: list[Item], bbox: tuple[float, float, float, float] | None,
            when: tuple[datetime | None, datetime | None] | None) -> list[Item]:
    if bbox is not None:
        box = shapely.box(*bbox)
        items = [i for i in items if i.geometry is not None and i.geometry.intersects(box)]
    if when is not None:
        lo, hi = when
        items = [i for i in items if i.time is not None and (lo is None or i.time >= lo)
                 and (hi is None or i.time <= hi)]
    return items


def _link(request: Request, rel: str, offset: int) -> dict[str, Any]:
    url = request.url.include_query_params(offset=offset)
    return {"href": str(url), "rel": rel, "type": GEOJSON}


@router.get("/collections/{collection_id}/items", response_class=JSONResponse,
            responses={**error_responses(403, 404), **_GEO})
def items(collection_id: str, request: Request,
          limit: int = Query(100, ge=1, le=MAX_LIMIT),
          offset: int = Query(0, ge=0, le=10**9),
          bbox: str | None = Query(None, max_length=400, description="minlon,minlat,maxlon,maxlat"),
          datetime_: str | None = Query(None, alias="datetime", max_length=100,
                                        description="Instant, or interval a/b ('..' = open)"),
          who: Principal = Depends(principal), st: AppState = Depends(app_state)
          ) -> JSONResponse:
    c = _collection(collection_id, who)
    chosen = _select(c.items(st, who), parse_bbox(bbox), parse_datetime(datetime_))
    page = chosen[offset:offset + limit]
    links = [_link(request, "self", offset)]
    if offset + len(page) < len(chosen):
        links.append(_link(request, "next", offset + limit))
    if offset > 0:
        links.append(_link(request, "prev", max(0, offset - limit)))
    body = {"type": "FeatureCollection", "features": [i.feature() for i in page],
            "numberMatched": len(chosen), "numberReturned": len(page),
            "timeStamp": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
            "links": links}
    return JSONResponse(body, media_type=GEOJSON)


@router.get("/collections/{collection_id}/items/{feature_id}", response_class=JSONResponse,
            responses={**error_responses(403, 404), **_GEO})
def item(collection_id: str, feature_id: str, request: Request,
         who: Principal = Depends(principal), st: AppState = Depends(app_state)) -> JSONResponse:
    c = _collection(collection_id, who)
    for i in c.items(st, who):
        if i.id == feature_id:
            url = f"{_base(request)}/collections/{c.id}"
            body = {**i.feature(), "links": [
                {"href": f"{url}/items/{i.id}", "rel": "self", "type": GEOJSON},
                {"href": url, "rel": "collection", "type": "application/json"}]}
            return JSONResponse(body, media_type=GEOJSON)
    raise NotFoundError("no such feature", field="feature_id")


__all__ = ["COLLECTIONS", "parse_bbox", "parse_datetime", "router"]
