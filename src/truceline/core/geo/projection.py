"""Projection: a conformal projected CRS fitted to an area, with its computed scale error.

:func:`projection_for_lines` fits a projection to the area within a reach (e.g. 100 km) of an
agreement's lines, which is where distances decide verdicts; :func:`choose_projection` fits one
to a lon/lat box. Both try three secant conformal candidates (oblique Mercator along the
narrowest great-circle strip holding the area, Lambert conformal conic, transverse Mercator),
*compute* each one's worst scale error ``max |k - 1|`` over a region of the plane that holds the
area, and keep the smallest. That number bounds every planar distance measured inside the
region (see :func:`truceline.core.geo.distance_margin`); outside it each point carries its own
bound (:meth:`Projection.scale_error_bound`).
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

__all__ = ["Projection", "choose_projection", "projection_for_lines"]

F64 = NDArray[np.float64]

_R_MIN = 6_335_439.0  # smallest radius of curvature of WGS84 (meridian, at the equator)
_AZIMUTHS = 16  # directions sampled around each vertex to reach the edge of its buffer


@dataclass(frozen=True, eq=False)
class Projection:
    """A conformal projected CRS for one area, with its computed scale error.

    ``max_scale_error`` is ``max |k - 1|`` (``k`` the point scale factor) over ``region``: a
    rectangle in the plane, ``(u_min, v_min, u_max, v_max)`` metres in a frame rotated by
    ``rotation_deg`` (counter-clockwise from the grid's x axis; along the central line of an
    oblique Mercator, 0 otherwise), which holds the fitted area. ``bounds`` is the lon/lat box
    of that area, for information.
    """

    proj4: str
    region: tuple[float, float, float, float]
    rotation_deg: float
    max_scale_error: float
    bounds: tuple[float, float, float, float]

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
        """``|k - 1|`` at each point (used for points outside ``region``)."""
        return _scale_error(self.crs, np.asarray(lon, float), np.asarray(lat, float))

    def contains_xy(self, x: ArrayLike, y: ArrayLike) -> NDArray[np.bool_]:
        """Whether projected points lie in ``region`` (where ``max_scale_error`` is a bound)."""
        u, v = _rotate(np.asarray(x, float), np.asarray(y, float), self.rotation_deg)
        u0, v0, u1, v1 = self.region
        return np.asarray((u >= u0) & (u <= u1) & (v >= v0) & (v <= v1))

    def contains_lonlat(self, lon: ArrayLike, lat: ArrayLike) -> NDArray[np.bool_]:
        """Whether lon/lat points lie in ``region``."""
        return self.contains_xy(*self.forward(lon, lat))

    def scale_error_bound(
        self, lon: ArrayLike, lat: ArrayLike, x: ArrayLike | None = None,
        y: ArrayLike | None = None,
    ) -> F64:
        """Per point, a bound on ``|k - 1|`` along the path from the point to the fitted area.

        ``max_scale_error`` inside ``region``. Outside, ``k - 1`` keeps growing (convexly) away
        from the area, so the point's own scale error dominates the path; we take 1.5 times it
        (or the area's, if larger) to cover geodesic bulge and the error growing past the point.
        Pass the projected ``x``, ``y`` if you have them (saves a projection).
        """
        lon = np.asarray(lon, float)
        lat = np.asarray(lat, float)
        if x is None or y is None:
            x, y = self.forward(lon, lat)
        eps = np.full(lon.shape, self.max_scale_error)
        out = np.flatnonzero(~self.contains_xy(x, y))
        if len(out):
            local = self.scale_error_at(lon[out], lat[out])
            eps[out] = 1.5 * np.maximum(local, self.max_scale_error)
        return eps


def _rotate(x: F64, y: F64, deg: float) -> tuple[F64, F64]:
    if deg == 0.0:
        return x, y
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    return x * c + y * s, y * c - x * s


def _scale_error(crs: pyproj.CRS, lon: F64, lat: F64) -> F64:
    f = pyproj.Proj(crs).get_factors(lon, lat)
    m = np.abs(np.asarray(f.meridional_scale, float) - 1.0)
    p = np.abs(np.asarray(f.parallel_scale, float) - 1.0)
    return np.asarray(np.maximum(m, p), float)


def _unit(lon: F64, lat: F64) -> F64:
    lo, la = np.radians(lon), np.radians(lat)
    return np.column_stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)])


def _strip_centre_line(lon: F64, lat: F64) -> tuple[float, float, float]:
    """The great circle nearest, in the minimax sense, to all points: ``(lat0, lon0, alpha)``.

    Its pole minimises ``max |p . pole|`` (the half-width of the narrowest great-circle strip
    holding the points), found by a shrinking grid search around the least-squares pole. The
    centre is the middle of the points' extent along the circle; ``alpha`` is the circle's
    azimuth there, in (-90, 90].
    """
    v = _unit(lon, lat)
    _, _, vt = np.linalg.svd(v, full_matrices=True)  # 3 x 3 even for one or two points
    pole, e1, e2 = vt[2], vt[0], vt[1]
    half = 0.25
    steps = np.linspace(-1.0, 1.0, 21)
    a, b = (g.ravel() for g in np.meshgrid(steps, steps))
    for _ in range(10):
        cand = pole[None, :] + half * (a[:, None] * e1 + b[:, None] * e2)
        cand /= np.linalg.norm(cand, axis=1)[:, None]
        pole = cand[int(np.argmin(np.abs(v @ cand.T).max(axis=0)))]
        half /= 5
    east = np.cross([0.0, 0.0, 1.0], pole)
    east = east / np.linalg.norm(east) if np.linalg.norm(east) > 1e-12 else np.array([1.0, 0, 0])
    along = np.cross(pole, east)
    ang = np.arctan2(v @ along, v @ east)
    ang = np.angle(np.exp(1j * (ang - ang[0]))) + ang[0]  # unwrap around the first point
    mid = (ang.min() + ang.max()) / 2
    c = math.cos(mid) * east + math.sin(mid) * along
    lat0 = math.degrees(math.asin(max(-1.0, min(1.0, float(c[2])))))
    lon0 = math.degrees(math.atan2(float(c[1]), float(c[0])))
    t = np.cross(pole, c)
    e_loc = np.array([-math.sin(math.radians(lon0)), math.cos(math.radians(lon0)), 0.0])
    n_loc = np.cross(c, e_loc)
    alpha = math.degrees(math.atan2(float(t @ e_loc), float(t @ n_loc)))
    alpha = (alpha + 90.0) % 180.0 - 90.0  # the same circle, azimuth in [-90, 90)
    if alpha < -89.999999:  # PROJ's omerc breaks at alpha = -90; +90 is the same circle
        alpha += 180.0
    return lat0, lon0, alpha


def _candidates(lon: F64, lat: F64, core_lon: F64, core_lat: F64) -> list[tuple[str, float]]:
    """Proj strings (``+k_0=1``, to be rescaled) and the rotation of their region frame."""
    w, e = float(lon.min()), float(lon.max())
    s, n = float(lat.min()), float(lat.max())
    lon0, lat0 = (w + e) / 2, (s + n) / 2
    span = max(n - s, 0.2)
    tail = "+k_0=1 +x_0=0 +y_0=0 +ellps=WGS84 +units=m +no_defs"
    out = [
        (f"+proj=lcc +lat_1={lat0 - span / 3:.9f} +lat_2={lat0 + span / 3:.9f} "
         f"+lat_0={lat0:.9f} +lon_0={lon0:.9f} {tail}", 0.0),
        (f"+proj=tmerc +lat_0={lat0:.9f} +lon_0={lon0:.9f} {tail}", 0.0),
    ]
    olat, olon, alpha = _strip_centre_line(core_lon, core_lat)
    if abs(olat) < 80:
        # +gamma=alpha: the grid is north-up at the centre, where the central line runs at
        # azimuth alpha, i.e. at 90 - alpha degrees counter-clockwise from the grid's x axis.
        out.append((f"+proj=omerc +lat_0={olat:.9f} +lonc={olon:.9f} +alpha={alpha:.9f} "
                    f"+gamma={alpha:.9f} {tail}", 90.0 - alpha))
    return out


def _evaluate(
    proj4: str, rot: float, lon: F64, lat: F64, grid: int, margin_m: float
) -> tuple[float, str, tuple[float, float, float, float]] | None:
    """Secant-balance one candidate; return (bound, proj4, region) or None if it fails."""
    try:
        pj = pyproj.Proj(proj4)  # a Proj is cheap to build (a Transformer is not)
        x, y = (np.asarray(c, float) for c in pj(lon, lat))
        u, v = _rotate(x, y, rot)
        if not (np.isfinite(u).all() and np.isfinite(v).all()):
            return None
        u0, u1 = float(u.min()) - margin_m, float(u.max()) + margin_m
        v0, v1 = float(v.min()) - margin_m, float(v.max()) + margin_m
        # Sample k on a grid over the region plus its edges, densely (the extremes of |k - 1|
        # lie on the edge, or at the interior minimum of k, which the grid brackets).
        gu, gv = np.linspace(u0, u1, grid), np.linspace(v0, v1, grid)
        eu, ev = np.linspace(u0, u1, 4 * grid), np.linspace(v0, v1, 4 * grid)
        su = np.concatenate([np.repeat(gu, grid), eu, eu, np.full(4 * grid, u0),
                             np.full(4 * grid, u1)])
        sv = np.concatenate([np.tile(gv, grid), np.full(4 * grid, v0), np.full(4 * grid, v1),
                             ev, ev])
        sx, sy = _rotate(su, sv, -rot)
        slon, slat = pj(sx, sy, inverse=True)
        f = pj.get_factors(np.asarray(slon, float), np.asarray(slat, float))
        k = np.concatenate([np.asarray(f.meridional_scale, float),
                            np.asarray(f.parallel_scale, float)])
    except (pyproj.exceptions.ProjError, pyproj.exceptions.CRSError):
        return None
    if not np.isfinite(k).all():
        return None
    # k scales with k_0: choose it so the error splits evenly between too long and too short.
    kmin, kmax = float(k.min()), float(k.max())
    k0 = 2.0 / (kmin + kmax)
    eps = (kmax - kmin) / (kmax + kmin)
    # Between samples |k - 1| can exceed the sampled maximum by at most h^2 / (8 R^2) (k'' is
    # about 1 / R^2 per metre^2 in a conformal map); take four times that, with the smallest R.
    h = math.hypot((u1 - u0) / (grid - 1), (v1 - v0) / (grid - 1))
    bound = eps * 1.001 + (h / _R_MIN) ** 2 / 2
    region = (u0 * k0, v0 * k0, u1 * k0, v1 * k0)
    return bound, proj4.replace("+k_0=1 ", f"+k_0={k0:.15f} "), region


def _fit(
    lon: F64, lat: F64, core_lon: F64, core_lat: F64, margin_m: float, grid: int
) -> Projection:
    w, e = float(lon.min()), float(lon.max())
    s, n = float(lat.min()), float(lat.max())
    if not all(math.isfinite(t) for t in (w, s, e, n)):
        raise ValidationError("non-finite lon/lat in the area", field="bounds_lonlat")
    if e - w > 60 or n - s > 40 or max(abs(s), abs(n)) > 84:
        raise ValidationError("area too large for one conformal projection", field="bounds_lonlat")
    results = []
    for proj4, rot in _candidates(lon, lat, core_lon, core_lat):
        r = _evaluate(proj4, rot, lon, lat, grid, margin_m)
        if r is not None:
            results.append((r, rot))
    if not results:  # pragma: no cover - LCC and TM always work in the allowed range
        raise ValidationError("no projection fits this area", field="bounds_lonlat")
    (bound, proj4, region), rot = min(results, key=lambda t: t[0][0])
    return Projection(proj4=proj4, region=region, rotation_deg=rot, max_scale_error=bound,
                      bounds=(w, s, e, n))


def choose_projection(bounds_lonlat: Sequence[float], *, grid: int = 41) -> Projection:
    """A conformal projection for a lon/lat box (see :func:`projection_for_lines`).

    The box is widened by the poleward bulge of geodesics across it, so the bound also covers
    the paths between its points, not only the points.

    Parameters
    ----------
    bounds_lonlat : (west, south, east, north) in degrees.
    grid : samples per axis for the scale-error grid (edges sampled four times as densely).

    Examples
    --------
    >>> p = choose_projection((31.5, 46.5, 38.3, 50.5))
    >>> p.proj4.split()[0], round(p.max_scale_error, 5)  # LCC would give 4.1e-4 here
    ('+proj=omerc', 0.00035)
    >>> x, y = p.forward([34.9], [48.5]); [round(float(v) / 10_000) for v in (*x, *y)]  # centred
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
    w, s, e, n = w - 0.01, max(s - bulge - 0.01, -85.0), e + 0.01, min(n + bulge + 0.01, 85.0)
    t = np.linspace(0.0, 1.0, 4 * grid)
    lon = np.concatenate([w + (e - w) * t, w + (e - w) * t, np.full_like(t, w), np.full_like(t, e)])
    lat = np.concatenate([np.full_like(t, s), np.full_like(t, n), s + (n - s) * t, s + (n - s) * t])
    return _fit(lon, lat, lon, lat, 1_000.0, grid)


def projection_for_lines(
    lines_lonlat: Sequence[ArrayLike], reach_km: float, *, grid: int = 41
) -> Projection:
    """A conformal projection for the area within ``reach_km`` of some lines (lon/lat parts).

    That area is where an agreement's distances decide verdicts (thresholds, zones along lines,
    sectors), so that is where the scale error must be small; the rest of a large area of
    interest (e.g. a whole country) only gets per-point bounds. Candidates: an oblique Mercator
    whose central line is the great circle nearest to every vertex (minimax; on the sphere the
    buffer's strip is then the vertices' strip widened by the reach on both sides, so it is
    also the narrowest for the buffer), a Lambert conformal conic (standard parallels at 1/6 and
    5/6 of the area's latitude span) and a transverse Mercator, each with ``k_0`` balancing the
    error between too long and too short. For the 1,262 km line of 1 April 2025 with a 100 km
    reach the oblique Mercator wins with about 2.6e-4 (6.5 m at 25 km).

    Parameters
    ----------
    lines_lonlat : line parts, each an ``(n, 2)`` lon/lat array.
    reach_km : how far from the lines the bound must hold.
    grid : samples per axis for the scale-error grid (edges sampled four times as densely).
    """
    parts = [np.asarray(p, float).reshape(-1, 2) for p in lines_lonlat]
    if not parts or not all(len(p) for p in parts) or not reach_km >= 0:
        raise ValidationError("need non-empty line parts and reach_km >= 0", field="lines")
    core = np.vstack(parts)
    if not np.isfinite(core).all():
        raise ValidationError("non-finite lon/lat in a line", field="lines")
    lon, lat = core[:, 0], core[:, 1]
    reach = reach_km * 1000.0
    if reach > 0:
        az = np.linspace(0.0, 360.0, _AZIMUTHS, endpoint=False)
        olon, olat, _ = GEOD.fwd(np.repeat(lon, _AZIMUTHS), np.repeat(lat, _AZIMUTHS),
                                 np.tile(az, len(lon)), np.full(len(lon) * _AZIMUTHS, reach))
        lon = np.concatenate([lon, np.asarray(olon, float)])
        lat = np.concatenate([lat, np.asarray(olat, float)])
    # The 16-gon around each vertex falls short of the buffer by reach * (1 - cos(pi / 16)).
    margin = reach * (1.0 - math.cos(math.pi / _AZIMUTHS)) + 1_000.0
    return _fit(lon, lat, core[:, 0], core[:, 1], margin, grid)
