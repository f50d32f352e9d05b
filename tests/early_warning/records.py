"""A month-long mission along the March 2025 line whose fire doubles in one sector: records.

Observation posts every 8 km on both sides of the whole line, 7 km from it (the fire range of
the coverage model, so the band near each is observed), manned from the first reporting period
to the last. Each day each sector gets a Poisson number of located explosions (3 per 100 km),
each reported once by a post of its own at its own minute and place (so each is one incident);
from ``ESCALATION_DAY`` on the ``ESCALATED`` sector's rate doubles. Placed on the real line
with pyproj, independently of truceline's chainage code (:mod:`tests.partial_mission`).
"""

from __future__ import annotations

import functools
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from ..partial_mission import chainage_km, line_lonlat, point_beside

KYIV = ZoneInfo("Europe/Kyiv")
FIRST = date(2025, 3, 21)  # the first full reporting period ends on this day (19:30 local)
DAYS = 16
BASELINE = 10
ESCALATION_DAY = date(2025, 3, 31)  # the first reporting day with the doubled rate
ESCALATED = "lyman"
#: (id, from km, to km) of the agreement's sectors (examples/march2025.yaml)
SECTORS = (("kharkiv", 0, 200), ("lyman", 200, 400), ("donetsk", 400, 700),
           ("south_donetsk", 700, 900), ("zaporizhzhia_dnipro", 900, 1250))
PER_100KM = 3.0


def _period(d: date) -> tuple[datetime, datetime]:
    end = datetime(d.year, d.month, d.day, 19, 30, tzinfo=KYIV)
    return end - timedelta(days=1), end


def _iso(t: datetime) -> str:
    return t.isoformat()


def posts() -> list[dict[str, Any]]:
    start, _ = _period(FIRST)
    _, end = _period(FIRST + timedelta(days=DAYS - 1))
    total = float(chainage_km(line_lonlat())[-1])
    out = []
    for km in np.arange(4.0, total, 8.0):
        for side in ("UA", "RU"):
            lon, lat = point_beside(float(km), side)
            sid = f"ew-{int(km):04d}-{side.lower()}"
            out.append({"id": f"mon-{sid}", "kind": "monitoring", "source_id": sid,
                        "source_type": "monitor", "asset_type": "post",
                        "asset_status": "active", "time": _iso(start), "end_time": _iso(end),
                        "observer_lon": round(lon, 6), "observer_lat": round(lat, 6)})
    return out


@functools.cache
def fire() -> tuple[dict[str, Any], ...]:
    rng = np.random.default_rng(19)
    out = []
    for k in range(DAYS):
        d = FIRST + timedelta(days=k)
        start, _ = _period(d)
        for sec, a, b in SECTORS:
            rate = PER_100KM * (b - a) / 100.0
            if sec == ESCALATED and d >= ESCALATION_DAY:
                rate *= 2.0
            n = int(rng.poisson(rate))
            kms = np.sort(rng.uniform(a + 2, b - 2, n))
            minutes = rng.choice(np.arange(60, 1380, 7), n, replace=False)
            for i in range(n):
                side = "RU" if rng.random() < 0.5 else "UA"
                lon, lat = point_beside(float(kms[i]), side, 3_000.0)
                olon, olat = point_beside(float(kms[i]), "UA" if side == "RU" else "RU")
                out.append({"id": f"ew-{d.isoformat()}-{sec}-{i:02d}", "kind": "fire",
                            "fire_type": "explosion", "explosion_type": "impact",
                            "time": _iso(start + timedelta(minutes=int(minutes[i]))),
                            "source_id": f"ew-src-{sec}-{i:02d}", "source_type": "monitor",
                            "lon": round(lon, 6), "lat": round(lat, 6),
                            "location_uncertainty_m": 200.0, "observer_lon": round(olon, 6),
                            "observer_lat": round(olat, 6),
                            "count": int(1 + rng.poisson(1.0))})
    return tuple(out)


def records() -> list[dict[str, Any]]:
    return posts() + list(fire())
