"""Measurement on the ellipsoid (WGS84): the exact answer where the planar one is not enough.

:func:`geodesic_distance_to_line` is the exact ellipsoidal distance for the few points that
:func:`refine_near_threshold` selects; :func:`distance_margin` bounds the planar error, and
:func:`geodesic_segment_lengths` and :func:`chord_deviation_m` describe the line itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from truceline.core.geo.ellipsoid import GEOD, R_MEAN
from truceline.core.geo.index import _inv_len2, _point_segment, _segments, line_parts
from truceline.errors import ValidationError

if TYPE_CHECKING:
    from truceline.core.geo.projection import Projection

__all__ = [
    "GEOD",
    "chord_deviation_m",
    "distance_margin",
    "geodesic_distance_to_line",
    "geodesic_segment_lengths",
    "refine_near_threshold",
]

F64 = NDArray[np.float64]



# ----------------------------------------------------------------------------------------------
# the line on the ellipsoid: geodesic lengths, chord deviation
# ----------------------------------------------------------------------------------------------


def geodesic_segment_lengths(line_lonlat: Any) -> F64:
    """WGS84 length (m) of every segment, parts in order (chainage is their cumulative sum)."""
    a, b, _, _ = _segments(line_parts(line_lonlat))
    return np.asarray(GEOD.inv(a[:, 0], a[:, 1], b[:, 0], b[:, 1])[2], float)


def chord_deviation_m(line_lonlat: Any, projection: Projection, samples: int = 7) -> float:
    """Largest planar gap between a projected geodesic segment and its straight chord (m).

    The legal line joins its vertices by geodesics; the index uses straight chords in the plane.
    Their Hausdorff distance (a sagitta, sub-millimetre for 1-2 km segments) enters the margin.
    """
    a, b, _, _ = _segments(line_parts(line_lonlat))
    az, _, dist = GEOD.inv(a[:, 0], a[:, 1], b[:, 0], b[:, 1])
    ax, ay = projection.forward(a[:, 0], a[:, 1])
    bx, by = projection.forward(b[:, 0], b[:, 1])
    worst = 0.0
    for f in np.linspace(0, 1, samples + 2)[1:-1]:
        lo, la, _ = GEOD.fwd(a[:, 0], a[:, 1], az, np.asarray(dist) * f)
        px, py = projection.forward(lo, la)
        d2, _ = _point_segment(px, py, ax, ay, bx - ax, by - ay, _inv_len2(bx - ax, by - ay))
        worst = max(worst, float(np.sqrt(d2.max())))
    return worst


# ----------------------------------------------------------------------------------------------
# distance to the line on the ellipsoid
# ----------------------------------------------------------------------------------------------


def _geodesic_pairs(
    a: F64, b: F64, az: F64, length: F64, lon: F64, lat: F64, iterations: int = 30
) -> F64:
    """Exact distance from points to geodesic segments, one (point, segment) per row.

    Newton on the foot of the perpendicular: at the current foot ``X`` the point is at distance
    ``d`` under angle ``theta`` from the segment's azimuth; the spherical right triangle gives
    the step ``R atan(tan(d / R) cos theta)``. The distance from a point along a geodesic is
    unimodal, so clamping to ``[0, L]`` and taking the best of foot and both ends is exact.
    """
    s = length / 2
    for _ in range(iterations):
        xl, xa, baz = GEOD.fwd(a[:, 0], a[:, 1], az, s)
        azp, _, d = GEOD.inv(xl, xa, lon, lat)
        theta = np.radians(np.asarray(azp) - (np.asarray(baz) + 180.0))
        step = R_MEAN * np.arctan(np.tan(np.minimum(np.asarray(d) / R_MEAN, 1.5)) * np.cos(theta))
        s_new = np.clip(s + step, 0.0, length)
        done = np.abs(s_new - s) < 1e-7
        s = s_new
        if done.all():
            break
    xl, xa, _ = GEOD.fwd(a[:, 0], a[:, 1], az, s)
    d_foot = GEOD.inv(xl, xa, lon, lat)[2]
    d_a = GEOD.inv(a[:, 0], a[:, 1], lon, lat)[2]
    d_b = GEOD.inv(b[:, 0], b[:, 1], lon, lat)[2]
    return np.asarray(np.minimum(np.minimum(d_foot, d_a), d_b), float)


def geodesic_distance_to_line(
    line_lonlat: Any, lon: ArrayLike, lat: ArrayLike, seg_hint: ArrayLike | None = None
) -> F64:
    """Exact WGS84 distance (m) from points to a polyline whose vertices are joined by geodesics.

    Slow (tens of microseconds per point and candidate segment): meant for the few points that
    :func:`refine_near_threshold` selects.

    Parameters
    ----------
    line_lonlat : shapely (Multi)LineString, ``(m, 2)`` array or list of parts, lon/lat degrees.
    lon, lat : points (degrees).
    seg_hint : candidate segment indices per point, ``(n,)`` or ``(n, k)`` padded with -1.
        The answer is exact when the nearest segment is among them. ``None`` considers every
        segment, pruned by the ellipse bound ``d(p, AB) >= (d(p, A) + d(p, B) - |AB|) / 2``.

    Examples
    --------
    >>> line = np.array([[30.0, 49.5], [30.0, 50.5]])  # a meridian: geodesic
    >>> lon, lat, _ = GEOD.fwd(30.0, 50.0, 90.0, 25_000.0)  # 25 km due east of a point on it
    >>> round(float(geodesic_distance_to_line(line, [lon], [lat])[0]), 6)
    25000.0
    """
    a, b, _, _ = _segments(line_parts(line_lonlat))
    lon = np.atleast_1d(np.asarray(lon, float))
    lat = np.atleast_1d(np.asarray(lat, float))
    az, _, length = GEOD.inv(a[:, 0], a[:, 1], b[:, 0], b[:, 1])
    az, length = np.asarray(az, float), np.asarray(length, float)
    n, m = len(lon), len(a)
    if seg_hint is None:
        pl, pa = np.repeat(lon, m), np.repeat(lat, m)
        dist_a = np.asarray(GEOD.inv(np.tile(a[:, 0], n), np.tile(a[:, 1], n), pl, pa)[2])
        dist_b = np.asarray(GEOD.inv(np.tile(b[:, 0], n), np.tile(b[:, 1], n), pl, pa)[2])
        dist_a, dist_b = dist_a.reshape(n, m), dist_b.reshape(n, m)
        lower = (dist_a + dist_b - length[None, :]) / 2
        upper = np.minimum(dist_a, dist_b).min(axis=1)
        pt, sg = np.nonzero(lower <= upper[:, None] + 1e-6)
    else:
        hint = np.asarray(seg_hint, np.int64)
        hint = hint.reshape(n, -1)
        pt, col = np.nonzero(hint >= 0)
        sg = hint[pt, col]
        if (sg >= m).any():
            raise ValidationError("seg_hint refers to a segment the line does not have",
                                  field="seg_hint")
    out = np.full(n, np.inf)
    if len(pt):
        d = _geodesic_pairs(a[sg], b[sg], az[sg], length[sg], lon[pt], lat[pt])
        np.minimum.at(out, pt, d)
    return out


def distance_margin(dist_m: ArrayLike, scale_error: ArrayLike, floor_m: float) -> F64:
    """Half-width of the interval that surely contains the geodesic distance, given a planar one.

    For a conformal map with ``|k - 1| <= eps`` along the way, a planar distance ``D`` satisfies
    ``(1 - eps) d <= D <= (1 + eps) d`` (project the geodesic for one side, pull back the chord
    for the other). With ``s`` the chord/geodesic gap of the line (``floor_m`` includes it),
    ``|d - D| <= (eps * D + s) / (1 - eps)``.
    """
    eps = np.asarray(scale_error, float)
    return np.asarray((eps * np.asarray(dist_m, float) + floor_m) / (1.0 - eps), float)


def refine_near_threshold(
    dist_m: ArrayLike,
    thresholds_m: ArrayLike,
    margin_m: ArrayLike,
    line_lonlat: Any,
    lon: ArrayLike,
    lat: ArrayLike,
    seg_hint: ArrayLike | None = None,
) -> tuple[F64, NDArray[np.bool_]]:
    """Replace planar distances within ``margin_m`` of any threshold by exact geodesic ones.

    The margin must bound ``|planar - geodesic|`` (use :func:`distance_margin`:
    ``max_scale_error * D`` plus a floor of the line's chord deviation plus 1 m, which covers
    float rounding, the pyproj round trip and the Newton tolerance with orders of magnitude to
    spare; refining costs little, ~0.1 % of a realistic band of points). Outside the
    margin the planar verdict ``dist <= threshold`` equals the geodesic one; inside it the
    geodesic distance decides. So a verdict never depends on projection error.

    Returns
    -------
    (dist, refined) : corrected distances (a copy) and the mask of points recomputed.

    Examples
    --------
    >>> line = np.array([[30.0, 49.5], [30.0, 50.5]])
    >>> lon, lat, _ = GEOD.fwd([30.0, 30.0], [50.0, 50.0], [90.0, 90.0], [24_999.0, 10_000.0])
    >>> planar = np.array([25_003.0, 10_004.0])  # as if from a projection 3-4 m too long
    >>> d, r = refine_near_threshold(planar, [25_000.0], 10.0, line, lon, lat)
    >>> d.round(6).tolist(), r.tolist()  # the first verdict flips to the truth
    ([24999.0, 10004.0], [True, False])
    """
    dist = np.array(dist_m, dtype=float, copy=True)
    thr = np.atleast_1d(np.asarray(thresholds_m, float))
    margin = np.broadcast_to(np.asarray(margin_m, float), dist.shape)
    refined = np.zeros(dist.shape, bool)
    for t in thr:
        refined |= np.abs(dist - t) <= margin
    idx = np.flatnonzero(refined)
    if len(idx):
        hint = None if seg_hint is None else np.asarray(seg_hint)[idx]
        lon_a = np.broadcast_to(np.asarray(lon, float), dist.shape)
        lat_a = np.broadcast_to(np.asarray(lat, float), dist.shape)
        dist[idx] = geodesic_distance_to_line(line_lonlat, lon_a[idx], lat_a[idx], hint)
    return dist, refined
