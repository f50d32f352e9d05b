"""What the dashboard draws and that everyone may see: the base map and the agreement's layers.

Everything here is public (the shipped outline, oblasts, Russia near Ukraine and named places;
the agreement's lines, areas of control, zones and sectors, which the agreement itself states),
so one answer serves every role. Polygons are simplified for the screen (``SIMPLIFY_DEG``): the
layers orient a reader, the findings are computed from the exact geometry in the core.

Incidents are clustered here per zoom level, so a browser draws a few hundred marks whatever
the number of incidents (:func:`cluster`); for anyone outside the mission a cluster sits at
the centre of a cell at least as coarse as the public grid, never at an exact position.
"""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

import numpy as np
import shapely
from shapely.geometry import LineString, mapping

from truceline.adapters.http.redaction import coarsen
from truceline.core.agreement_geometry import geometry_spec
from truceline.core.agreements import Agreement
from truceline.core.places import PLACES
from truceline.errors import TrucelineError

#: Tolerance (degrees, about 1 km) to which polygons are simplified for drawing.
SIMPLIFY_DEG = 0.01
#: Width of a cluster cell on screen, in pixels (Leaflet's 256-pixel tiles at each zoom).
CLUSTER_PX = 48
BASE_FILES = {"outline": "ukraine_outline.geojson", "oblasts": "ukraine_oblasts.geojson",
              "russia": "russia_land_near_ukraine.geojson"}


def _geojson(name: str) -> dict[str, Any]:
    text = files("truceline.examples").joinpath(f"geometry/{name}").read_text(encoding="utf-8")
    doc = json.loads(text)
    for f in doc.get("features", []):
        if f.get("geometry"):
            g = shapely.geometry.shape(f["geometry"]).simplify(SIMPLIFY_DEG)
            f["geometry"] = mapping(g)
    return dict(doc)


def base_map() -> dict[str, Any]:
    """Outline, oblasts, Russia near Ukraine and the named places (core/places.py)."""
    out = {k: _geojson(v) for k, v in BASE_FILES.items()}
    out["places"] = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [p.lon, p.lat]},
         "properties": {"name": p.name, "kind": p.kind, "rank": p.rank, "country": p.country}}
        for p in PLACES]}
    return out


def _feature(geom: Any, **props: Any) -> dict[str, Any]:
    g = geom.simplify(SIMPLIFY_DEG) if geom.geom_type.endswith("Polygon") else geom
    return {"type": "Feature", "geometry": mapping(g), "properties": props}


def _day(v: Any) -> str | None:
    return None if v is None else str(v)[:10]


def _km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance (km) between two lon/lat points (haversine, mean radius)."""
    (lon1, lat1), (lon2, lat2) = a, b
    p1, p2 = math.radians(lat1), math.radians(lat2)
    h = (math.sin((p2 - p1) / 2) ** 2
         + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2)
    return 2 * 6371.0088 * math.asin(math.sqrt(h))


def stretch(line: Any, from_km: float, to_km: float) -> list[list[tuple[float, float]]]:
    """The part of ``line`` between two chainages (km from its start, parts in order)."""
    parts, at, out = list(getattr(line, "geoms", [line])), 0.0, []
    for part in parts:
        cur: list[tuple[float, float]] = []
        pts = [(float(x), float(y)) for x, y in part.coords]
        for a, b in itertools.pairwise(pts):
            d = _km(a, b)
            if at + d >= from_km and at <= to_km:
                cur += [a, b] if not cur else [b]
            at += d
        if len(cur) > 1:
            out.append(cur)
    return out


def agreement_layers(ag: Agreement) -> dict[str, Any]:
    """Lines, areas of control (with the dates they hold), zones and sectors as GeoJSON."""
    try:
        spec = geometry_spec(ag)
    except TrucelineError:
        return {"lines": [], "control": [], "zones": [], "sectors": []}
    g = ag.geography
    names = {ln.id: ln.name for ln in g.lines} if g else {}
    lines = [_feature(geom, id=lid, name=names.get(lid) or lid) for lid, geom in spec.lines.items()]
    control = [_feature(c.geometry, party=c.party, valid_from=_day(c.valid_from),
                        valid_to=_day(c.valid_to)) for c in spec.control]
    zones = []
    for z in spec.zones:
        poly = z.polygon
        if poly is None and z.line in spec.lines and z.within_km:
            # a display approximation of "within N km of the line" (degrees at ~48 N)
            band = shapely.buffer(spec.lines[z.line], z.within_km / 111.0 * 1.2)
            side = [c.geometry for c in spec.control if c.party == z.party_side
                    and c.valid_to is None]
            poly = band.intersection(shapely.union_all(side)) if side else band
        if poly is not None and not poly.is_empty:
            zones.append(_feature(poly, id=z.id, party_side=z.party_side,
                                  within_km=z.within_km))
    sectors = []
    for s in spec.sectors:
        parts = stretch(spec.lines[s.line], s.from_km, s.to_km) if s.line in spec.lines else []
        if parts:
            geom = shapely.MultiLineString([LineString(p) for p in parts])
            name = next((x.name for x in g.sectors if x.id == s.id), s.id) if g else s.id
            sectors.append(_feature(geom, id=s.id, name=name or s.id, from_km=s.from_km,
                                    to_km=s.to_km))
    return {"lines": lines, "control": control, "zones": zones, "sectors": sectors}


def _position(rec: dict[str, Any]) -> tuple[float, float] | None:
    for key in ("impact", "location", "origin"):
        loc = rec.get(key)
        if loc is not None:
            return float(loc["lon"]), float(loc["lat"])
    return None


@dataclass(frozen=True)
class IncidentIndex:
    """Located incidents as arrays, built once per answer set and clustered per request."""

    recs: list[dict[str, Any]]
    lon: np.ndarray
    lat: np.ndarray
    count: np.ndarray
    kind: np.ndarray  # index into ``kinds``
    kinds: tuple[str, ...]


def index_incidents(recs: list[dict[str, Any]]) -> IncidentIndex:
    located = [(r, p) for r in recs if (p := _position(r)) is not None]
    names: dict[str, int] = {}
    codes = [names.setdefault(str(r.get("fire_type") or r.get("kind")), len(names))
             for r, _ in located]
    return IncidentIndex(
        recs=[r for r, _ in located],
        lon=np.array([p[0] for _, p in located], dtype=float),
        lat=np.array([p[1] for _, p in located], dtype=float),
        count=np.array([int(r.get("count") or 1) for r, _ in located], dtype=float),
        kind=np.array(codes, dtype=np.int64), kinds=tuple(names))


def cell_deg(zoom: int, grid: float | None) -> float:
    """A cluster cell's size (degrees) at ``zoom``: ``CLUSTER_PX`` on screen, and for anyone
    outside the mission a whole multiple of the public grid (``grid``), never finer."""
    cell = 360.0 * CLUSTER_PX / (256 * 2 ** zoom)
    if grid is not None:
        cell = grid * max(1, math.ceil(cell / grid - 1e-9))
    return cell


def cluster(ix: IncidentIndex, zoom: int, grid: float | None,
            bbox: tuple[float, float, float, float] | None = None,
            single_from_zoom: int = 11) -> tuple[int, list[dict[str, Any]]]:
    """The incidents inside ``bbox`` (all if None), grouped per cell at ``zoom``: their number
    and the marks to draw.

    A cluster carries its number of incidents, their summed counts, the number per kind and a
    position: the mean for the mission (``grid`` None), for everyone else the centre of the
    public grid's cell that holds the cluster cell's centre. From ``single_from_zoom`` on, a
    cell holding one incident gives the incident itself (redacted as the caller passed it),
    so it can be clicked and its ellipse drawn.
    """
    keep = np.ones(len(ix.lon), dtype=bool)
    if bbox is not None:
        w, s, e, n = bbox
        keep = (ix.lon >= w) & (ix.lon <= e) & (ix.lat >= s) & (ix.lat <= n)
    rows = np.flatnonzero(keep)
    if not len(rows):
        return 0, []
    cell = cell_deg(zoom, grid)
    cx = np.floor(ix.lon[rows] / cell).astype(np.int64)
    cy = np.floor(ix.lat[rows] / cell).astype(np.int64)
    _, first, inv, n = np.unique(cx * (1 << 32) + cy, return_index=True, return_inverse=True,
                                 return_counts=True)
    g, k = len(n), len(ix.kinds)
    counts = np.bincount(inv, weights=ix.count[rows], minlength=g)
    mean_lon = np.bincount(inv, weights=ix.lon[rows], minlength=g) / n
    mean_lat = np.bincount(inv, weights=ix.lat[rows], minlength=g) / n
    per_kind = np.bincount(inv * k + ix.kind[rows], minlength=g * k).reshape(g, k)
    out: list[dict[str, Any]] = []
    for c in range(g):
        if n[c] == 1 and zoom >= single_from_zoom:
            out.append({"incident": ix.recs[int(rows[first[c]])]})
            continue
        if grid is None:
            lon, lat = float(mean_lon[c]), float(mean_lat[c])
        else:
            i, j = int(cx[first[c]]), int(cy[first[c]])
            lon, lat = coarsen((i + 0.5) * cell, (j + 0.5) * cell, grid)
        out.append({"lon": round(lon, 6), "lat": round(lat, 6), "n": int(n[c]),
                    "count": int(counts[c]),
                    "kinds": {ix.kinds[x]: int(v) for x, v in enumerate(per_kind[c]) if v}})
    return len(rows), out
