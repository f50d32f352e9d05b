"""Location precision: what a position known only to within a radius allows us to say.

A UCDP GED event coded ``where_prec`` 4 is somewhere in an oblast; its coordinates are the
oblast's centroid. Placing it in a sector, a report region or a zone, or giving its distance to
the line to 0.1 km, states more than the source knows. These functions take each point's 1-sigma
location uncertainty (metres; NaN or None when the source gave none, which is read as precise)
and answer only what the uncertainty allows:

* a **distance** to a line is one number when its 95 % interval (``±`` :data:`K_LINE` sigma) is
  within :data:`POINT_M`; a range "within lo–hi km" (whole km, widened outwards) up to
  :data:`NOT_DETERMINABLE_M`; beyond that "not determinable";
* a **sector** is kept only when the chainage interval ``± K_LINE sigma`` lies in that one sector
  and the farthest distance still lies within the sectors' reach;
* a **region** (a polygon in lon/lat) is kept only when the point lies inside it at least
  ``K_AREA sigma`` from its boundary. Distances to the boundary are taken in degrees and turned
  into metres with the shortest length of a degree at that latitude (a degree of longitude), so
  the test errs towards "unassigned", never towards a wrong region;
* a **zone** "within W km of a line" is decided only when ``|d - W| > K_LINE sigma``.

Everything else is "unassigned (precision: ...)", naming the source's precision.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray

__all__ = [
    "K_AREA",
    "K_LINE",
    "NOT_DETERMINABLE_M",
    "POINT_M",
    "assignable_sectors",
    "describe_precision",
    "distance_statement",
    "region_of",
    "regions_of",
    "unassigned",
    "zone_decided",
]

F64 = NDArray[np.float64]

#: Half-width of a 95 % interval along one axis (distance to a line, chainage), in sigmas.
K_LINE = 1.96
#: Radius of the 95 % disk of a circular 2-D Gaussian, in sigmas (sqrt(chi2_2(0.95))).
K_AREA = 2.448
#: A distance is stated as one number when its 95 % half-width is at most this.
POINT_M = 1_000.0
#: A distance is "not determinable" when its 95 % half-width reaches this.
NOT_DETERMINABLE_M = 100_000.0
_M_PER_DEG_LAT = 110_574.0  # the shortest degree of latitude (at the equator), WGS84


def _sigma(sigma_m: float | None) -> float:
    return 0.0 if sigma_m is None or not math.isfinite(sigma_m) else max(float(sigma_m), 0.0)


def describe_precision(label: str | None, sigma_m: float | None) -> str:
    """The source's own precision label, else the 95 % radius in km."""
    if label:
        return label
    s = _sigma(sigma_m)
    return f"±{K_AREA * s / 1000.0:.0f} km" if s else "unknown"


def unassigned(label: str | None, sigma_m: float | None) -> str:
    """'unassigned (precision: oblast, UCDP where_prec 4)'."""
    return f"unassigned (precision: {describe_precision(label, sigma_m)})"


def distance_statement(
    dist_m: float, sigma_m: float | None, to: str = "the line of contact"
) -> tuple[str, float | None, tuple[float, float] | None]:
    """What may be said of a distance: (text, the distance if one number, the 95 % range).

    Examples
    --------
    >>> distance_statement(12_345.0, 50.0)[0]
    '12.3 km from the line of contact'
    >>> distance_statement(12_345.0, 12_500.0)
    ('within 0–37 km of the line of contact', None, (0.0, 36845.0))
    >>> distance_statement(12_345.0, 75_000.0)[0]
    'distance to the line of contact not determinable (location known to ±147 km)'
    """
    h = K_LINE * _sigma(sigma_m)
    if h <= POINT_M:
        return f"{dist_m / 1000.0:.1f} km from {to}", dist_m, None
    if h >= NOT_DETERMINABLE_M:
        return (f"distance to {to} not determinable (location known to ±{h / 1000.0:.0f} km)",
                None, None)
    lo, hi = max(0.0, dist_m - h), dist_m + h
    text = f"within {math.floor(lo / 1000.0)}–{math.ceil(hi / 1000.0)} km of {to}"
    return text, None, (round(lo, 1), round(hi, 1))


def assignable_sectors(
    sector: NDArray[np.integer[Any]],
    chainage_m: dict[str, F64],
    dist_m: dict[str, F64],
    sigma_m: F64,
    sectors: Sequence[tuple[str, float, float]],
    sector_max_m: float,
) -> NDArray[np.int16]:
    """Each point's sector where its uncertainty allows one, else -1.

    ``sector`` is the classification's (index into ``sectors``, -1 none); ``sectors`` are
    ``(line id, from_km, to_km)`` in the same order; ``sigma_m`` NaN means precise.
    """
    out = np.asarray(sector, np.int16).copy()
    h = K_LINE * np.where(np.isfinite(sigma_m), sigma_m, 0.0)
    for k, (line, lo_km, hi_km) in enumerate(sectors):
        sel = out == k
        if not sel.any():
            continue
        c, d = chainage_m[line][sel], dist_m[line][sel]
        ok = ((c - h[sel] >= lo_km * 1000.0) & (c + h[sel] < hi_km * 1000.0)
              & (d + h[sel] <= sector_max_m))
        idx = np.flatnonzero(sel)
        out[idx[~ok]] = -1
    return out


def region_of(
    regions: Sequence[tuple[str, Any]], lon: float, lat: float, sigma_m: float | None
) -> str | None:
    """The region the point lies in, if its 95 % disk does too; None if not decidable.

    The caller tells "outside every region" apart by testing the point alone.
    """
    r = K_AREA * _sigma(sigma_m)
    for name, geom in regions:
        if not shapely.contains_xy(geom, lon, lat):
            continue
        if r == 0.0:
            return str(name)
        m_per_deg = _M_PER_DEG_LAT * math.cos(math.radians(min(abs(lat) + 1.0, 89.0)))
        edge = shapely.distance(geom.boundary, shapely.Point(lon, lat)) * m_per_deg
        return str(name) if edge >= r else None
    return None


def zone_decided(dist_m: float, within_m: float, sigma_m: float | None) -> bool:
    """Is "within ``within_m`` of the line" decided for a point ``dist_m`` away?"""
    return abs(dist_m - within_m) > K_LINE * _sigma(sigma_m)


def regions_of(
    regions: Sequence[tuple[str, Any]], lon: Sequence[float], lat: Sequence[float],
    sigma_m: Sequence[float | None],
) -> tuple[NDArray[np.intp], NDArray[np.bool_]]:
    """:func:`region_of` for many points at once (a day's events: one containment test per
    region for all of them, not one per point): each point's region (index into ``regions``,
    the first containing it; -1 outside every region) and whether its 95 % disk lies in it
    too. The same answers as the per-point test, to the last bit (the metres per degree are
    taken with :mod:`math`, as there)."""
    x, y = np.asarray(lon, float), np.asarray(lat, float)
    idx = np.full(len(x), -1, np.intp)
    for k, (_, geom) in enumerate(regions):
        todo = np.flatnonzero(idx < 0)
        if not len(todo):
            break
        hit = todo[shapely.contains_xy(geom, x[todo], y[todo])]
        idx[hit] = k
    ok = idx >= 0
    r = np.array([K_AREA * _sigma(s) for s in sigma_m], float).reshape(-1)
    far = np.flatnonzero(ok & (r > 0.0))
    for k in np.unique(idx[far]):
        sel = far[idx[far] == k]
        edge = shapely.distance(regions[k][1].boundary, shapely.points(x[sel], y[sel]))
        for i, d in zip(sel.tolist(), edge.tolist(), strict=True):
            m_per_deg = _M_PER_DEG_LAT * math.cos(math.radians(min(abs(float(y[i])) + 1.0, 89.0)))
            ok[i] = d * m_per_deg >= r[i]
    return idx, ok
