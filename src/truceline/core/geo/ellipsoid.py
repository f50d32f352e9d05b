"""The one ellipsoid: WGS84 with Karney's algorithms (:data:`GEOD`), and the mean Earth radius.

The lowest module of :mod:`truceline.core.geo`: the projection and the geodesic measurement both
use it, and it imports neither.
"""

from __future__ import annotations

import pyproj

__all__ = ["GEOD", "R_MEAN"]

#: The one ellipsoid: WGS84, Karney's algorithms (exact to nanometres).
GEOD = pyproj.Geod(ellps="WGS84")

#: Mean Earth radius (IUGG), in metres: only a scale for step sizes and small-angle bounds.
R_MEAN = 6_371_008.8
