"""Cramér–Rao bounds of a simulated emission's position, and what an ideal fusion could support.

The Fisher information of an origin or impact comes from the reports of it: each bearing
(its stated ``bearing_sd_deg``) and each acoustic arrival time (``sensor_timing_sd_s``, the
emission time a nuisance unknown), the error model the simulator drew them with. Its inverse is
the covariance no unbiased fusion of those reports can beat. :func:`supportable_origins` turns
it into the question a ceasefire finding asks: could *any* fusion of the stored reports of a
firing place it on its true side of the line at the agreement's confidence? That is the
denominator a recall "against what the evidence could support" is measured over (issue 12,
BENCHMARKS.md session 29 hE and session 36 hS). Pure: plain records in, numbers out.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pyproj
from numpy.typing import NDArray
from scipy.stats import norm

from truceline.core.classify import CompiledGeometry
from truceline.core.geo import GEOD
from truceline.simulation.sources import sound_speed

F64 = NDArray[np.float64]

#: WGS84 semi-major axis (m) and first eccentricity squared, for the local plane at an origin.
_A, _E2 = 6_378_137.0, 0.00669437999014


def _local(target_lon: float, target_lat: float, lon: F64, lat: F64) -> tuple[F64, F64]:
    """Observer positions in metres east/north of the target (geodesic azimuth and distance)."""
    n = len(lon)
    az, _, dist = GEOD.inv(np.full(n, target_lon), np.full(n, target_lat), lon, lat)
    a = np.radians(np.asarray(az))
    return np.asarray(dist) * np.sin(a), np.asarray(dist) * np.cos(a)


def fisher_bearings(dx: F64, dy: F64, sigma_rad: F64) -> F64:
    """2x2 Fisher information of the target position from bearings measured at observers at
    (dx, dy) relative to the target: each adds u u^T / (sigma r)^2, u perpendicular to the
    line of sight (the bearing changes by d/r per metre d across it)."""
    r2 = dx * dx + dy * dy
    g = np.stack([dy, -dx], axis=1) / r2[:, None]  # d(bearing)/d(target east, north)
    w = 1.0 / np.asarray(sigma_rad, float) ** 2
    return np.asarray(np.einsum("i,ij,ik->jk", w, g, g), float)


def fisher_tdoa(dx: F64, dy: F64, sigma_s: float, speed: F64) -> F64:
    """3x3 Fisher information of (east, north, emission time) from arrival times at sensors at
    (dx, dy) relative to the source: t_i = t0 + r_i / c + noise(sigma_s)."""
    r = np.hypot(dx, dy)
    g = np.stack([-dx / (r * speed), -dy / (r * speed), np.ones_like(r)], axis=1)
    return np.asarray(g.T @ g / sigma_s**2, float)


def _position_cov(j_bearing: F64 | None, j_tdoa: F64 | None) -> F64 | None:
    """The (east, north) block of J^-1 of the combined information; None when the geometry
    does not locate (fewer than 2 bearings, 3 arrivals, or collinear)."""
    if j_bearing is None and j_tdoa is None:
        return None
    j = np.zeros((3, 3))
    if j_bearing is not None:
        j[:2, :2] += j_bearing
    if j_tdoa is not None:
        j += j_tdoa
    use = j if j_tdoa is not None else j[:2, :2]
    if np.linalg.cond(use) > 1e12:
        return None
    return np.asarray(np.linalg.inv(use)[:2, :2], float)


def crlb_rms(j_bearing: F64 | None, j_tdoa: F64 | None) -> float:
    """RMS position bound sqrt(trace(J^-1)[:2, :2]) of the combined information (inf when the
    geometry does not locate: fewer than 2 bearings, 3 arrivals, or collinear)."""
    cov = _position_cov(j_bearing, j_tdoa)
    return math.inf if cov is None else float(math.sqrt(cov[0, 0] + cov[1, 1]))


def _information(target: tuple[float, float], reports: Sequence[Mapping[str, Any]],
                 sensor_timing_sd_s: float) -> tuple[F64 | None, F64 | None]:
    brg = [o for o in reports if o.get("bearing_deg") is not None and o.get("bearing_sd_deg")]
    aco = [o for o in reports if o.get("arrival_time") is not None]
    jb = jt = None
    if brg:
        dx, dy = _local(*target, np.array([o["observer_lon"] for o in brg], float),
                        np.array([o["observer_lat"] for o in brg], float))
        jb = fisher_bearings(dx, dy, np.radians([o["bearing_sd_deg"] for o in brg]))
    if aco:
        dx, dy = _local(*target, np.array([o["observer_lon"] for o in aco], float),
                        np.array([o["observer_lat"] for o in aco], float))
        temp = np.array([o.get("temperature_c", 10.0) for o in aco], float)
        jt = fisher_tdoa(dx, dy, sensor_timing_sd_s, sound_speed(temp))
    return jb, jt


def event_crlb(target: tuple[float, float], reports: Sequence[Mapping[str, Any]],
               sensor_timing_sd_s: float) -> float:
    """The bound for one origin or impact from the observation records that report it."""
    return crlb_rms(*_information(target, reports, sensor_timing_sd_s))


def position_cov(target: tuple[float, float], reports: Sequence[Mapping[str, Any]],
                 sensor_timing_sd_s: float) -> F64 | None:
    """The Cramér–Rao covariance (m^2, east/north) of one origin or impact from the records
    that report it; None when they do not locate it."""
    return _position_cov(*_information(target, reports, sensor_timing_sd_s))


def line_offset(target: tuple[float, float], parts_lonlat: Sequence[F64]
                ) -> tuple[float, F64]:
    """Distance (m) from ``target`` (lon, lat) to the nearest point of a line (its parts as
    (n, 2) lon/lat arrays) and the unit vector (east, north) from that point to the target:
    the gradient of the distance, i.e. the line's normal there, pointing to the target's side.
    Planar about the target (the ellipsoid's local radii): exact to ~0.1 % within 50 km.

    >>> d, n = line_offset((37.0, 48.0), [np.array([[36.9, 47.98], [37.1, 47.98]])])
    >>> round(d), [round(float(x), 3) + 0.0 for x in n]
    (2224, [0.0, 1.0])
    """
    lon0, lat0 = target
    s = math.sin(math.radians(lat0))
    w = 1.0 - _E2 * s * s
    kx = math.radians(1.0) * _A / math.sqrt(w) * math.cos(math.radians(lat0))
    ky = math.radians(1.0) * _A * (1.0 - _E2) / w**1.5
    best, vec = math.inf, np.array([0.0, 0.0])
    for part in parts_lonlat:
        x, y = (part[:, 0] - lon0) * kx, (part[:, 1] - lat0) * ky
        ax, ay, dx, dy = x[:-1], y[:-1], np.diff(x), np.diff(y)
        ll = dx * dx + dy * dy
        t = np.clip(-(ax * dx + ay * dy) / np.where(ll > 0, ll, 1.0), 0.0, 1.0)
        px, py = ax + t * dx, ay + t * dy
        d = np.hypot(px, py)
        if not len(d):
            continue
        k = int(np.argmin(d))
        if d[k] < best:
            best = float(d[k])
            vec = np.array([-px[k], -py[k]]) / max(best, 1e-9)
    return best, vec


def side_probability(cov: F64 | None, dist_m: float, normal: F64) -> float:
    """Phi(dist / sd across the line): the probability an ideal estimate, centred on the true
    origin with covariance ``cov``, puts on the origin's own side (a straight line there).

    >>> round(side_probability(np.diag([1e4, 16e4]), 500.0, np.array([0.0, 1.0])), 4)
    0.8944
    """
    if cov is None:
        return 0.5
    sd = float(math.sqrt(max(float(normal @ cov @ normal), 0.0)))
    return 1.0 if sd == 0.0 else float(norm.cdf(dist_m / sd))


def own_area_probability(geometry: CompiledGeometry, party: str, target: tuple[float, float],
                         cov: F64 | None, time: str) -> float:
    """The probability an ideal estimate, centred on the true origin ``target`` (lon, lat)
    with covariance ``cov`` (true east/north m^2), lies in ``party``'s area of control at
    ``time`` (ISO 8601), integrated over the areas as the fusion attributes
    (:func:`~truceline.core.fusion.attribution.attribute`); 0 where ``cov`` is None (the
    reports do not locate it). ``cov`` is carried to the projection's grid (its convergence
    and scale at the target), where the areas and the attribution live."""
    # here, not at the top: the fusion package loads numba (~0.5 s) for every importer of
    # the evaluator, which asks this only with a geometry
    from truceline.core.fusion.attribution import attribute

    if cov is None:
        return 0.0
    proj = geometry.projection
    f = pyproj.Proj(proj.crs).get_factors(target[0], target[1])
    g, k = math.radians(float(f.meridian_convergence)), float(f.meridional_scale)
    # the inverse of the fusion's grid-to-true turn (to_incidents._true_frame)
    r = k * np.array([[math.cos(g), -math.sin(g)], [math.sin(g), math.cos(g)]])
    x, y = proj.forward([target[0]], [target[1]])
    when = np.array([np.datetime64(time.removesuffix("Z"), "ns")])
    p = attribute(geometry, np.asarray(x, float), np.asarray(y, float),
                  (r @ np.asarray(cov, float) @ r.T)[None], when)
    return float(p[0, geometry.spec.parties.index(party)])


def says_firing(o: Mapping[str, Any]) -> bool:
    """Whether a report itself says it saw a firing (a monitor's ``outgoing``, a camera's
    muzzle flash), not a bang a fusion could take for a burst."""
    return o.get("explosion_type") == "outgoing" or o.get("fire_type") == "muzzle_flash"


def role_known(event: Mapping[str, Any], observations: Mapping[str, Mapping[str, Any]],
               stored_ids: set[str]) -> bool:
    """Whether the stored reports can tell the event's firing from a burst: one of its
    stored origin reports says firing, or its burst was reported too (two sounds of one
    shot, the launch the earlier). Without either, one bang on a side is that side's launch
    or the other side's burst, and no fusion of the record can say whose."""
    wild = set(event.get("wild", ()))
    reports = event.get("reports") or {}
    if any(says_firing(observations.get(i, {})) for i in reports.get("origin", ())
           if i in stored_ids and i not in wild):
        return True
    return any(i in stored_ids and i not in wild and i in observations
               for i in reports.get("impact", ()))


def supportable_origins(events: Sequence[Mapping[str, Any]],
                        observations: Mapping[str, Mapping[str, Any]], stored_ids: set[str],
                        line_lonlat: Sequence[F64], sensor_timing_sd_s: float,
                        confidence: float, geometry: CompiledGeometry | None = None
                        ) -> dict[str, bool]:
    """Per event id: whether the evidence could support its attribution. Its firing was
    reported (a stored report of the origin), the reports can tell it from a burst
    (:func:`role_known`), and an ideal fusion of those reports (the
    Cramér–Rao covariance at the true origin from the stored, not gross-error bearings and
    arrival times) puts the origin on its true side of the line of contact with probability
    ``Phi(distance / sd across the line) >= confidence``.

    Left out on purpose: the monitors' distance bands (a judged distance binned; the fusion
    reads them as a gate, not as a measurement) and the flight from a located burst (the
    simulator flies every round of a weapon class at one mean speed, so a time of flight
    would carry the simulator's constant, not what a shell does). Both could only add
    evidence, so this set is the smaller one and a recall over it the kinder reading.

    With ``geometry`` (the agreement's), the side is its party's area of control instead of
    the line's side (:func:`own_area_probability`; ``line_lonlat`` is then not read)."""
    out: dict[str, bool] = {}
    for e in events:
        origin = [i for i in (e.get("reports") or {}).get("origin", ()) if i in stored_ids]
        if not origin or not role_known(e, observations, stored_ids):
            out[e["id"]] = False
            continue
        wild = set(e.get("wild", ()))
        reps = [observations[i] for i in origin if i not in wild and i in observations]
        target = (float(e["origin"]["lon"]), float(e["origin"]["lat"]))
        cov = position_cov(target, reps, sensor_timing_sd_s) if reps else None
        if geometry is not None:
            p = own_area_probability(geometry, e["party"], target, cov, e["time"])
        else:
            p = side_probability(cov, *line_offset(target, line_lonlat))
        out[e["id"]] = p >= confidence
    return out
