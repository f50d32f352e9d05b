"""Fire reports as columns: the frame, units and error models every fusion stage shares.

A :class:`FireBatch` is one row per report in the agreement's projected CRS, with each report's
emission-time window already widened by its clock error and reporting lag; :func:`candidates`
turns every row into a Gaussian guess of where the event is. Both are computed once and read by
grouping, locating and partitioning, which is why they live apart from any one stage.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import pyproj
from numba import njit, prange
from numpy.typing import NDArray

from truceline.core.fusion.days import DAY_S as DAY_S  # re-exported: the per-day rules' period
from truceline.core.fusion.days import TIME_ORIGIN_US as TIME_ORIGIN_US
from truceline.core.fusion.days import UTC_DAYS, Days, day_of_s
from truceline.core.fusion.parallel import PARALLEL
from truceline.core.geo import Projection
from truceline.core.observations import Observation, micros
from truceline.core.taxonomy import TIME_PRECISION_SECONDS

__all__ = [
    "NO_TIME",
    "ROLE_ANY",
    "ROLE_IMPACT",
    "ROLE_ORIGIN",
    "Candidates",
    "FireBatch",
    "GroupingParams",
    "batch_from_columns",
    "batch_from_observations",
    "candidates",
    "join_columns",
    "report_columns",
    "role_of",
    "sensor_candidates",
    "sound_speed",
]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

#: Roles: where a report puts the event. Outgoing fire and flashes are at the origin, impacts
#: and airbursts at the impact; anything else (undetermined, bursts, flares) may be either.
ROLE_ORIGIN, ROLE_IMPACT, ROLE_ANY = 0, 1, 2


def role_of(fire_type: str | None, explosion_type: str | None) -> int:
    """The role of one report from its fire and explosion type."""
    if fire_type == "muzzle_flash" or explosion_type == "outgoing":
        return ROLE_ORIGIN
    if explosion_type in ("impact", "airburst"):
        return ROLE_IMPACT
    return ROLE_ANY


def sound_speed(temperature_c: Any) -> F64:
    """Speed of sound in dry air, m/s: ``331.3 * sqrt(1 + T / 273.15)``."""
    return np.asarray(331.3 * np.sqrt(1.0 + np.asarray(temperature_c, float) / 273.15), float)


def _by_source_type(table: Mapping[str, float], kinds: NDArray[Any], default: float) -> F64:
    out = np.full(len(kinds), default)
    for k, v in table.items():
        out[kinds == k] = v
    return out


@dataclass(frozen=True)
class GroupingParams:
    """How reports are linked; each value is a physical allowance, not a tuning knob."""

    #: Mahalanobis gate on two candidates' distance (chi-square, 2 dof; 13.82 is 99.9 %).
    gate_chi2: float = 13.82
    #: Scales of the normalised space-time the neighbour search runs in.
    link_scale_m: float = 3_000.0
    link_scale_s: float = 120.0
    #: Neighbours per report (bounds memory in bursts) and their search radius (normalised).
    k_neighbours: int = 16
    search_radius: float = 8.0
    #: Radius (normalised) of the all-pairs search used when no burst needs the kNN bound;
    #: at 5 it holds all but ~3 in a million of the pairs that pass the gates.
    pair_radius: float = 5.0
    #: Where the sweep went over its budget (kNN edges): components larger than this are cut
    #: into time slices before the complete linkage (otherwise cut whole from their edges).
    max_component: int = 3_000
    #: Relative 1-sigma error of a monitor's distance judgement behind a band.
    distance_judgement: float = 0.25
    #: Distance band assumed for a bearing without one, for grouping only (metres).
    default_band_m: tuple[float, float] = (300.0, 12_000.0)
    #: 1-sigma bearing error when the report gives none, per source type (degrees).
    bearing_sd_deg: Mapping[str, float] = field(
        default_factory=lambda: {"monitor": 5.0, "camera": 1.0, "sensor": 3.0})
    default_bearing_sd_deg: float = 5.0
    #: 1-sigma of a reported location without ``location_uncertainty_m`` (metres).
    default_location_sd_m: float = 500.0
    #: How far an acoustic sensor hears an explosion (a bare arrival time's candidate radius).
    acoustic_range_m: float = 20_000.0
    #: Clock error and reporting lag allowed per source type (seconds).
    clock_error_s: Mapping[str, float] = field(
        default_factory=lambda: {"monitor": 60.0, "camera": 2.0, "sensor": 0.5})
    report_lag_s: Mapping[str, float] = field(
        default_factory=lambda: {"monitor": 120.0, "camera": 5.0, "sensor": 0.0})
    #: A report timed to the second (a camera) that grouping left alone tries again with its
    #: window widened by a clock's error, against the arrays' fixes (:mod:`.late_clock`).
    late_clock_s: float = 60.0
    default_clock_error_s: float = 300.0
    default_report_lag_s: float = 600.0
    #: Timing allowance between two arrival times beyond the TDOA limit (seconds), for
    #: reports that also carry a bearing or a location.
    arrival_slack_s: float = 0.5
    #: The same allowance between two bare arrival times (timing jitter ~10 ms, sound speed
    #: from each sensor's own temperature and wind ~0.1 %, i.e. ~40 ms over 15 km).
    tdoa_slack_s: float = 0.25
    #: Bare arrival times are linked only between sensors this close (one array): across
    #: arrays the TDOA limit (tens of seconds) would admit the same event's other emission;
    #: arrays' fixes are joined as located units instead.
    array_span_m: float = 40_000.0
    #: An arrival group's fix (three or more arrivals) is a unit of grouping when its 95 %
    #: semi-major axis is under this (m); its covariance is inflated by the factor and a floor.
    max_arrival_fix_m: float = 40_000.0
    arrival_fix_inflation: float = 2.0
    arrival_fix_floor_m: float = 200.0
    arrival_range_frac: float = 0.3
    #: A vague arrival group joins a group holding an array's fix only if each of its
    #: arrivals is that fix's sound: within this many sigmas of the arrival time the fix
    #: predicts (its position's error propagated), plus ``tdoa_slack_s`` and
    #: ``wind_frac`` of the travel time (a wind up to ~7 m/s). Another sound of the event
    #: (the burst heard by a second array) or another event's would make the fit mix them.
    vague_fit_sigma: float = 3.5
    #: Sensors this close belong to one array. An arrival group spanning two arrays whose
    #: joint fit fails or rejects arrivals mixes sounds (the launch at one, the burst at the
    #: other, both within the TDOA limit); it is split into its arrays.
    sub_array_m: float = 5_000.0
    #: Where no array of such a group holds three arrivals, no part of it could be located
    #: alone, so splitting it loses the sound: it is split only where an arrival misses the
    #: joint fit by more than this many arrival sds. The fit's outlier level (3.5) is reached
    #: by the timing jitter alone in about one in 400 groups of seven lone sensors (the robust
    #: fit lets one large draw grow); another sound misses by seconds (hundreds of sds).
    mixed_sound_sigma: float = 8.0
    wind_frac: float = 0.02


@dataclass(frozen=True, eq=False)
class FireBatch:
    """Fire reports as columns in one projected frame (one row per report, NaN when absent).

    Times are float seconds since ``epoch`` (:data:`TIME_ORIGIN` for a batch of stored
    reports: :func:`batch_from_columns`); bearings are *grid* azimuths (radians, clockwise
    from grid north) already corrected for the meridian convergence at the observer; wind is in
    grid east/north components. ``t_lo``/``t_hi`` bound the event's emission time.
    """

    projection: Projection
    epoch: np.datetime64
    ids: NDArray[Any]
    source: I64
    role: NDArray[np.int8]
    t: F64
    t_lo: F64
    t_hi: F64
    ox: F64
    oy: F64
    brg: F64
    brg_sd: F64
    dmin: F64
    dmax: F64
    ex: F64
    ey: F64
    esd: F64
    arr: F64
    c: F64
    wu: F64
    wv: F64
    k: F64  #: point scale factor of the projection at the observer (grid m per true m)
    count: I64
    fire_type: NDArray[Any]
    explosion_type: NDArray[Any]
    weapon_class: NDArray[Any]
    #: whether the report gave the wind (else ``wu``/``wv`` are 0: unknown, not calm, until
    #: the fusion estimates it from the arrivals: :func:`.wind.estimate_wind`)
    wind_known: NDArray[np.bool_]
    #: where the report gave no wind, the error (1 sigma per component, m/s) of the wind in
    #: ``wu``/``wv``: inf while unknown, the estimate's error once estimated; NaN where given
    wind_sd: F64
    #: the days the per-day rules count by (:mod:`.days`)
    day_clock: Days = UTC_DAYS

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def from_columns(
        cls,
        cols: Mapping[str, Any],
        projection: Projection,
        epoch: np.datetime64,
        params: GroupingParams | None = None,
        day_clock: Days = UTC_DAYS,
    ) -> FireBatch:
        """Build from lon/lat columns; missing columns are absent values (``day_clock``: the
        per-day rules' days, :attr:`FireBatch.day_clock`).

        Keys: ``id``, ``source_id``, ``source_type``, ``time_s`` and ``arrival_s`` (seconds
        since ``epoch``), ``time_precision_s`` (half-width), ``fire_type``, ``explosion_type``,
        ``weapon_class``, ``count``, ``observer_lon``/``observer_lat``, ``bearing_deg`` (true),
        ``bearing_sd_deg``, ``distance_min_m``/``distance_max_m``, ``lon``/``lat``,
        ``location_sd_m``, ``temperature_c``, ``wind_u_ms``/``wind_v_ms``.
        """
        p = params or GroupingParams()
        n = len(cols["id"])

        def num(key: str, default: float = np.nan) -> F64:
            v = cols.get(key)
            if v is None:
                return np.full(n, default)
            a = np.asarray(v, float)
            return np.where(np.isfinite(a), a, default) if np.isfinite(default) else a.copy()

        def obj(key: str) -> NDArray[Any]:
            v = cols.get(key)
            return np.full(n, None, object) if v is None else np.asarray(v, object)

        stype = obj("source_type")
        ft, et = obj("fire_type"), obj("explosion_type")
        role = np.array([role_of(f, e) for f, e in zip(ft, et, strict=True)], np.int8)
        _, source = np.unique(np.asarray(cols["source_id"]).astype(str), return_inverse=True)
        olon, olat = num("observer_lon"), num("observer_lat")
        lon, lat = num("lon"), num("lat")
        ox, oy = np.full(n, np.nan), np.full(n, np.nan)
        has_o = np.isfinite(olon) & np.isfinite(olat)
        ox[has_o], oy[has_o] = projection.forward(olon[has_o], olat[has_o])
        ex, ey = np.full(n, np.nan), np.full(n, np.nan)
        has_e = np.isfinite(lon) & np.isfinite(lat)
        ex[has_e], ey[has_e] = projection.forward(lon[has_e], lat[has_e])
        # Meridian convergence at each observer: grid azimuth = true azimuth - convergence.
        gamma = np.zeros(n)
        scale = np.ones(n)
        if has_o.any():
            f = pyproj.Proj(projection.crs).get_factors(olon[has_o], olat[has_o])
            gamma[has_o] = np.radians(np.asarray(f.meridian_convergence, float))
            scale[has_o] = np.asarray(f.meridional_scale, float)
        brg = np.radians(num("bearing_deg")) - gamma
        sd_default = _by_source_type(p.bearing_sd_deg, stype, p.default_bearing_sd_deg)
        brg_sd = np.radians(np.where(np.isfinite(num("bearing_sd_deg")),
                                     num("bearing_sd_deg"), sd_default))
        wu0, wv0 = num("wind_u_ms", 0.0), num("wind_v_ms", 0.0)
        cg, sg = np.cos(gamma), np.sin(gamma)  # rotate true east/north into grid axes
        wu, wv = wu0 * cg - wv0 * sg, wu0 * sg + wv0 * cg
        c = sound_speed(num("temperature_c", 15.0))
        t = num("time_s")
        arr = num("arrival_s")
        prec = num("time_precision_s", 60.0)
        clock = _by_source_type(p.clock_error_s, stype, p.default_clock_error_s)
        lag = _by_source_type(p.report_lag_s, stype, p.default_report_lag_s)
        t_lo, t_hi = t - prec - clock - lag, t + prec + clock
        has_a = np.isfinite(arr)
        reach = p.acoustic_range_m / (c - np.hypot(wu, wv))
        t_lo[has_a] = arr[has_a] - reach[has_a] - p.arrival_slack_s
        t_hi[has_a] = arr[has_a] + p.arrival_slack_s
        esd = num("location_sd_m")
        esd = np.where(np.isfinite(esd) & (esd > 0), esd, p.default_location_sd_m)
        count = np.asarray(cols["count"], np.int64) if "count" in cols else np.ones(n, np.int64)
        return cls(
            projection=projection, epoch=epoch, ids=obj("id"), source=source.astype(np.int64),
            role=role, t=t, t_lo=t_lo, t_hi=t_hi, ox=ox, oy=oy, brg=brg, brg_sd=brg_sd,
            dmin=num("distance_min_m"), dmax=num("distance_max_m"), ex=ex, ey=ey, esd=esd,
            arr=arr, c=c, wu=wu, wv=wv, k=scale, count=count, fire_type=ft, explosion_type=et,
            weapon_class=obj("weapon_class"),
            wind_known=(known := np.isfinite(num("wind_u_ms")) & np.isfinite(num("wind_v_ms"))),
            wind_sd=np.where(known, np.nan, np.inf), day_clock=day_clock,
        )

    def since_origin(self, t: F64) -> F64:
        """Times ``t`` (seconds since :attr:`epoch`) as seconds since :data:`TIME_ORIGIN`
        (the same numbers where the epoch is the origin, as :func:`batch_from_columns` sets
        it)."""
        shift = float((self.epoch - TIME_ORIGIN) / np.timedelta64(1, "us")) * 1e-6
        return t + shift if shift else t

    def periods(self, t: F64, period_s: float) -> I64:
        """The period of each time ``t`` (seconds since :attr:`epoch`, finite): whole
        ``period_s`` counted from :data:`TIME_ORIGIN`, whatever this batch's epoch, so that a
        batch of one day and one of the month put a report in the same period."""
        return np.floor(self.since_origin(t) / period_s).astype(np.int64)

    def days(self, t: F64) -> I64:
        """The day of :attr:`day_clock` of each time ``t`` (seconds since :attr:`epoch`),
        numbered by date from :data:`TIME_ORIGIN` (:func:`.days.day_of_s`): the period of
        the per-day rules, whatever this batch's epoch and first report."""
        return day_of_s(self.since_origin(t), self.day_clock)

    def take(self, rows: I64, numbers_only: bool = False,
             columns: Collection[str] | None = None) -> FireBatch:
        """The rows ``rows`` as a new batch (same frame and epoch).

        ``numbers_only`` leaves the descriptive columns (ids and types: Python objects, half
        the cost of the copy) as ``None``, for a solve that reads numbers only: one read-only
        column of ``None`` for all of them (an object array of its own each took as long to
        fill as the numbers to gather). ``columns`` (with it) gathers only the numeric
        columns named, for a solve that reads no others: the rest are placeholders (NaN,
        zeros, ``False``), written, not gathered (the rows are spread over the batch, so each
        gathered column misses the cache on nearly every row).
        """
        kw: dict[str, Any] = {"projection": self.projection, "epoch": self.epoch,
                              "day_clock": self.day_clock}
        blank = np.broadcast_to(np.empty(1, object), (len(rows),))
        for name in self.__dataclass_fields__:
            if name not in kw:
                col = getattr(self, name)
                if numbers_only and col.dtype == object:
                    kw[name] = blank
                elif numbers_only and columns is not None and name not in columns:
                    kw[name] = (np.full(len(rows), np.nan) if col.dtype.kind == "f"
                                else np.zeros(len(rows), col.dtype))
                else:
                    kw[name] = col[rows]
        return FireBatch(**kw)


@dataclass(frozen=True)
class Candidates:
    """Where each report puts the event: mean and covariance (grid metres), and a validity."""

    mx: F64
    my: F64
    sxx: F64
    sxy: F64
    syy: F64
    ok: NDArray[np.bool_]

    def take(self, rows: I64) -> Candidates:
        """The candidates of rows ``rows`` (as :meth:`FireBatch.take` takes the reports)."""
        return Candidates(self.mx[rows], self.my[rows], self.sxx[rows], self.sxy[rows],
                          self.syy[rows], self.ok[rows])


def candidates(b: FireBatch, params: GroupingParams) -> Candidates:
    """One Gaussian per report: reported location, else bearing band, else the sensor area.

    A bearing's band (default :attr:`GroupingParams.default_band_m`) becomes a Gaussian with the
    uniform band's standard deviation along the ray (plus the distance judgement) and the
    bearing error across it; a sensor or observer without a direction is a Gaussian of half
    the acoustic range around itself. Reports with none of these, or no time window, are not
    ``ok``.
    """
    with PARALLEL:
        mx, my, sxx, sxy, syy, ok = _candidates(
            b.ex, b.ey, b.esd, b.brg, b.brg_sd, b.ox, b.oy, b.dmin, b.dmax, b.t_lo, b.t_hi,
            params.default_band_m[0], params.default_band_m[1], params.distance_judgement,
            params.acoustic_range_m)
    return Candidates(mx, my, sxx, sxy, syy, ok)


def sensor_candidates(b: FireBatch, params: GroupingParams) -> Candidates:
    """:func:`candidates` of a batch of bare arrival times (each with a sensor and a time
    window, no bearing, no location): each one's sensor, the same numbers, its columns not
    copied (``mx``, ``my`` are ``ox``, ``oy``)."""
    n = len(b)
    r2 = np.full(n, (params.acoustic_range_m / 2.0) ** 2)
    return Candidates(b.ox, b.oy, r2, np.zeros(n), r2.copy(), np.ones(n, np.bool_))


@njit(cache=True, error_model="numpy", parallel=True)
def _candidates(ex: F64, ey: F64, esd: F64, brg: F64, brg_sd: F64, ox: F64, oy: F64,
                dmin: F64, dmax: F64, t_lo: F64, t_hi: F64, band_lo: float, band_hi: float,
                judgement: float, acoustic_range: float
                ) -> tuple[F64, F64, F64, F64, F64, NDArray[np.bool_]]:
    n = len(ex)
    mx, my = np.full(n, np.nan), np.full(n, np.nan)
    sxx, sxy, syy = np.full(n, np.nan), np.zeros(n), np.full(n, np.nan)
    ok = np.zeros(n, np.bool_)
    r2 = (acoustic_range / 2.0) ** 2
    for i in prange(n):
        if math.isfinite(ex[i]):
            mx[i], my[i] = ex[i], ey[i]
            sxx[i] = syy[i] = esd[i] * esd[i]
            ok[i] = True
        elif math.isfinite(brg[i]) and math.isfinite(ox[i]):
            lo = dmin[i] if math.isfinite(dmin[i]) else band_lo
            hi = dmax[i] if math.isfinite(dmax[i]) else band_hi
            mid = (lo + hi) / 2.0
            s_along = math.sqrt((hi - lo) ** 2 / 12.0 + (judgement * mid) ** 2) + 50.0
            s_cross = mid * brg_sd[i] + 50.0
            ux, uy = math.sin(brg[i]), math.cos(brg[i])
            mx[i], my[i] = ox[i] + mid * ux, oy[i] + mid * uy
            # covariance R diag(along, cross) R^T, along axis u = (ux, uy), cross (uy, -ux)
            a2, c2 = s_along * s_along, s_cross * s_cross
            sxx[i] = a2 * ux * ux + c2 * uy * uy
            syy[i] = a2 * uy * uy + c2 * ux * ux
            sxy[i] = (a2 - c2) * ux * uy
            ok[i] = True
        elif math.isfinite(ox[i]):  # a sensor or observer without a direction
            mx[i], my[i] = ox[i], oy[i]
            sxx[i] = syy[i] = r2
            ok[i] = True
        else:
            sxx[i] = syy[i] = esd[i] * esd[i]
        ok[i] = ok[i] and math.isfinite(t_lo[i]) and math.isfinite(t_hi[i])
    return mx, my, sxx, sxy, syy, ok


#: An absent time in a column of whole microseconds from the Unix epoch.
NO_TIME = np.iinfo(np.int64).min
#: The instant a batch's times count from (:func:`batch_from_columns`), the same for every
#: batch: a day fused alone computes in the numbers the month computes in, and periods of
#: whole days counted from it (the wind's, :func:`periods`; the partitions') are days
#: whatever the batch's first report. Not the Unix epoch: float64 seconds from 2020 step by
#: 3e-8 s until mid-2028 and 1.2e-7 s until 2054; from 1970 they step by 2.4e-7 s, and by
#: 4.8e-7 s after 2038, against the 1e-6 s in which a fix's emission time counts as
#: converged (``LocateParams.converged_s``). Earlier reports are negative seconds.
TIME_ORIGIN = np.datetime64("2020-01-01T00:00:00", "s")
_NUMBERS = ("observer_lon", "observer_lat", "bearing_deg", "bearing_sd_deg", "distance_min_m",
            "distance_max_m", "lon", "lat", "temperature_c", "wind_u_ms", "wind_v_ms")


def _micros(t: datetime | None) -> int:
    """Whole microseconds from the Unix epoch to ``t`` (aware), as numpy's ``datetime64[us]``
    would count them, in Python's own integer arithmetic."""
    return NO_TIME if t is None else micros(t)


def report_columns(obs: Sequence[Observation]) -> dict[str, NDArray[Any]]:
    """Fire reports as the columns a batch is built from (:func:`batch_from_columns`), in one
    pass over the list.

    Times are whole microseconds from the Unix epoch (:data:`NO_TIME`: absent): a check
    reads the store a page at a time and joins the pages' columns (:func:`join_columns`),
    keeping no object per report, and a report's time stays exact to the microsecond until
    the batch turns it into seconds from :data:`TIME_ORIGIN`."""

    def col(get: Callable[[Observation], Any], dtype: Any = object) -> NDArray[Any]:
        out = np.empty(len(obs), dtype)
        out[:] = [get(o) for o in obs]
        return out

    def f(v: float | None) -> float:
        return float("nan") if v is None else float(v)

    cols: dict[str, NDArray[Any]] = {
        "id": col(lambda o: o.id),
        "source_id": col(lambda o: o.source_id),
        "source_type": col(lambda o: o.source_type.value),
        "time_us": col(lambda o: _micros(o.time), np.int64),
        "arrival_us": col(lambda o: _micros(o.arrival_time), np.int64),
        "time_precision_s": col(lambda o: TIME_PRECISION_SECONDS[o.time_precision], float),
        "fire_type": col(lambda o: o.fire_type.value if o.fire_type else None),
        "explosion_type": col(lambda o: o.explosion_type.value if o.explosion_type else None),
        "weapon_class": col(lambda o: (lambda w: w.value if w else None)(o.resolved_weapon()[0])),
        "count": col(lambda o: o.count, np.int64),
        "location_sd_m": col(lambda o: f(o.location_uncertainty_m), float),
    }
    for name in _NUMBERS:
        cols[name] = col(lambda o, name=name: f(getattr(o, name)), float)  # type: ignore[misc]
    return cols


def join_columns(parts: Sequence[dict[str, NDArray[Any]]]) -> dict[str, NDArray[Any]]:
    """The columns of several :func:`report_columns` calls as one set, rows in order. Each
    part gives up its columns as they are joined (the parts are left empty), so a column is
    held once and a half at most, not the whole set twice (~0.2 GB a column set at 907k)."""
    if not parts:
        return report_columns([])
    return {k: np.concatenate([p.pop(k) for p in parts]) for k in list(parts[0])}


def batch_from_columns(cols: Mapping[str, NDArray[Any]], projection: Projection,
                       params: GroupingParams | None = None, clock: Days = UTC_DAYS
                       ) -> FireBatch:
    """:func:`report_columns`' columns as a batch: each time becomes seconds from
    :data:`TIME_ORIGIN` (from whole microseconds, so the same reports give the same numbers
    however they were read, and whichever other reports share the batch); ``clock``: the
    per-day rules' days (:mod:`.days`)."""
    def seconds(us: NDArray[np.int64]) -> F64:
        absent = us == NO_TIME
        return np.where(absent, np.nan,
                        np.where(absent, 0, us - TIME_ORIGIN_US).astype(float) * 1e-6)

    out = {k: v for k, v in cols.items() if k not in ("time_us", "arrival_us")}
    out["time_s"] = seconds(np.asarray(cols["time_us"], np.int64))
    out["arrival_s"] = seconds(np.asarray(cols["arrival_us"], np.int64))
    return FireBatch.from_columns(out, projection, TIME_ORIGIN, params, clock)


def batch_from_observations(
    obs: Sequence[Observation], projection: Projection, params: GroupingParams | None = None
) -> FireBatch:
    """The fire reports as columns (a single pass over the list; the rest is vectorised)."""
    return batch_from_columns(report_columns(obs), projection, params)
