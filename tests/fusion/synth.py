"""Synthetic events and reports with known answers, built with exact geodesics (no fusion code).

Bearings are true WGS84 azimuths (what an observer's compass and map give), arrival times use
the geodesic distance and the sound speed with wind along the path, so a fusion that treated
bearings as grid bearings or ignored the wind would show it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from shapely import LineString, box

from truceline.core.classify import (
    CompiledGeometry,
    ControlPeriod,
    GeometrySpec,
    SectorSpec,
    compile_geometry,
)
from truceline.core.fusion import FireBatch, GroupingParams
from truceline.core.fusion.batch import Candidates, candidates
from truceline.core.fusion.locate import Fixes, LocateParams, locate
from truceline.core.geo import GEOD, Projection, choose_projection

LINE_LON = 37.5  # a north-south line of contact: west of it party "west", east "east"
BOUNDS = (35.5, 46.5, 39.5, 50.5)
EPOCH = np.datetime64("2025-03-27T00:00:00", "s")


def projection() -> Projection:
    return choose_projection(BOUNDS)


def geometry() -> CompiledGeometry:
    spec = GeometrySpec(
        parties=("west", "east"),
        lines={"contact": LineString([(LINE_LON, 46.5), (LINE_LON, 50.5)])},
        reference_lines={"west": "contact", "east": "contact"},
        control=(ControlPeriod("west", box(35.5, 46.5, LINE_LON, 50.5)),
                 ControlPeriod("east", box(LINE_LON, 46.5, 39.5, 50.5))),
        sectors=(SectorSpec("all", "contact", 0, 500),),
        area_of_interest=box(*BOUNDS),
    )
    return compile_geometry(spec)


def sound_speed(t_c: float) -> float:
    return float(331.3 * np.sqrt(1 + t_c / 273.15))


@dataclass
class Reports:
    """Columns for :meth:`FireBatch.from_columns`, plus the true event of each row."""

    cols: dict[str, list[Any]] = field(default_factory=dict)
    event: list[int] = field(default_factory=list)

    def add(self, event: int, **kw: Any) -> None:
        n = len(self.event)
        for k in set(self.cols) | set(kw):
            self.cols.setdefault(k, [None] * n).append(kw.get(k))
        self.event.append(event)

    def batch(self, params: GroupingParams | None = None) -> FireBatch:
        cols: dict[str, Any] = {}
        for k, v in self.cols.items():
            if all(x is None or isinstance(x, (int, float)) for x in v) and k != "count":
                cols[k] = np.array([np.nan if x is None else x for x in v], float)
            else:
                cols[k] = v
        return FireBatch.from_columns(cols, projection(), EPOCH, params)


def bearing_report(
    r: Reports, event: int, post: tuple[float, float], target: tuple[float, float],
    t: float, sd_deg: float, rng: np.random.Generator, *, source: str,
    band: tuple[float, float] | None = None, error_deg: float | None = None,
    explosion_type: str = "outgoing",
) -> None:
    az, _, _dist = GEOD.inv(post[0], post[1], target[0], target[1])
    # the error: drawn from the stated model, or exactly ``error_deg`` when given
    brg = (az + (rng.normal(0, sd_deg) if error_deg is None else error_deg)) % 360.0
    kw: dict[str, Any] = {}
    if band is not None:
        kw = {"distance_min_m": band[0], "distance_max_m": band[1]}
    r.add(event, id=f"e{event}-{source}-{len(r.event)}", source_id=source,
          source_type="monitor", time_s=t, time_precision_s=1.0, fire_type="explosion",
          explosion_type=explosion_type, observer_lon=post[0], observer_lat=post[1],
          bearing_deg=brg, bearing_sd_deg=sd_deg, **kw)


def linked_shot(r: Reports, gun: tuple[float, float], burst: tuple[float, float],
                rng: np.random.Generator) -> None:
    """One shot seen clearly: three posts fix the launch at ``gun`` (event 0, t 100 s) and
    three the burst at ``burst`` (event 1, 40 s later), 1 deg bearings on 5-10 km bands."""
    for k, (az, d) in enumerate(((160.0, 6000.0), (20.0, 7000.0), (300.0, 8000.0))):
        bearing_report(r, 0, offset(*gun, az, d), gun, 100.0, 1.0, rng,
                       source=f"ol-{k}", band=(5000.0, 10000.0))
    for k, (az, d) in enumerate(((20.0, 6000.0), (110.0, 8000.0), (190.0, 7000.0))):
        bearing_report(r, 1, offset(*burst, az, d), burst, 140.0, 1.0, rng,
                       source=f"ob-{k}", band=(5000.0, 10000.0), explosion_type="impact")


def arrival_report(
    r: Reports, event: int, sensor: tuple[float, float], target: tuple[float, float],
    t0: float, jitter_s: float, rng: np.random.Generator, *, source: str,
    temperature_c: float = 10.0, wind: tuple[float, float] = (0.0, 0.0),
) -> None:
    az, _, dist = GEOD.inv(target[0], target[1], sensor[0], sensor[1])
    u = np.array([np.sin(np.radians(az)), np.cos(np.radians(az))])
    c = sound_speed(temperature_c) + float(np.dot(wind, u))
    arr = t0 + dist / c + rng.normal(0, jitter_s)
    r.add(event, id=f"e{event}-{source}-{len(r.event)}", source_id=source, source_type="sensor",
          time_s=arr, time_precision_s=1.0, fire_type="explosion", explosion_type="outgoing",
          observer_lon=sensor[0], observer_lat=sensor[1], arrival_s=arr,
          temperature_c=temperature_c, wind_u_ms=wind[0], wind_v_ms=wind[1])


def untype_arrays(r: Reports, prefix: str = "ac") -> None:
    """The arrays' arrivals (sources named ``prefix``...) typed "undetermined": an array that
    cannot tell a launch from a burst."""
    r.cols["explosion_type"] = ["undetermined" if s.startswith(prefix) else e
                                for s, e in zip(r.cols["source_id"], r.cols["explosion_type"],
                                                strict=True)]


def array_around(centre: tuple[float, float], spread_m: float = 1_500.0
                 ) -> list[tuple[float, float]]:
    """An acoustic array's four sensors: one at ``centre``, three ``spread_m`` round it."""
    return [centre] + [offset(*centre, az, spread_m) for az in (0.0, 120.0, 240.0)]


def undetermined_arrivals(r: Reports, event: int, bang: tuple[float, float],
                          sensors: list[tuple[float, float]], t0: float,
                          rng: np.random.Generator) -> None:
    """Each sensor's arrival of ``bang`` (emitted at ``t0``, 10 degC, 0.01 s jitter), typed
    "undetermined" (launch or burst): what an array that cannot tell reports."""
    for k, s in enumerate(sensors):
        arr = t0 + GEOD.inv(*bang, *s)[2] / sound_speed(10.0) + rng.normal(0, 0.01)
        r.add(event, id=f"a{k}", source_id=f"ac0-{k}", source_type="sensor", time_s=arr,
              time_precision_s=1.0, fire_type="explosion", explosion_type="undetermined",
              observer_lon=s[0], observer_lat=s[1], arrival_s=arr, temperature_c=10.0)


def offset(lon: float, lat: float, az: float, dist: float) -> tuple[float, float]:
    lo, la, _ = GEOD.fwd(lon, lat, az, dist)
    return float(lo), float(la)


def posts_around(
    target: tuple[float, float], n: int, rng: np.random.Generator,
    dist: tuple[float, float] = (3_000.0, 9_000.0), spread_deg: float = 150.0,
) -> list[tuple[float, float]]:
    """``n`` posts looking at ``target`` from directions spread over ``spread_deg``."""
    base = rng.uniform(0, 360)
    return [offset(*target, (base + spread_deg * (k / max(n - 1, 1) - 0.5)) % 360,
                   rng.uniform(*dist)) for k in range(n)]


def true_xy(targets: list[tuple[float, float]]) -> np.ndarray:
    a = np.asarray(targets, float)
    x, y = projection().forward(a[:, 0], a[:, 1])
    return np.column_stack([x, y])


def true_cov_frame_error(fx_x: float, fx_y: float, cov: np.ndarray, truth: np.ndarray) -> float:
    """Squared Mahalanobis distance of the truth from an estimate."""
    d = np.array([truth[0] - fx_x, truth[1] - fx_y])
    return float(d @ np.linalg.solve(cov, d))


def array_bangs(rng: np.random.Generator, n: int, heard: int, bearing_sd: float | None = None
                ) -> tuple[Reports, list[tuple[float, float]]]:
    """``n`` bangs, each heard by ``heard`` of the five sensors of a small array (1.5 km
    radius) 3-15 km away and, with ``bearing_sd``, seen by a monitor 2-8 km away."""
    r = Reports()
    targets = []
    for e in range(n):
        target = (rng.uniform(36.5, 38.5), rng.uniform(47.5, 49.0))
        targets.append(target)
        centre = offset(*target, rng.uniform(0, 360), rng.uniform(3_000, 15_000))
        sensors = [centre] + [offset(*centre, az, 1_500.0) for az in (0, 90, 180, 270)]
        for j in rng.choice(5, heard, replace=False):
            arrival_report(r, e, sensors[j], target, e * 3600.0, 0.01, rng, source=f"s{e}-{j}")
        if bearing_sd is not None:
            post = offset(*target, rng.uniform(0, 360), rng.uniform(2_000, 8_000))
            bearing_report(r, e, post, target, e * 3600.0, bearing_sd, rng, source=f"p{e}")
    return r, targets


#: the band edges monitors report in (km), as the simulator's
BAND_EDGES_KM = np.array([0, 1, 2, 3, 5, 7, 10, 15, 20, 30, 50])


def judged_band(rng: np.random.Generator, dist_m: float) -> tuple[float, float]:
    """The band a monitor names: the distance judged log-normally (25 %), then binned."""
    judged = dist_m * np.exp(0.25 * rng.standard_normal()) / 1000.0
    k = int(np.clip(np.searchsorted(BAND_EDGES_KM, judged, side="right") - 1, 0,
                    len(BAND_EDGES_KM) - 2))
    return float(BAND_EDGES_KM[k] * 1000.0), float(BAND_EDGES_KM[k + 1] * 1000.0)


def fitted(r: Reports, labels: np.ndarray | None = None
           ) -> tuple[FireBatch, np.ndarray, Candidates, Fixes]:
    """The reports as a batch, their labels (one group unless given), candidates and fits:
    what a step run right after :func:`~truceline.core.fusion.locate.locate` is given."""
    b = r.batch()
    labels = np.zeros(len(b), np.int64) if labels is None else labels
    cd = candidates(b, GroupingParams())
    return b, labels, cd, locate(b, labels, cd, LocateParams())


def unlocated_fixes(groups: int, rows: int) -> Fixes:
    """Fixes of ``groups`` groups over ``rows`` reports, none located: what a stage that
    places or joins groups is given in a test that builds its groups by hand."""
    G = groups
    return Fixes(x=np.full(G, np.nan), y=np.full(G, np.nan), t0=np.full(G, np.nan),
                 cov=np.full((G, 2, 2), np.nan), located=np.zeros(G, bool),
                 method=np.zeros(G, np.int64), rms=np.full(G, np.nan),
                 outlier=np.zeros(rows, bool), widen=np.ones(G),
                 stated=np.full((G, 2, 2), np.nan))
