"""Place test points at exact geodesic distances from a real line, on a chosen party's side.

Independent of truceline's geometry engine: pyproj's geodesic forward problem from a vertex of
the line, perpendicular to the local direction, then a check with shapely in a UTM projection
that the nearest point of the line really is that far (so wiggles of the line cannot fool us).
"""

from __future__ import annotations

import numpy as np
import shapely
from pyproj import Geod, Transformer
from shapely.geometry import LineString, Point

GEOD = Geod(ellps="WGS84")


def place(
    line: LineString, km_along: float, km_off: float, inside, want_inside: bool, epsg: int = 32637
) -> tuple[float, float]:
    """A lon/lat ``km_off`` (geodesic) from ``line``, with ``inside(lon, lat) == want_inside``."""
    fwd = Transformer.from_crs(4326, epsg, always_xy=True)
    proj = shapely.transform(line, lambda c: np.column_stack(fwd.transform(c[:, 0], c[:, 1])))
    coords = np.asarray(line.coords)
    seg = GEOD.inv(coords[:-1, 0], coords[:-1, 1], coords[1:, 0], coords[1:, 1])[2]
    cum = np.concatenate([[0.0], np.cumsum(seg)]) / 1000.0
    start = int(np.searchsorted(cum, km_along))
    for k in range(0, 200):
        for i in (start + k, start - k):
            if not 1 <= i < len(coords) - 1:
                continue
            lon0, lat0 = coords[i]
            az = GEOD.inv(coords[i - 1, 0], coords[i - 1, 1], coords[i + 1, 0], coords[i + 1, 1])[0]
            for turn in (90.0, -90.0):
                lon, lat, _ = GEOD.fwd(lon0, lat0, az + turn, km_off * 1000.0)
                if bool(inside(lon, lat)) != want_inside:
                    continue
                x, y = fwd.transform(lon, lat)
                if abs(proj.distance(Point(x, y)) / (km_off * 1000.0) - 1.0) < 2e-3:
                    return float(lon), float(lat)
    raise AssertionError(f"no clean place {km_off} km off at {km_along} km")
