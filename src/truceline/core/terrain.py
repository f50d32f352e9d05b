"""Terrain line of sight on a digital elevation model (DEM), for the coverage model.

An observer sees a target when no point of the ground between them rises above the straight
sight line from the observer's eye (ground + ``observer_h_m``) to the target (ground +
``target_h_m``: 2 m stands for a muzzle flash or a person). The path is sampled at about the
DEM's pixel size (nearest pixel); the earth's curvature lowers the sight line by
``x (D - x) / (2 R_eff)`` at distance ``x`` along a path of length ``D``, with the effective
radius ``R_eff = R / (1 - k)`` for standard atmospheric refraction ``k = 0.13``. On flat
ground this gives the radio-optical horizon ``sqrt(2 R_eff h1) + sqrt(2 R_eff h2)``, i.e.
``3.57 (sqrt(h1) + sqrt(h2)) km / sqrt(1 - k)``. Points off the DEM or on nodata (NaN) do not
block: where elevation is unknown the model falls back to range-only visibility.
Pure: the DEM comes as arrays (reading a GeoTIFF is :mod:`truceline.adapters.dem`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
from numpy.typing import NDArray
from pyproj import CRS, Transformer

from truceline.core.geo import GEOD
from truceline.errors import ValidationError

__all__ = ["EARTH_RADIUS_M", "REFRACTION_K", "Dem", "horizon_m", "visible"]

F64 = NDArray[np.float64]

EARTH_RADIUS_M = 6_371_000.0
#: The standard coefficient of atmospheric refraction (the sight line bends with the earth).
REFRACTION_K = 0.13


def horizon_m(h1_m: float, h2_m: float, k: float = REFRACTION_K) -> float:
    """Closed-form distance at which two heights above a smooth earth stop seeing each other."""
    r = EARTH_RADIUS_M / (1.0 - k)
    return math.sqrt(2 * r * h1_m) + math.sqrt(2 * r * h2_m)


@dataclass(frozen=True)
class Dem:
    """Elevations (metres, NaN: nodata) on a north-up or rotated raster: ``transform`` is the
    affine ``(a, b, c, d, e, f)`` mapping (col, row) of a pixel's corner to ``x = a col + b row
    + c``, ``y = d col + e row + f`` in ``crs`` (anything pyproj reads). ``source`` names it in
    the output."""

    z: F64
    transform: tuple[float, float, float, float, float, float]
    crs: str
    source: str = ""

    def __post_init__(self) -> None:
        if np.ndim(self.z) != 2 or min(np.shape(self.z)) < 1:
            raise ValidationError("must be a 2-D grid of elevations", field="dem.z")
        a, b, _, d, e, _ = self.transform
        if not all(math.isfinite(v) for v in self.transform) or a * e - b * d == 0:
            raise ValidationError("must be an invertible affine transform", field="dem.transform")
        try:
            CRS.from_user_input(self.crs)
        except Exception as exc:  # pyproj raises its own CRSError
            raise ValidationError(f"unknown CRS {self.crs!r}", field="dem.crs") from exc

    @cached_property
    def _to_crs(self) -> Any:
        c = CRS.from_user_input(self.crs)
        return None if c.equals(CRS.from_epsg(4326)) else Transformer.from_crs(
            "EPSG:4326", c, always_xy=True)

    @cached_property
    def pixel_m(self) -> float:
        """About one pixel in metres (the sampling step along a path)."""
        a, b, _, d, e, _ = self.transform
        sx, sy = math.hypot(a, d), math.hypot(b, e)
        if not CRS.from_user_input(self.crs).is_geographic:
            return min(sx, sy)
        rows, cols = self.z.shape
        lat_c = d * cols / 2 + e * rows / 2 + self.transform[5]
        return min(sx * math.cos(math.radians(lat_c)), sy) * 111_320.0

    def at(self, lon: Any, lat: Any) -> F64:
        """Elevation at each lon/lat (nearest pixel; NaN off the grid or nodata)."""
        lon, lat = np.asarray(lon, float), np.asarray(lat, float)
        x, y = (lon, lat) if self._to_crs is None else self._to_crs.transform(lon, lat)
        a, b, c, d, e, f = self.transform
        det = a * e - b * d
        col = (e * (x - c) - b * (y - f)) / det
        row = (-d * (x - c) + a * (y - f)) / det
        ci, ri = np.floor(col).astype(np.int64), np.floor(row).astype(np.int64)
        rows, cols = self.z.shape
        inside = (ci >= 0) & (ci < cols) & (ri >= 0) & (ri < rows)
        out = np.full(np.shape(x), np.nan)
        out[inside] = self.z[ri[inside], ci[inside]]
        return out


def visible(dem: Dem, lon0: float, lat0: float, lon: Any, lat: Any, *,
            observer_h_m: float = 2.0, target_h_m: float = 2.0, k: float = REFRACTION_K,
            max_samples: int = 1024) -> NDArray[np.bool_]:
    """Whether each target (lon, lat) is in the line of sight of the observer at (lon0, lat0),
    vectorised over targets. An observer off the DEM sees every target (range only)."""
    if not (observer_h_m >= 0 and target_h_m >= 0):
        raise ValidationError("heights above ground must be >= 0", field="observer_h_m")
    if not 0 <= k < 1:
        raise ValidationError("must be in [0, 1)", field="k")
    lon, lat = np.atleast_1d(np.asarray(lon, float)), np.atleast_1d(np.asarray(lat, float))
    out = np.ones(lon.shape, bool)
    z0 = float(dem.at(np.array([lon0]), np.array([lat0]))[0])
    if not len(lon) or not math.isfinite(z0):
        return out
    dist = np.asarray(GEOD.inv(np.full(lon.shape, lon0), np.full(lat.shape, lat0), lon, lat)[2],
                      float)
    zt = dem.at(lon, lat)
    zt = np.where(np.isfinite(zt), zt, z0)  # target off the grid: level with the observer
    r_eff = EARTH_RADIUS_M / (1.0 - k)
    n = int(min(max_samples, max(2, math.ceil(float(dist.max(initial=0.0)) / dem.pixel_m))))
    t = np.arange(1, n) / n  # interior fractions of the path (endpoints are the two points)
    plon = lon0 + t[None, :] * (lon - lon0)[:, None]  # straight in lon/lat: fine below ~50 km
    plat = lat0 + t[None, :] * (lat - lat0)[:, None]
    ground = dem.at(plon, plat)
    x = t[None, :] * dist[:, None]
    bulge = x * (dist[:, None] - x) / (2.0 * r_eff)
    eye, aim = z0 + observer_h_m, zt + target_h_m
    sight = eye + t[None, :] * (aim - eye)[:, None]
    blocked = np.isfinite(ground) & (ground + bulge > sight)
    out &= ~blocked.any(axis=1)
    return out
