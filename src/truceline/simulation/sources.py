"""Error models of the simulated sources: monitors, acoustic sensors, cameras, and their figures.

Every number a simulated source depends on is a field of :class:`SimulationParams`, with the
published figure (or the reasoning) it comes from, so a scenario can be re-run with other
assumptions and the evaluator's limits (Cramér–Rao) use the same noise the sources had.
Pure: numpy in, numpy out; randomness only from the :class:`numpy.random.Generator` passed in.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from truceline.core.taxonomy import WeaponClass

F64 = NDArray[np.float64]

#: Distance bands (km) monitors report in, as in OSCE SMM reports ("3-5 km", "5-7 km").
DISTANCE_BANDS_KM: tuple[float, ...] = (0, 1, 2, 3, 5, 7, 10, 15, 20, 30, 40, 60)


@dataclass(frozen=True)
class WeaponModel:
    """How one weapon class is used and seen. Ranges are public reference figures."""

    weapon_class: WeaponClass
    share: float
    """Share of firing events. SMM reports in 2015-2021 were dominated by mortars, then tube
    artillery, then MLRS (e.g. SMM daily report counts); the mix is illustrative."""
    origin_depth_km: tuple[float, float]
    """Firing position behind the line: mortars 1-6 km (82 mm: 4 km, 120 mm: 7 km range), tube
    artillery 5-20 km (D-30: 15 km, 2S3/2S19: 18-25 km), MLRS 8-35 km (Grad 20 km, Uragan 35 km)."""
    max_range_km: float
    """Maximum range: the origin-to-impact distance never exceeds it."""
    target_depth_km: tuple[float, float]
    """Impact beyond the line (into the other side's area), before capping by range."""
    rounds_mean: float
    """Mean rounds per event (Poisson + 1): a mortar or gun engagement fires a few, an MLRS
    salvo 10-40 rockets (BM-21: 40 tubes)."""
    systems: tuple[str, ...]
    """Named systems (truceline.core.taxonomy) drawn uniformly for the event."""
    audible_km: tuple[float, float]
    """Range within which a monitor detects it (day, night). Firing and bursts of 120-152 mm are
    heard 10-20 km away; at night flashes are seen farther (SMM reports record 'heard/saw' at
    such distances)."""
    sensor_km: float
    """Acoustic sensor detection range (impulsive low-frequency sound of guns and rockets is
    recorded at tens of km; here a conservative, noise-limited figure)."""
    flight_speed_ms: float
    """Mean speed over the trajectory, for the time of flight from firing to impact (mortar
    bombs ~100-250 m/s, shells ~300-500 m/s, rockets ~500-700 m/s averaged)."""


def _weapons() -> tuple[WeaponModel, ...]:
    wc = WeaponClass
    return (
        WeaponModel(wc.MORTAR, 0.5, (1.0, 6.0), 7.0, (0.2, 4.0), 2.0,
                    ("2B9 Vasilek", "2B11 Sani"), (7.0, 9.0), 10.0, 150.0),
        WeaponModel(wc.TUBE_ARTILLERY, 0.35, (5.0, 20.0), 25.0, (0.5, 15.0), 1.5,
                    ("D-30", "2S1 Gvozdika", "2S3 Akatsiya", "2A65 Msta-B", "M777"),
                    (15.0, 20.0), 20.0, 350.0),
        WeaponModel(wc.MLRS, 0.15, (8.0, 35.0), 40.0, (1.0, 20.0), 12.0,
                    ("BM-21 Grad", "9K57 Uragan"), (20.0, 25.0), 25.0, 550.0),
    )


def _rhythm() -> tuple[float, ...]:
    # Local hours 0..23: SMM reports recorded most violations in the evening, at night and at
    # dawn (e.g. SMM thematic report on ceasefire violations, 2017); the day is quieter.
    night, dawn, day, evening = 1.6, 2.0, 0.5, 1.1
    return tuple(
        dawn if 4 <= h < 7 else day if 7 <= h < 18 else evening if 18 <= h < 22 else night
        for h in range(24)
    )


@dataclass(frozen=True)
class SimulationParams:
    """Every figure the simulator uses (defaults: a March 2025 mission along the front line)."""

    # -- fire ------------------------------------------------------------------------------
    events_per_100km_day: float = 10.0
    """Firing events per 100 km of line per day at scale 1 (SMM recorded 100s-1000s of
    explosions a day along 420 km in bad weeks; events group several rounds)."""
    weapons: tuple[WeaponModel, ...] = field(default_factory=_weapons)
    hourly_rhythm: tuple[float, ...] = field(default_factory=_rhythm)
    """Relative rate per local hour (0-23): more at night and dawn."""
    night_hours: tuple[int, int] = (19, 6)
    """Local night [from, to): flashes are seen, cameras see muzzle flashes (late March)."""
    sector_km: float = 100.0
    """Sector length when the agreement defines no sectors."""
    quiet_share: float = 0.25
    """Share of sectors that are quiet (rate x ``quiet_factor``)."""
    quiet_factor: float = 0.15
    hot_share: float = 0.2
    """Share of sectors that are hot (rate x ``hot_factor``)."""
    hot_factor: float = 3.0
    escalation_start_prob: float = 0.04
    """Per sector and day: chance an escalation episode starts (rate x 2-3 for 2-5 days)."""
    escalation_factor: tuple[float, float] = (2.0, 3.0)
    escalation_days: tuple[int, int] = (2, 5)
    airburst_share: float = 0.05
    """Share of tube artillery and mortar impacts that burst in the air (fuze setting)."""

    # -- monitors ----------------------------------------------------------------------------
    post_spacing_km: float = 20.0
    """Observation posts every ~15-25 km on each side (SMM forward patrol bases, 2015-2022)."""
    post_depth_km: tuple[float, float] = (2.0, 5.0)
    patrols_per_100km_side: float = 1.0
    """Patrols per 100 km of line per side per day, each at one stop, 09:00-16:00 local."""
    patrol_hours: tuple[int, int] = (9, 16)
    patrol_depth_km: tuple[float, float] = (1.0, 8.0)
    detect_prob: float = 0.85
    """Detection probability at zero distance; falls as 1 - (d/R)^2 to 0 at the range R."""
    bearing_sd_heard_deg: float = 6.0
    """Bearing error (1 sigma) of an explosion heard by day. Human localisation of impulsive
    sounds: 2-5 deg in front in the laboratory (Makous & Middlebrooks 1990, JASA 87:2188), more
    in the field with echoes and the compass; 6 deg is a field figure."""
    bearing_sd_seen_deg: float = 2.5
    """Bearing error of a flash seen at night with a compass (hand-bearing compass ~1-2 deg)."""
    wild_bearing_rate: float = 0.02
    """Share of monitor bearings that are gross errors (20-90 deg off: reverberation, the
    wrong flash); fusion must be robust to them."""
    distance_log_sd: float = 0.25
    """Distance judgement error, log-normal sigma (~25 %), before binning into a band."""
    undetermined_share: float = 0.15
    """Share of monitor reports typed 'undetermined' instead of impact/outgoing/airburst."""
    weapon_id_correct: float = 0.7
    """Chance the weapon class is named correctly; otherwise omitted (0.2) or confused (0.1)."""
    weapon_id_omitted: float = 0.2
    clock_sd_s: float = 30.0
    """Per-monitor clock offset (1 sigma): hand-set watches and phones."""
    report_lag_mean_s: float = 30.0
    """Mean delay (exponential) before the monitor notes the time; times are then truncated to
    the minute (time_precision 'minute')."""
    restriction_prob_patrol: float = 0.08
    """Chance a patrol is stopped (checkpoint, denial, mines): it then observes nothing that day
    (SMM recorded restrictions on a few percent to over 10 % of patrols)."""
    restriction_prob_post: float = 0.01
    """Chance per post and day that a post is denied or evacuated for the day."""
    area_denial_share: float = 0.0
    """Share of restrictions that also deny an area: the record carries ``denied_radius_m``
    and the coverage model then removes every asset's coverage of that disc until the end of
    the day (``docs/coverage.md``). The detection physics is unchanged (a sensor or post
    outside the disc still hears fire inside it), so the model's claim stays conservative."""
    denied_radius_km: tuple[float, float] = (2.0, 8.0)
    """Radius of a denied area, drawn uniformly (SMM reports: access denied to a village or
    an area of a few km)."""
    uncovered_sectors: tuple[str, ...] = ()
    """Sectors (ids of the agreement's sectors, or ``km<from>`` stretches) with no post,
    camera, acoustic array or patrol at all: whole stretches of the line nobody watches."""
    uncovered_sector_count: int = 0
    """Or this many sectors, chosen from the seed (ignored when ``uncovered_sectors`` names
    them)."""

    bias_share: float = 0.0
    """Share of the observation posts whose compass reads off by ``bias_deg`` on every report
    (issue 14: a misread declination, a compass near a vehicle's steel). Patrols (a new
    team and id each day) and cameras (calibrated on landmarks) are not biased. Truth:
    ``bearing_bias_deg`` on each post's ``source`` record."""
    bias_deg: tuple[float, float] = (4.0, 10.0)
    """Size of such a bias (deg, uniform), either way with equal chance."""
    bias_sd_deg: float = 0.0
    """Every other post's own small compass error (deg, 1 sigma): the declination set to the
    nearest degree, a sighting compass's spec (~0.5-1 deg)."""

    # -- acoustic sensors ------------------------------------------------------------------------
    sensor_array_spacing_km: float = 40.0
    """An array of sensors every ~40 km on each side."""
    sensor_array_size: int = 4
    sensor_array_radius_km: float = 1.5
    """Sensors on a circle of this radius around the array centre (plus one at the centre)."""
    sensor_depth_km: float = 6.0
    sensor_detect_prob: float = 0.9
    sensor_timing_sd_s: float = 0.01
    """Arrival-time error (1 sigma): GPS time stamping is ~1 microsecond and onset picking ~1 ms;
    turbulence and unmodelled propagation over km add ~10 ms (sound-ranging practice)."""
    temperature_mean_c: float = 5.0
    """Mean air temperature (late March, eastern Ukraine), with a diurnal cycle and daily
    variation below; sound speed 331.3 * sqrt(1 + T / 273.15) m/s."""
    temperature_diurnal_c: float = 4.0
    temperature_daily_sd_c: float = 3.0
    wind_sd_ms: float = 4.0
    """Daily wind components (u east, v north), 1 sigma; the sound travels at c + w . direction."""
    sensor_met_sd: float = 0.5
    """Error of the temperature (deg C) and wind (m/s) each sensor reports."""

    # -- cameras -------------------------------------------------------------------------------
    camera_every_nth_post: int = 2
    """Every n-th post has a camera facing the line (SMM ran long-range cameras at posts)."""
    camera_fov_deg: float = 90.0
    camera_range_km: tuple[float, float] = (5.0, 20.0)
    """Range for muzzle flashes (day, night)."""
    camera_detect_prob: tuple[float, float] = (0.3, 0.85)
    camera_bearing_sd_deg: float = 0.5
    """Bearing error of a flash located in a calibrated camera image (pixel + heading error)."""
    camera_down_prob: float = 0.05
    """Chance per camera and day that it is down all day (power, link, damage): it then detects
    nothing and files a ``monitoring`` record with ``asset_status: down``."""
    camera_outage_share: float = 0.0
    """Share of the cameras that are down for an outage of several consecutive days in the run
    (a damaged mast, a cut power line), on top of ``camera_down_prob``."""
    camera_outage_days: tuple[int, int] = (3, 7)
    """Length of such an outage in days (uniform; cut at the end of the run)."""

    # -- resubmissions ---------------------------------------------------------------------------
    resubmit_share: float = 0.0
    """Share of each day's observation records sent a second time under a new id with the same
    content (a retry after a lost acknowledgement, a re-export), arriving anywhere in the day's
    stream (:mod:`truceline.simulation.resubmissions`). Truth: a ``resubmission`` record each."""
    resubmit_channel: bool = False
    """The copies come by a second channel of the same source (ids ``...-c2``, coordinates to 4
    decimals, arrival times to the millisecond) instead of as the same record (``...-r``)."""

    # -- planted provision evidence -------------------------------------------------------------
    withdrawal_violations: int = 3
    """Heavy weapons sighted inside the withdrawal distance after the deadline, per provision
    and party over the run."""
    withdrawal_compliant: int = 3
    """Sightings of the same weapons beyond the distance (honest compliance), per provision and
    party."""
    presence_violations: int = 2
    """Foreign contingents sighted in a prohibited territory, per provision."""
    presence_compliant: int = 1
    presence_unknown: int = 1
    """Contingents whose nationality the monitors could not establish (insufficient evidence)."""
    foreign_nationalities: tuple[str, ...] = ("France", "United Kingdom", "Poland")
    limit_declarations: int = 1
    """Declarations per quantitative-limit provision and party (one over the limit for the first
    party, at or under it for the others)."""
    sighting_uncertainty_m: float = 150.0
    """Location uncertainty (1 sigma) of a sighting: GPS plus an estimated offset."""

    # -- a planned layout (issue 16: `truceline plan` measures what a layout buys) -----------
    layout_sites: tuple[tuple[str, float, float, float], ...] = ()
    """A planned layout's fixed sites, ``(kind, lon, lat, facing_deg)`` with kind ``post``,
    ``camera`` or ``array``: when given they replace the posts, cameras and arrays spaced by
    ``post_spacing_km``, ``camera_every_nth_post`` and ``sensor_array_spacing_km`` (patrols
    stay ``patrols_per_100km_side``). Each site belongs to the party whose area holds it;
    a site in nobody's area is dropped."""

    # -- issue 14's conditions: error models the fusion was not tuned to --------------------------
    # (scenarios ``coarse_bands``, ``wild_bearings``, ``clock_offsets``, ``wind`` and
    # ``all_conditions`` in :mod:`truceline.simulation.presets`; docs/simulation.md)
    distance_bands_km: tuple[float, ...] = DISTANCE_BANDS_KM
    """Edges (km) of the distance bands monitors report in. Coarser bands (``coarse_bands``:
    ..., 10-20, 20-50 km) are what a monitor writes when it can only say 'far'."""
    wild_bearing_sd_deg: float = 0.0
    """0: a wild bearing is off by 20-90 deg either way (uniform); above 0: by a normal error
    of this sd (``wild_bearings``: 30 deg), so most wild bearings are only moderately off and
    no gap separates them from good ones. Truth: the event's ``wild`` reports."""
    camera_clock_sd_s: float = 0.0
    """Per-camera clock offset (1 sigma); 0: cameras are GPS-timed. Truth: ``clock_offset_s``
    on each camera's ``source`` record (acoustic sensors are GPS-timed: 0)."""
    steady_wind_ms: float = 0.0
    """Above 0: one wind of this speed blows over the whole run, from a direction drawn from
    the seed (instead of a new wind each day, ``wind_sd_ms``). Truth: a ``wind`` record."""
    sensor_reports_wind: bool = True
    """Whether acoustic sensors write the wind they measure (``wind_u_ms``/``wind_v_ms``); off,
    the fusion must estimate it from the arrivals themselves."""
    # -- planted escalation (issue 19: early warning), with its truth ----------------------------
    escalation_kind: str | None = None
    """One sector's fire rate changes from a day on, on top of the random episodes: ``doubling``
    (x2 from then on), ``ramp`` (x(1 + ``escalation_ramp_per_day`` * days since), rising) or
    ``spike`` (x``escalation_spike_factor`` on that one day). Truth: an ``escalation_truth``
    record (sector, first day, kind). Presets ``escalation_*`` also switch the random episodes
    off, so the planted change is the only one."""
    escalation_sector: str | None = None
    """The sector that escalates (an id of the agreement's sectors); default: drawn from the
    seed among the sectors."""
    escalation_first_day: tuple[int, int] = (32, 38)
    """The day (index from the run's start) the change begins, drawn uniformly from this range
    (inclusive) and cut to the run: after a 28-day baseline with room to detect."""
    escalation_ramp_per_day: float = 0.1
    """``ramp``: the rate rises by this share of the baseline per day (doubled after 10 days)."""
    escalation_spike_factor: float = 4.0
    """``spike``: the rate on the one day, as a multiple of the baseline."""

    def weapon(self, wc: WeaponClass) -> WeaponModel:
        for w in self.weapons:
            if w.weapon_class == wc:
                return w
        raise KeyError(wc)


# ----------------------------------------------------------------------------------------------
# error models
# ----------------------------------------------------------------------------------------------


def sound_speed(temperature_c: F64 | float) -> F64:
    """Speed of sound in dry air (m/s): 331.3 * sqrt(1 + T / 273.15)."""
    return np.asarray(331.3 * np.sqrt(1.0 + np.asarray(temperature_c, float) / 273.15))


def detection_probability(dist_m: F64, range_m: F64 | float, p_max: F64 | float) -> F64:
    """p_max * (1 - (d/R)^2), zero beyond the range R: near certain close by, fading outwards."""
    r = np.asarray(range_m, float)
    frac = np.clip(1.0 - (np.asarray(dist_m) / r) ** 2, 0.0, 1.0)
    return np.asarray(p_max * frac, float)


def bearing_error_deg(rng: np.random.Generator, sd_deg: F64, wild_rate: float,
                      wild_sd_deg: float = 0.0) -> tuple[F64, F64]:
    """Bearing errors: normal, truncated at 3.5 sigma (a compass reading is never wildly off by
    chance), except a ``wild_rate`` share of gross errors: 20-90 deg either way, or normal
    with sd ``wild_sd_deg`` when that is above 0 (drawn only then: the default stream stays).
    Returns (error, is_wild)."""
    n = len(sd_deg)
    z = rng.standard_normal(n)
    z = np.clip(z, -3.5, 3.5)
    err = z * sd_deg
    wild = rng.random(n) < wild_rate
    gross = rng.uniform(20.0, 90.0, n) * np.where(rng.random(n) < 0.5, -1.0, 1.0)
    if wild_sd_deg > 0:
        gross = rng.normal(0.0, wild_sd_deg, n)
    return np.where(wild, gross, err), wild.astype(float)


def distance_band(rng: np.random.Generator, dist_m: F64, log_sd: float,
                  bands_km: tuple[float, ...] = DISTANCE_BANDS_KM) -> tuple[F64, F64]:
    """The band (min, max metres) a monitor reports: judged distance (log-normal), binned by
    the edges ``bands_km``."""
    judged = dist_m * np.exp(log_sd * rng.standard_normal(len(dist_m)))
    edges = np.asarray(bands_km) * 1000.0
    k = np.clip(np.searchsorted(edges, judged, side="right") - 1, 0, len(edges) - 2)
    return edges[k], edges[k + 1]


def acoustic_arrival_s(
    dist_m: F64, dir_e: F64, dir_n: F64, temperature_c: F64, wind_u: F64, wind_v: F64
) -> F64:
    """Travel time (s) of sound over ``dist_m`` along the unit direction (dir_e, dir_n) from the
    source to the sensor, at the effective speed c(T) + wind . direction."""
    c = sound_speed(temperature_c) + wind_u * dir_e + wind_v * dir_n
    return np.asarray(dist_m / c, float)


# ----------------------------------------------------------------------------------------------
# detection and report fields (one row per detection: a source that saw or heard an emission)
# ----------------------------------------------------------------------------------------------


def monitor_fields(
    rng: np.random.Generator, p: SimulationParams, dist_m: F64, az_deg: F64,
    t_ns: NDArray[np.int64],
    night: NDArray[np.bool_], part: NDArray[np.int8], airburst: NDArray[np.bool_],
    weapon: NDArray[np.int64], rounds: NDArray[np.int64], clock_s: F64,
    bias_deg: F64 | None = None,
) -> dict[str, np.ndarray]:
    """What a monitor writes down: bearing (true azimuth + error), band, type, weapon, count,
    time (+ sound travel by day, clock offset, lag; truncated to the minute). ``bias_deg`` is
    each reporter's compass bias, added to every bearing it writes."""
    n = len(dist_m)
    sd = np.where(night, p.bearing_sd_seen_deg, p.bearing_sd_heard_deg)
    err, wild = bearing_error_deg(rng, sd, p.wild_bearing_rate, p.wild_bearing_sd_deg)
    bias = 0.0 if bias_deg is None else bias_deg
    bearing = np.round((az_deg + err + bias) % 360.0, 1)
    bearing[bearing >= 360.0] = 0.0
    dmin, dmax = distance_band(rng, dist_m, p.distance_log_sd, p.distance_bands_km)
    etype = np.where(part == 0, "outgoing", np.where(airburst, "airburst", "impact"))
    etype = np.where(rng.random(n) < p.undetermined_share, "undetermined", etype)
    names = np.array([w.weapon_class.value for w in p.weapons] + [""])
    u = rng.random(n)
    other = (weapon + rng.integers(1, len(p.weapons), n)) % len(p.weapons)
    wix = np.where(u < p.weapon_id_correct, weapon,
                   np.where(u < p.weapon_id_correct + p.weapon_id_omitted, len(p.weapons), other))
    count = np.maximum(1, rng.binomial(rounds, 0.9))
    heard_delay = np.where(night, 0.0, dist_m / 337.0)
    lag = rng.exponential(p.report_lag_mean_s, n)
    t = t_ns + ((heard_delay + clock_s + lag) * 1e9).astype(np.int64)
    t -= t % (60 * 10**9)
    return {"time_ns": t, "bearing": bearing, "sd": sd, "dmin": dmin, "dmax": dmax,
            "etype": etype, "weapon": names[wix], "count": count, "wild": wild > 0}


def sensor_fields(
    rng: np.random.Generator, p: SimulationParams, dist_m: F64, az_deg: F64,
    t_ns: NDArray[np.int64], temperature_c: F64, wind_u: float, wind_v: float,
) -> dict[str, np.ndarray]:
    """Arrival time at the sensor (emission + travel at c(T) + wind along the path + jitter),
    with the sensor's own (noisy) temperature and wind. The path direction is the reverse of the
    sensor-to-event azimuth."""
    n = len(dist_m)
    back = np.radians(az_deg + 180.0)
    travel = acoustic_arrival_s(dist_m, np.sin(back), np.cos(back), temperature_c,
                                np.full(n, wind_u), np.full(n, wind_v))
    jitter = rng.normal(0.0, p.sensor_timing_sd_s, n)
    arrival = t_ns + np.round((travel + jitter) * 1e9).astype(np.int64)
    arrival -= arrival % 1000  # microseconds, as written
    sd = p.sensor_met_sd
    return {"arrival_ns": arrival, "time_ns": arrival - arrival % 10**9,
            "temp": np.round(temperature_c + rng.normal(0, sd, n), 1),
            "wu": np.round(wind_u + rng.normal(0, sd, n), 1),
            "wv": np.round(wind_v + rng.normal(0, sd, n), 1)}


def camera_fields(
    rng: np.random.Generator, p: SimulationParams, az_deg: F64, t_ns: NDArray[np.int64],
    rounds: NDArray[np.int64], clock_s: F64 | None = None,
) -> dict[str, np.ndarray]:
    """A flash located in a camera image: precise bearing, time to the second (GPS, or off by
    the camera's ``clock_s``)."""
    n = len(az_deg)
    err = np.clip(rng.standard_normal(n), -3.5, 3.5) * p.camera_bearing_sd_deg
    bearing = np.round((az_deg + err) % 360.0, 2)
    bearing[bearing >= 360.0] = 0.0
    t = t_ns if clock_s is None else t_ns + np.round(np.asarray(clock_s) * 1e9).astype(np.int64)
    t = t - t % 10**9
    return {"time_ns": t, "bearing": bearing, "count": np.maximum(1, rng.binomial(rounds, 0.9))}
