"""A monitoring mission that covers only part of the March 2025 line, for coverage tests.

Observation posts stand 7 km from the line (fire is heard 7 km away: every cell of the 15 km
band near a post is observed), one every 8 km of the line: on both sides from km 0 to
``BOTH_TO_KM``, on UA's side only from there to ``UA_TO_KM``, none beyond. Posts are placed on
the real line with geodesic lengths and azimuths (pyproj), independently of truceline's own
chainage code, and are manned over the whole reporting period of ``DAY``.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
from pyproj import Geod

from truceline.adapters.agreement_files import load_agreement_file
from truceline.core.agreement_geometry import geometry_spec

DAY = "2025-03-28"
PERIOD = ("2025-03-27T19:30:00+02:00", "2025-03-28T19:30:00+02:00")
BOTH_TO_KM = 300.0
UA_TO_KM = 400.0
SPACING_KM = 8.0
OFFSET_M = 7_000.0
_GEOD = Geod(ellps="WGS84")


@functools.cache
def line_lonlat() -> np.ndarray:
    """The March 2025 line of contact's vertices (lon, lat), in order."""
    agreement, _ = load_agreement_file("march2025")
    line = geometry_spec(agreement).lines["front_2025"]
    main = next(iter(getattr(line, "geoms", [line])))  # part 0: the main line, 1,262 km
    return np.asarray(main.coords, float)[:, :2]


def chainage_km(xy: np.ndarray) -> np.ndarray:
    """Geodesic km from the line's start at every vertex."""
    _, _, d = _GEOD.inv(xy[:-1, 0], xy[:-1, 1], xy[1:, 0], xy[1:, 1])
    return np.concatenate([[0.0], np.cumsum(d)]) / 1e3


def point_beside(km: float, side: str, offset_m: float = OFFSET_M) -> tuple[float, float]:
    """The point ``offset_m`` from the line's vertex nearest to chainage ``km``, on ``side``
    ("RU": left of the line's direction, which runs north to south; "UA": right)."""
    xy = line_lonlat()
    ch = chainage_km(xy)
    i = int(np.clip(np.searchsorted(ch, km), 1, len(xy) - 2))
    az, _, _ = _GEOD.inv(xy[i - 1, 0], xy[i - 1, 1], xy[i + 1, 0], xy[i + 1, 1])
    lon, lat, _ = _GEOD.fwd(xy[i, 0], xy[i, 1], az + (-90.0 if side == "RU" else 90.0), offset_m)
    return float(lon), float(lat)


def mission_records() -> list[dict[str, Any]]:
    """``monitoring`` records: the posts, each active over the reporting period of ``DAY``."""
    out = []
    for km in np.arange(SPACING_KM / 2, UA_TO_KM, SPACING_KM):
        for side in ("UA", "RU"):
            if side == "RU" and km >= BOTH_TO_KM:
                continue
            lon, lat = point_beside(float(km), side)
            sid = f"op-{int(km):04d}-{side.lower()}"
            out.append({
                "id": f"mon-{sid}", "kind": "monitoring", "source_id": sid,
                "source_type": "monitor", "asset_type": "post", "asset_status": "active",
                "time": PERIOD[0], "end_time": PERIOD[1],
                "observer_lon": round(lon, 6), "observer_lat": round(lat, 6),
            })
    return out
