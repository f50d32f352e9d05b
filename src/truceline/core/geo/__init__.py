"""Geometry primitives of the pure core, grouped like shapely's families.

* **projection** — :func:`projection_for_lines` (the area within a reach of an agreement's
  lines) and :func:`choose_projection` (a lon/lat box) fit a conformal projected CRS and
  *compute* its worst scale error, which bounds every planar distance measured there.
* **measurement** — :class:`LineIndex` answers distance, nearest segment, side and chainage for
  millions of points against a polyline in the plane; :func:`geodesic_distance_to_line` is the
  exact ellipsoidal (WGS84) answer for the few points where the planar one is not good enough, and
  :func:`refine_near_threshold` decides which points those are.

Everything is columnar (numpy arrays in, arrays out), pure (no I/O, clock or environment) and
honest about being planar: a planar distance ``D`` and the geodesic distance ``d`` obey
``|D - d| <= (eps * D + s) / (1 - eps)`` (see :func:`distance_margin`).
"""

from truceline.core.geo.geodesic import (
    GEOD,
    chord_deviation_m,
    distance_margin,
    geodesic_distance_to_line,
    geodesic_segment_lengths,
    refine_near_threshold,
)
from truceline.core.geo.index import LineHit, LineIndex, line_parts
from truceline.core.geo.projection import Projection, choose_projection, projection_for_lines

__all__ = [
    "GEOD",
    "LineHit",
    "LineIndex",
    "Projection",
    "choose_projection",
    "chord_deviation_m",
    "distance_margin",
    "geodesic_distance_to_line",
    "geodesic_segment_lengths",
    "line_parts",
    "projection_for_lines",
    "refine_near_threshold",
]
