"""Projection: a conformal projected CRS for an area, with its computed scale error.

:func:`choose_projection` picks the better of a secant Lambert conformal conic and a secant
transverse Mercator for an area and *computes* its worst scale error ``max |k - 1|``, which
bounds every planar distance measured in it (see :func:`truceline.core.geo.distance_margin`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pyproj
from numpy.typing import ArrayLike, NDArray

from truceline.core.geo.ellipsoid import GEOD, R_MEAN
from truceline.errors import ValidationError

__all__ = ["Projection", "choose_projection"]

F64 = NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class Projection:
    """A conformal projected CRS for one area, with its computed scale error.

    ``max_scale_error`` is ``max |k - 1|`` over ``bounds`` (lon/lat box, already widened for the
    poleward bulge of geodesics), where ``k`` is the point scale factor. Because the candidates
    are conformal and ``k`` is convex in one coordinate (latitude for LCC, easting for TM), the
    maximum lies on the box edge, which the sampling grid contains.
    """

    proj4: str
    bounds: tuple[float, float, float, float]
    max_scale_error: float

    @cached_property
    def crs(self) -> pyproj.CRS:
        return pyproj.CRS.from_proj4(self.proj4)

    @cached_property
    def _fwd(self) -> pyproj.Transformer:
        return pyproj.Transformer.from_crs("EPSG:4326", self.crs, always_xy=True)

    @cached_property
    def _inv(self) -> pyproj.Transformer:
        return pyproj.Transformer.from_crs(self.crs, "EPSG:4326", always_xy=True)

    def forward(self, lon: ArrayLike, lat: ArrayLike) -> tuple[F64, F64]:
        """Longitude/latitude (degrees) to projected x/y (metres)."""
        x, y = self._fwd.transform(np.asarray(lon, float), np.asarray(lat, float))
        return np.asarray(x, float), np.asarray(y, float)

    def inverse(self, x: ArrayLike, y: ArrayLike) -> tuple[F64, F64]:
        """Projected x/y (metres) to longitude/latitude (degrees)."""
        lon, lat = self._inv.transform(np.asarray(x, float), np.asarray(y, float))
        return np.asarray(lon, float), np.asarray(lat, float)

    def scale_error_at(self, lon: ArrayLike, lat: ArrayLike) -> F64:
        """``|k - 1|`` at each point (used for points outside ``bounds``)."""
        f = pyproj.Proj(self.crs).get_factors(np.asarray(lon, float), np.asarray(lat, float))
        m = np.abs(np.asarray(f.meridional_scale) - 1.0)
        p = np.abs(np.asarray(f.parallel_scale) - 1.0)
        return np.asarray(np.maximum(m, p), float)

    def contains_lonlat(self, lon: F64, lat: F64) -> NDArray[np.bool_]:
        """Whether points lie in ``bounds`` (where ``max_scale_error`` is a proved bound)."""
        w, s, e, n = self.bounds
        return (lon >= w) & (lon <= e) & (lat >= s) & (lat <= n)

    def scale_error_bound(self, lon: ArrayLike, lat: ArrayLike) -> F64:
        """Per point, a bound on ``|k - 1|`` along the path from the point to anything in bounds.

        ``max_scale_error`` inside ``bounds``. Outside, ``k - 1`` keeps growing (convexly) away
        from the area, so the point's own scale error dominates the path; we take 1.5 times it
        (or the area's, if larger) to cover geodesic bulge and the error growing past the point.
        """
        lon = np.asarray(lon, float)
        lat = np.asarray(lat, float)
        eps = np.full(lon.shape, self.max_scale_error)
        out = np.flatnonzero(~self.contains_lonlat(lon, lat))
        if len(out):
            local = self.scale_error_at(lon[out], lat[out])
            eps[out] = 1.5 * np.maximum(local, self.max_scale_error)
        return eps


def _grid_scale_error(proj4: str, box: tuple[float, float, float, float], n: int) -> float:
    w, s, e, nn = box
    lon, lat = np.meshgrid(np.linspace(w, e, n), np.linspace(s, nn, n))
    f = pyproj.Proj(pyproj.CRS.from_proj4(proj4)).get_factors(lon.ravel(), lat.ravel())
    k = np.concatenate([np.asarray(f.meridional_scale), np.asarray(f.parallel_scale)])
    return float(np.max(np.abs(k - 1.0)))


def choose_projection(bounds_lonlat: Sequence[float], *, grid: int = 41) -> Projection:
    """A conformal projection centred on an area, the better of LCC and transverse Mercator.

    Both candidates are secant (two standard parallels at 1/6 and 5/6 of the latitude span for
    Lambert conformal conic; ``k_0`` balancing the centre against the east/west edges for
    transverse Mercator), so the scale error is split evenly between too long and too short.
    The candidate with the smaller *computed* ``max |k - 1|`` wins; for the 2025 line of contact
    (31.5-38.3 E, 46.5-50.5 N) that is LCC with about 4.1e-4, i.e. 10 m at 25 km.

    Parameters
    ----------
    bounds_lonlat : (west, south, east, north) in degrees.
    grid : samples per axis for the scale-error grid (edges included).

    Examples
    --------
    >>> p = choose_projection((31.5, 46.5, 38.3, 50.5))
    >>> p.max_scale_error < 5e-4
    True
    >>> x, y = p.forward([34.9], [48.5]); [round(float(v)) for v in (*x, *y)]
    [0, 0]
    """
    w, s, e, n = (float(v) for v in bounds_lonlat)
    if not all(math.isfinite(v) for v in (w, s, e, n)) or not (w <= e and s <= n):
        raise ValidationError(f"bad lon/lat bounds {bounds_lonlat!r}", field="bounds_lonlat")
    if e - w > 60 or n - s > 40 or max(abs(s), abs(n)) > 84:
        raise ValidationError("area too large for one conformal projection", field="bounds_lonlat")
    # A geodesic between two points of the box bulges poleward by up to L^2 tan(phi) / (8 R):
    # widen the box by that so the bound also covers the paths, not only the end points.
    diag = GEOD.inv(w, s, e, n)[2]
    bulge = math.degrees(diag**2 * math.tan(math.radians(max(abs(s), abs(n)))) / (8 * R_MEAN**2))
    box = (w - 0.01, max(s - bulge - 0.01, -85.0), e + 0.01, min(n + bulge + 0.01, 85.0))
    lon0, lat0 = (w + e) / 2, (s + n) / 2
    span = max(n - s, 0.2)
    lcc = (
        f"+proj=lcc +lat_1={lat0 - span / 3:.9f} +lat_2={lat0 + span / 3:.9f} +lat_0={lat0:.9f} "
        f"+lon_0={lon0:.9f} +x_0=0 +y_0=0 +ellps=WGS84 +units=m +no_defs"
    )
    tm1 = f"+proj=tmerc +lat_0={lat0:.9f} +lon_0={lon0:.9f} +k_0=1 +ellps=WGS84 +units=m +no_defs"
    kmax = 1.0 + _grid_scale_error(tm1, box, grid)
    tm = tm1.replace("+k_0=1", f"+k_0={2.0 / (1.0 + kmax):.12f}")
    best = min((_grid_scale_error(p, box, grid), p) for p in (lcc, tm))
    return Projection(proj4=best[1], bounds=box, max_scale_error=best[0] * 1.001)
