"""Where the agreement's zones lie on a map, drawn from the geometry the checks use.

A check decides "in zone" by :func:`~truceline.core.classify.classify`: the planar distance to
the zone's line in the agreement's projection (within ``within_km``), and, for a zone on one
party's side, the side of the line that party holds (``side_party``). This module turns the
same decision into polygons (lon/lat) a map can draw:

* the band is the line's buffer by ``within_km`` *in metres, in the checks' projection* (not in
  degrees: a degree of longitude is ~74 km at 48 N, a degree of latitude ~111 km);
* a zone on one side keeps the pieces of the band, cut by the line (its ends extended through
  the round caps), whose side :func:`classify` gives to that party;
* a zone given as a polygon is that polygon.

The outline is simplified to :data:`SIMPLIFY_M` for drawing; a point farther than that from
the outline gets the same answer from the drawing as from the check (a test holds them to it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.ops import split

from truceline.core.classify import CompiledGeometry, classify
from truceline.core.geo.index import line_parts

__all__ = ["SIMPLIFY_M", "ZoneShape", "zone_shapes"]

F64 = NDArray[np.float64]

#: Tolerance (m, in the projection) of the drawn outline.
SIMPLIFY_M = 200.0
#: The line is thinned by this much (m) before it is buffered (well inside SIMPLIFY_M).
_THIN_M = 100.0


@dataclass(frozen=True)
class ZoneShape:
    """One zone's area in lon/lat: polygons as (exterior ring, interior rings)."""

    id: str
    party_side: str | None
    within_km: float | None
    area: tuple[tuple[F64, tuple[F64, ...]], ...]

    def to_json(self) -> dict[str, Any]:
        """GeoJSON-style MultiPolygon coordinates, rounded to ~10 m."""
        def ring(a: F64) -> list[list[float]]:
            out: list[list[float]] = np.round(a, 4).tolist()
            return out

        return {"id": self.id, "party_side": self.party_side, "within_km": self.within_km,
                "area": {"type": "MultiPolygon",
                         "coordinates": [[ring(e), *(ring(h) for h in holes)]
                                         for e, holes in self.area]}}


def _extended(xy: F64, reach_m: float) -> F64:
    """The part with both ends pushed ``reach_m`` further along its end segments, so that it
    cuts the band's round caps in two."""
    if len(xy) < 2:
        return xy

    def push(a: F64, b: F64) -> F64:
        d = a - b
        n = float(np.hypot(*d))
        return a + d / n * reach_m if n > 0 else a

    return np.vstack([push(xy[0], xy[1]), xy, push(xy[-1], xy[-2])])


def _to_lonlat(geom: CompiledGeometry, g: Any) -> tuple[tuple[F64, tuple[F64, ...]], ...]:
    def ring(r: Any) -> F64:
        c = np.asarray(r.coords, float)
        lon, lat = geom.projection.inverse(c[:, 0], c[:, 1])
        return np.column_stack([lon, lat])

    out = []
    for p in getattr(g, "geoms", [g]):
        if p.geom_type == "Polygon" and not p.is_empty:
            out.append((ring(p.exterior), tuple(ring(i) for i in p.interiors)))
    return tuple(out)


def _band_xy(geom: CompiledGeometry, line: str, km: float, party: str | None,
             bands: dict[tuple[str, float], Any]) -> Any:
    """The zone in projected metres: the band, or its pieces on ``party``'s side. ``bands``
    keeps each (line, km) buffer, which both sides of a line share."""
    proj = geom.projection
    parts = [np.column_stack(proj.forward(p[:, 0], p[:, 1]))
             for p in line_parts(geom.spec.lines[line])]
    d = km * 1000.0
    if (line, km) not in bands:
        # the line thinned to within _THIN_M first: the buffer's cost follows its vertices
        thin = shapely.simplify(shapely.multilinestrings(parts), _THIN_M)
        bands[line, km] = shapely.buffer(thin, d, quad_segs=16)
    band = bands[line, km]
    if party is None:
        return band
    cutter = shapely.multilinestrings([_extended(p, 1.5 * d + 1000.0) for p in parts])
    pieces = [p for p in split(band, cutter).geoms if p.area > 0]
    if not pieces:
        return shapely.Polygon()
    reps = shapely.point_on_surface(pieces)
    x, y = shapely.get_x(reps), shapely.get_y(reps)
    lon, lat = proj.inverse(x, y)
    c = classify(geom, lon, lat, np.zeros(len(pieces), "datetime64[s]"))
    want = geom.spec.parties.index(party)
    keep = [p for p, s in zip(pieces, c.side_party[line], strict=True) if s == want]
    return shapely.union_all(keep) if keep else shapely.Polygon()


def zone_shapes(geom: CompiledGeometry, *, simplify_m: float = SIMPLIFY_M) -> list[ZoneShape]:
    """Every zone of the compiled geometry as lon/lat polygons, in the agreement's order."""
    out = []
    proj = geom.projection
    bands: dict[tuple[str, float], Any] = {}
    for z in geom.spec.zones:
        if z.polygon is not None:
            g = shapely.transform(z.polygon, lambda c: np.column_stack(proj.forward(*c.T)))
        elif z.line is not None and z.within_km is not None:
            g = _band_xy(geom, z.line, float(z.within_km), z.party_side, bands)
        else:
            continue
        if simplify_m > 0:
            g = shapely.simplify(g, simplify_m, preserve_topology=True)
        out.append(ZoneShape(z.id, z.party_side, z.within_km, _to_lonlat(geom, g)))
    return out
