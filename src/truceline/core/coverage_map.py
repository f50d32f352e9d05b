"""Where the coverage model's gaps lie on the map: stretches of the line and the bands beside them.

:meth:`Coverage.gaps <truceline.core.coverage.Coverage.gaps>` names a stretch of the line by
chainage (km from the line's start, geodesic, parts in order) and a party's side. This module
turns one into geometry a map can draw, in lon/lat:

* the **stretch**: the line between the two chainages (one piece per part of the line it
  touches), cut on the same segments and at the same fractions as the chainage of
  :meth:`LineIndex.query <truceline.core.geo.index.LineIndex.query>`;
* the **area**: the cells of the model on that party's side whose nearest point on the line lies
  in the stretch, merged into polygons. These are exactly the cells whose share the gap reports
  (the band within ``band_km`` of the line, inside the area of interest), so the shading shows
  what was measured, never more.

Neither says where an asset stood: both are the band along the line, cut by chainage, which
is what :meth:`Coverage.summary` already tells every role.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray

from truceline.core.classify import CompiledGeometry, CompiledLine
from truceline.core.coverage import Coverage, Gap
from truceline.errors import ValidationError

__all__ = ["GapShape", "gap_shapes", "line_stretch"]

F64 = NDArray[np.float64]

#: Tolerance (m, in the projection) of the simplified outline of a gap's area.
SIMPLIFY_M = 250.0


@dataclass(frozen=True)
class GapShape:
    """A gap with its geometry in lon/lat: the stretch of the line and the area beside it."""

    gap: Gap
    stretch: tuple[F64, ...]
    """The line between ``gap.from_km`` and ``gap.to_km``: ``(m, 2)`` lon/lat arrays."""
    area: tuple[tuple[F64, tuple[F64, ...]], ...]
    """Polygons (exterior ring, interior rings), lon/lat, of the party's side of the band."""

    def to_json(self) -> dict[str, Any]:
        """GeoJSON-style coordinates (lists of [lon, lat]), rounded to ~10 m."""
        def ring(a: F64) -> list[list[float]]:
            out: list[list[float]] = np.round(a, 4).tolist()
            return out

        g = self.gap
        return {
            "party": g.party, "sector": g.sector, "from_km": g.from_km,
            "to_km": round(g.to_km, 3), "share": round(g.share, 4),
            "stretch": {"type": "MultiLineString", "coordinates": [ring(p) for p in self.stretch]},
            "area": {"type": "MultiPolygon",
                     "coordinates": [[ring(ext), *(ring(i) for i in holes)]
                                     for ext, holes in self.area]},
        }


def _part_bounds(cl: CompiledLine) -> list[tuple[int, int]]:
    """``[first, last)`` segment rows of each part of the line, in the index's order."""
    out, k = [], 0
    for p in cl.parts_lonlat:
        out.append((k, k + len(p) - 1))
        k += len(p) - 1
    if k != cl.index.n_segments:  # parts_lonlat and the index come from the same line_parts
        raise ValidationError("line parts do not match its index", field="line")
    return out


def line_stretch(geom: CompiledGeometry, line: str, from_m: float, to_m: float) -> list[F64]:
    """The line ``line`` between chainages ``from_m`` and ``to_m`` (metres), in lon/lat.

    One ``(m, 2)`` array per part of the line the stretch touches (empty list when the
    stretch misses the line). Cut points are interpolated on the projected segment at the
    fraction the chainage gives, as :meth:`LineIndex.query` measures chainage.

    Examples
    --------
    >>> from shapely import LineString, box
    >>> from truceline.core.classify import GeometrySpec, compile_geometry
    >>> line = LineString([(30.0, 50.0), (30.0, 50.2)])
    >>> g = compile_geometry(GeometrySpec(("west", "east"), {"l": line},
    ...                                   area_of_interest=box(29.0, 49.0, 31.0, 51.0)))
    >>> [p.round(3).tolist() for p in line_stretch(g, "l", 5_000.0, 10_000.0)]
    [[[30.0, 50.045], [30.0, 50.09]]]
    """
    if line not in geom.lines:
        raise ValidationError(f"no line {line!r}", field="line")
    cl = geom.lines[line]
    idx = cl.index
    lo, hi = max(float(from_m), 0.0), min(float(to_m), idx.length_m)
    out: list[F64] = []
    if hi <= lo:
        return out
    end0 = idx.chain0 + idx.seg_len
    for first, last in _part_bounds(cl):
        rows = np.arange(first, last)
        rows = rows[(end0[rows] > lo) & (idx.chain0[rows] < hi)]
        if not len(rows):
            continue
        seg_len = np.where(idx.seg_len[rows] > 0, idx.seg_len[rows], 1.0)
        t0 = np.clip((lo - idx.chain0[rows]) / seg_len, 0.0, 1.0)
        t1 = np.clip((hi - idx.chain0[rows]) / seg_len, 0.0, 1.0)
        # the start of every segment (cut at t0 on the first), then the cut end of the last
        xs = np.concatenate([idx.ax[rows] + t0 * idx.dx[rows],
                             [idx.ax[rows[-1]] + t1[-1] * idx.dx[rows[-1]]]])
        ys = np.concatenate([idx.ay[rows] + t0 * idx.dy[rows],
                             [idx.ay[rows[-1]] + t1[-1] * idx.dy[rows[-1]]]])
        lon, lat = geom.projection.inverse(xs, ys)
        out.append(np.column_stack([lon, lat]))
    return out


def _rings_lonlat(geom: CompiledGeometry, poly: Any) -> tuple[F64, tuple[F64, ...]]:
    def ring(r: Any) -> F64:
        xy = np.asarray(r.coords, float)
        lon, lat = geom.projection.inverse(xy[:, 0], xy[:, 1])
        return np.column_stack([lon, lat])

    return ring(poly.exterior), tuple(ring(i) for i in poly.interiors)


def gap_shapes(geom: CompiledGeometry, cov: Coverage, gaps: Sequence[Gap],
               *, simplify_m: float = SIMPLIFY_M) -> list[GapShape]:
    """The stretch of the line and the area of the party's side of every gap, in lon/lat.

    ``cov`` must be the model the gaps came from (its cells, parties and line).
    """
    half = cov.grid.cell_m / 2
    out = []
    for g in gaps:
        pi = cov._party_ix(g.party)
        lo, hi = g.from_km * 1e3, g.to_km * 1e3
        sel = np.flatnonzero((cov.grid.party == pi) & (cov.grid.chainage_m >= lo)
                             & ((cov.grid.chainage_m < hi) | (hi >= cov.grid.line_length_m)))
        polys: list[tuple[F64, tuple[F64, ...]]] = []
        if len(sel):
            # cells of one grid share edges exactly: a coverage union merges them cheaply
            boxes = shapely.box(cov.grid.x[sel] - half, cov.grid.y[sel] - half,
                                cov.grid.x[sel] + half, cov.grid.y[sel] + half)
            merged = shapely.coverage_union_all(boxes)
            if simplify_m > 0:
                merged = shapely.simplify(merged, simplify_m, preserve_topology=True)
            for p in getattr(merged, "geoms", [merged]):
                if p.geom_type == "Polygon" and not p.is_empty:
                    polys.append(_rings_lonlat(geom, p))
        out.append(GapShape(g, tuple(line_stretch(geom, cov.grid.line, lo, hi)), tuple(polys)))
    return out
