"""Grouping: link the reports that describe one real event, so that it counts once.

The columns fusion works on (:class:`FireBatch`) live here because grouping is the first stage.
Every report becomes a *candidate*: a 2-D Gaussian where the event probably is (the reported
location, the middle of a bearing's distance band, or the sensor itself for a bare acoustic
arrival) and an interval of possible emission times (report time widened by its precision,
the source kind's clock error and reporting lag; an arrival time widened back by the longest
sound travel time). Then:

1. **candidate graph** — the ``k`` nearest neighbours of every candidate in a normalised
   space-time (a cKDTree on ``x / L, y / L, t / T``), so memory is ``n * k`` whatever the burst;
2. **gates** on each candidate pair — compatible roles (origin and impact reports of one shot
   are different places, so never linked), overlapping time windows, the Mahalanobis distance
   with *both* covariances below a chi-square gate, for two arrival times the TDOA limit
   ``|a_i - a_j| <= |s_i - s_j| / c``, and the cannot-link rule: one source never reports the
   same event twice, so two reports of one source in one window are two events;
3. **connected components** of the gated graph;
4. **split** of every component that is not a clique of the gate or holds one source twice,
   by complete linkage cut at the gate: every pair in a final group passes every gate, so a
   chain of nearby events cannot merge them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyproj
from numpy.typing import NDArray
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from truceline.core.geo import Projection

__all__ = [
    "ROLE_ANY",
    "ROLE_IMPACT",
    "ROLE_ORIGIN",
    "FireBatch",
    "GroupingParams",
    "candidates",
    "group",
    "role_of",
    "sound_speed",
]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

#: Roles: where a report puts the event. Outgoing fire and flashes are at the origin, impacts
#: and airbursts at the impact; anything else (undetermined, bursts, flares) may be either.
ROLE_ORIGIN, ROLE_IMPACT, ROLE_ANY = 0, 1, 2
_BIG = 1.0e6  # "never link" in the linkage matrix (scipy needs finite values)


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
    #: Components larger than this are cut into time slices before the complete linkage.
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


@dataclass(frozen=True, eq=False)
class FireBatch:
    """Fire reports as columns in one projected frame (one row per report, NaN when absent).

    Times are float seconds since ``epoch``; bearings are *grid* azimuths (radians, clockwise
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

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def from_columns(
        cls,
        cols: Mapping[str, Any],
        projection: Projection,
        epoch: np.datetime64,
        params: GroupingParams | None = None,
    ) -> FireBatch:
        """Build from lon/lat columns; missing columns are absent values.

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
        )

    def take(self, rows: I64) -> FireBatch:
        """The rows ``rows`` as a new batch (same frame and epoch)."""
        kw: dict[str, Any] = {"projection": self.projection, "epoch": self.epoch}
        for name in self.__dataclass_fields__:
            if name not in kw:
                kw[name] = getattr(self, name)[rows]
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


def candidates(b: FireBatch, params: GroupingParams) -> Candidates:
    """One Gaussian per report: reported location, else bearing band, else the sensor area.

    A bearing's band (default :attr:`GroupingParams.default_band_m`) becomes a Gaussian with the
    uniform band's standard deviation along the ray and the bearing error across it.
    """
    n = len(b)
    mx, my = b.ex.copy(), b.ey.copy()
    sxx = b.esd**2
    syy = sxx.copy()
    sxy = np.zeros(n)
    has_e = np.isfinite(mx)
    has_b = ~has_e & np.isfinite(b.brg) & np.isfinite(b.ox)
    lo = np.where(np.isfinite(b.dmin), b.dmin, params.default_band_m[0])[has_b]
    hi = np.where(np.isfinite(b.dmax), b.dmax, params.default_band_m[1])[has_b]
    mid = (lo + hi) / 2.0
    s_along = np.sqrt((hi - lo) ** 2 / 12.0 + (params.distance_judgement * mid) ** 2) + 50.0
    s_cross = mid * b.brg_sd[has_b] + 50.0
    ux, uy = np.sin(b.brg[has_b]), np.cos(b.brg[has_b])
    mx[has_b] = b.ox[has_b] + mid * ux
    my[has_b] = b.oy[has_b] + mid * uy
    # covariance R diag(along, cross) R^T with the along axis u = (ux, uy), cross (uy, -ux)
    a2, c2 = s_along**2, s_cross**2
    sxx[has_b] = a2 * ux * ux + c2 * uy * uy
    syy[has_b] = a2 * uy * uy + c2 * ux * ux
    sxy[has_b] = (a2 - c2) * ux * uy
    has_s = ~has_e & ~has_b & np.isfinite(b.ox)  # a sensor or observer without a direction
    mx[has_s], my[has_s] = b.ox[has_s], b.oy[has_s]
    r2 = (params.acoustic_range_m / 2.0) ** 2
    sxx[has_s] = syy[has_s] = r2
    sxy[has_s] = 0.0
    ok = has_e | has_b | has_s
    ok &= np.isfinite(b.t_lo) & np.isfinite(b.t_hi)
    return Candidates(mx, my, sxx, sxy, syy, ok)


@dataclass(frozen=True)
class _Units:
    """What grouping links: single reports, and arrival groups already located as one.

    ``src`` holds each unit's sources (``-1`` padded): two units sharing one cannot link.
    ``arr`` is the arrival time of a single report (NaN for arrival groups, whose times are
    already reconciled by their fix).
    """

    mx: F64
    my: F64
    sxx: F64
    sxy: F64
    syy: F64
    t_lo: F64
    t_hi: F64
    role: NDArray[np.int8]
    src: I64  # (U, W)
    arr: F64
    ox: F64
    oy: F64
    c: F64

    def __len__(self) -> int:
        return len(self.mx)


def _units_of_reports(b: FireBatch, cd: Candidates, rows: I64) -> _Units:
    return _Units(cd.mx[rows], cd.my[rows], cd.sxx[rows], cd.sxy[rows], cd.syy[rows],
                  b.t_lo[rows], b.t_hi[rows], b.role[rows], b.source[rows][:, None],
                  b.arr[rows], b.ox[rows], b.oy[rows], b.c[rows])


def _concat(a: _Units, b: _Units) -> _Units:
    w = max(a.src.shape[1], b.src.shape[1])

    def pad(s: I64) -> I64:
        return np.pad(s, ((0, 0), (0, w - s.shape[1])), constant_values=-1)

    kw = {f: np.concatenate([getattr(a, f), getattr(b, f)]) for f in a.__dataclass_fields__
          if f != "src"}
    return _Units(src=np.concatenate([pad(a.src), pad(b.src)]), **kw)


def _shares_source(u: _Units, i: I64, j: I64) -> NDArray[np.bool_]:
    s0 = u.src[:, 0]
    out = s0[i] == s0[j]
    if u.src.shape[1] == 1:
        return np.asarray(out)
    wide = u.src[:, 1] >= 0  # arrival groups hold several sources
    multi = np.flatnonzero(wide[i] | wide[j])
    if len(multi):  # (pair, source) keys of both sides: a pair clashes if one key is shared
        S = int(u.src.max()) + 1
        chunk = max(1, 2_000_000 // u.src.shape[1])
        for k0 in range(0, len(multi), chunk):
            mk = multi[k0:k0 + chunk]
            a, c = u.src[i[mk]], u.src[j[mk]]
            pid = np.arange(len(mk), dtype=np.int64)[:, None]
            ka = (pid * S + a)[a >= 0]
            kc = (pid * S + c)[c >= 0]
            hit = np.unique(ka[np.isin(ka, kc)] // S)
            res = np.zeros(len(mk), bool)
            res[hit] = True
            out[mk] = res
    return np.asarray(out)


def _pair_distance(u: _Units, p: GroupingParams, i: I64, j: I64) -> F64:
    """Gated distance of unit pairs: ``<= 1`` passes every gate, ``_BIG`` fails one."""
    dx, dy = u.mx[i] - u.mx[j], u.my[i] - u.my[j]
    a, bb, c = u.sxx[i] + u.sxx[j], u.sxy[i] + u.sxy[j], u.syy[i] + u.syy[j]
    det = a * c - bb * bb
    m2 = (c * dx * dx - 2 * bb * dx * dy + a * dy * dy) / det
    ri, rj = u.role[i], u.role[j]
    ok = (ri == rj) | (ri == ROLE_ANY) | (rj == ROLE_ANY)
    ok &= (u.t_lo[i] <= u.t_hi[j]) & (u.t_lo[j] <= u.t_hi[i])
    ok &= m2 <= p.gate_chi2
    ok &= ~_shares_source(u, i, j)  # cannot-link: one source, one report per event
    both = np.isfinite(u.arr[i]) & np.isfinite(u.arr[j])
    if both.any():
        base = np.hypot(u.ox[i] - u.ox[j], u.oy[i] - u.oy[j]) / np.minimum(u.c[i], u.c[j])
        ok &= ~both | (np.abs(u.arr[i] - u.arr[j]) <= 1.02 * base + p.arrival_slack_s)
    mid_i, mid_j = (u.t_lo[i] + u.t_hi[i]) / 2, (u.t_lo[j] + u.t_hi[j]) / 2
    half = (u.t_hi[i] - u.t_lo[i] + u.t_hi[j] - u.t_lo[j]) / 2 + 1e-9
    dt = np.abs(mid_i - mid_j) / half
    d = np.sqrt(0.5 * (m2 / p.gate_chi2 + dt * dt))
    return np.where(ok, d, _BIG)


def _tdoa_distance(b: FireBatch, p: GroupingParams, i: I64, j: I64) -> F64:
    """Gated distance of two bare arrival times: the TDOA limit and cannot-link only."""
    sep = np.hypot(b.ox[i] - b.ox[j], b.oy[i] - b.oy[j])
    lim = 1.03 * sep / np.minimum(b.c[i], b.c[j]) + p.tdoa_slack_s
    dt = np.abs(b.arr[i] - b.arr[j])
    ok = (dt <= lim) & (b.source[i] != b.source[j]) & (sep <= p.array_span_m)
    return np.where(ok, dt / lim, _BIG)


def _split(dist: Any, p: GroupingParams, tm: F64, rows: I64) -> I64:
    """Complete-linkage labels (0..) for one component, cut where a gate fails."""
    m = len(rows)
    if m > p.max_component:  # cut by time first; a slice is still far larger than an event
        order = np.argsort(tm[rows], kind="stable")
        out = np.empty(m, np.int64)
        nxt = 0
        for s in range(0, m, p.max_component):
            part = order[s:s + p.max_component]
            lab = _split(dist, p, tm, rows[part])
            out[part] = lab + nxt
            nxt += int(lab.max()) + 1
        return out
    iu, ju = np.triu_indices(m, 1)
    d = dist(rows[iu], rows[ju])
    if (d <= 1.0).all():
        return np.zeros(m, np.int64)
    if m > 48:
        z = linkage(d, method="complete")
        return np.asarray(fcluster(z, t=1.0, criterion="distance"), np.int64) - 1
    return _complete_linkage_small(d, m)


def _complete_linkage_small(d: F64, m: int) -> I64:
    """Complete linkage cut at 1 for a few points (no validation overhead per component)."""
    full = np.full((m, m), np.inf)
    iu, ju = np.triu_indices(m, 1)
    full[iu, ju] = full[ju, iu] = d
    label = np.arange(m)
    while True:
        k = int(np.argmin(full))
        i, j = divmod(k, m)
        if not full[i, j] <= 1.0:
            break
        merged = np.maximum(full[i], full[j])  # complete: the farther of the two
        full[i], full[:, i] = merged, merged
        full[i, i] = np.inf
        full[j], full[:, j] = np.inf, np.inf
        label[label == j] = i
    return np.asarray(np.unique(label, return_inverse=True)[1], np.int64)


def _cluster(z: F64, dist: Any, p: GroupingParams, tm: F64, k_nb: int) -> I64:
    """Labels (0..) of points ``z`` (normalised space-time): k-nearest-neighbour candidate
    pairs, gated by ``dist`` (``<= 1`` links), connected components, and complete linkage
    inside every component that is not a clique of the gate."""
    m = len(z)
    if m == 0:
        return np.zeros(0, np.int64)
    k = min(k_nb + 1, m)
    _, nb = cKDTree(z).query(z, k=k, distance_upper_bound=p.search_radius, workers=-1)
    nb = np.asarray(nb).reshape(m, k)
    src = np.repeat(np.arange(m, dtype=np.int64), k)
    dst = nb.ravel().astype(np.int64)
    keep = (dst < m) & (src != dst)
    lo, hi = np.minimum(src[keep], dst[keep]), np.maximum(src[keep], dst[keep])
    pair_key = np.sort(lo * m + hi)  # each pair once (a kNN pair may be seen from both sides)
    pair_key = pair_key[np.r_[True, pair_key[1:] != pair_key[:-1]][:len(pair_key)]]
    i, j = pair_key // m, pair_key % m
    good = dist(i, j) <= 1.0
    i, j = i[good], j[good]
    graph = coo_matrix((np.ones(len(i)), (i, j)), shape=(m, m))
    ncomp, comp = connected_components(graph, directed=False)
    size = np.bincount(comp, minlength=ncomp)
    edges = np.bincount(comp[i], minlength=ncomp)
    bad = edges != size * (size - 1) // 2  # not a clique of the candidate graph
    sub = np.zeros(m, np.int64)
    if bad.any():
        order = np.argsort(comp, kind="stable")
        starts = np.searchsorted(comp[order], np.arange(ncomp + 1))
        small = np.flatnonzero(bad & (size <= 48))
        if len(small):
            # all pairs of all small components in one vectorised gate call
            mem = [order[starts[c]:starts[c + 1]] for c in small]
            tri = {int(s): np.triu_indices(int(s), 1) for s in np.unique(size[small])}
            pi = np.concatenate([mb[tri[len(mb)][0]] for mb in mem])
            pj = np.concatenate([mb[tri[len(mb)][1]] for mb in mem])
            dd = dist(pi, pj)
            at = np.cumsum([0] + [len(mb) * (len(mb) - 1) // 2 for mb in mem])
            ok_all = (np.logical_and.reduceat(dd <= 1.0, at[:-1]) if len(dd)
                      else np.zeros(0, bool))
            for k_, mb in enumerate(mem):
                if not ok_all[k_]:  # a true clique of the gate needs no split
                    sub[mb] = _complete_linkage_small(dd[at[k_]:at[k_ + 1]], len(mb))
        for cix in np.flatnonzero(bad & (size > 48)):
            members = order[starts[cix]:starts[cix + 1]]
            sub[members] = _split(dist, p, tm, members)
    _, dense = np.unique(comp.astype(np.int64) * (m + 1) + sub, return_inverse=True)
    return np.asarray(dense, np.int64)


def _tmid(b: FireBatch) -> F64:
    """Middle of each report's emission-time window (seconds since the epoch)."""
    return (b.t_lo + b.t_hi) / 2.0


def _arrival_units(b: FireBatch, p: GroupingParams, rows: I64
                   ) -> tuple[I64, _Units, NDArray[np.bool_]]:
    """Bare arrival times grouped by the TDOA limit and located by multilateration.

    Returns the arrival group of each row, the groups as units (a Gaussian from the fix and
    an emission-time window from its range uncertainty), and whether each group is *fixed*
    (three or more arrivals and a regular fix). The others are vague: they join an event
    later only where exactly one fits, so a vague report never chains two events together.
    """
    from truceline.core.fusion.locate import LocateParams, locate  # locate imports grouping

    m = len(rows)
    c = b.c[rows]
    scale = p.link_scale_m
    z = np.column_stack([b.ox[rows] / scale, b.oy[rows] / scale, b.arr[rows] * 340.0 / scale])
    lab = _cluster(z, lambda i, j: _tdoa_distance(b, p, rows[i], rows[j]), p,
                   b.arr[rows], p.k_neighbours) if m else np.zeros(0, np.int64)
    G = int(lab.max()) + 1 if m else 0
    size = np.bincount(lab, minlength=G)
    sub = b.take(rows)
    fx = locate(sub, lab, candidates(sub, p), LocateParams(max_semi_major_m=p.max_arrival_fix_m))
    fixed = fx.located & (size >= 3)
    cov = np.where(fixed[:, None, None], fx.cov, 0.0) * p.arrival_fix_inflation
    # A small array ranges badly and non-linearly (the likelihood is a banana, not an
    # ellipse): along the line of sight from the array, allow at least ``arrival_range_frac``
    # of the range, across it the fix's own spread.
    cx = np.bincount(lab, b.ox[rows], minlength=G) / np.maximum(size, 1)
    cy = np.bincount(lab, b.oy[rows], minlength=G) / np.maximum(size, 1)
    rx, ry = fx.x - cx, fx.y - cy
    rng = np.maximum(np.hypot(rx, ry), 1.0)
    ux, uy = rx / rng, ry / rng
    along = ux * ux * cov[:, 0, 0] + 2 * ux * uy * cov[:, 0, 1] + uy * uy * cov[:, 1, 1]
    extra = np.maximum((p.arrival_range_frac * rng) ** 2 - along, 0.0)
    cov[:, 0, 0] += extra * ux * ux + p.arrival_fix_floor_m ** 2
    cov[:, 0, 1] += extra * ux * uy
    cov[:, 1, 0] += extra * ux * uy
    cov[:, 1, 1] += extra * uy * uy + p.arrival_fix_floor_m ** 2
    lmax = np.linalg.eigvalsh(cov)[:, -1] if G else np.zeros(0)
    cm = np.bincount(lab, c, minlength=G) / np.maximum(size, 1)
    half = 4.0 * np.sqrt(lmax) / cm + 1.0
    W = int(size.max()) if G else 1
    order = np.argsort(lab, kind="stable")
    starts = np.searchsorted(lab[order], np.arange(G))
    pos = np.arange(m) - starts[lab[order]]
    src = np.full((G, max(W, 1)), -1, np.int64)
    src[lab[order], pos] = b.source[rows[order]]
    nan = np.full(G, np.nan)
    units = _Units(fx.x, fx.y, cov[:, 0, 0], cov[:, 0, 1], cov[:, 1, 1], fx.t0 - half,
                   fx.t0 + half, np.full(G, ROLE_ANY, np.int8), src, nan, nan, nan, cm)
    return lab, units, fixed


def group(b: FireBatch, params: GroupingParams | None = None) -> I64:
    """Group label per report (0..G-1, in order of each group's first row).

    Reports without any position (no location, no observer) are groups of their own.
    """
    p = params or GroupingParams()
    n = len(b)
    if n == 0:
        return np.zeros(0, np.int64)
    cd = candidates(b, p)
    bare = cd.ok & np.isfinite(b.arr) & ~np.isfinite(b.brg) & ~np.isfinite(b.ex)
    arows = np.flatnonzero(bare)
    rrows = np.flatnonzero(cd.ok & ~bare)
    alab, aunits, fixed = _arrival_units(b, p, arows)
    fx_ids = np.flatnonzero(fixed)
    units = _concat(_units_of_reports(b, cd, rrows), _take_units(aunits, fx_ids))
    U = len(units)
    tm = (units.t_lo + units.t_hi) / 2
    z = np.column_stack([units.mx / p.link_scale_m, units.my / p.link_scale_m,
                         tm / p.link_scale_s])
    ulab = _cluster(z, lambda i, j: _pair_distance(units, p, i, j), p, tm, p.k_neighbours)
    label = np.full(n, -1, np.int64)
    label[rrows] = ulab[:len(rrows)]
    a_label = np.full(len(fixed), -1, np.int64)
    a_label[fx_ids] = ulab[len(rrows):]
    # vague arrival groups join the one group they fit, if exactly one
    vague = np.flatnonzero(~fixed)
    if len(vague) and U:
        vu = _take_units(aunits, vague)
        # a vague group's unit: the sensors' area (where it could have been heard)
        first = np.full(len(fixed), -1, np.int64)
        first[alab[::-1]] = arows[::-1]
        fr = first[vague]
        vu = _Units(cd.mx[fr], cd.my[fr], cd.sxx[fr], cd.sxy[fr], cd.syy[fr],
                    np.minimum.reduceat(b.t_lo[arows[np.argsort(alab, kind="stable")]],
                                        _starts(alab, len(fixed)))[vague],
                    np.maximum.reduceat(b.t_hi[arows[np.argsort(alab, kind="stable")]],
                                        _starts(alab, len(fixed)))[vague],
                    vu.role, vu.src, vu.arr, vu.ox, vu.oy, vu.c)
        both = _concat(units, vu)
        tq = (vu.t_lo + vu.t_hi) / 2
        zq = np.column_stack([vu.mx / p.link_scale_m, vu.my / p.link_scale_m,
                              tq / p.link_scale_s])
        k = min(p.k_neighbours, U)
        _, nb = cKDTree(z).query(zq, k=k, distance_upper_bound=p.search_radius, workers=-1)
        nb = np.asarray(nb).reshape(len(vu), k)
        qi = np.repeat(np.arange(len(vu)), k)
        qj = nb.ravel()
        ok = qj < U
        qi, qj = qi[ok], qj[ok]
        d = _pair_distance(both, p, U + qi, qj.astype(np.int64))
        ok = d <= 1.0
        qi, qj = qi[ok], ulab[qj[ok]]
        pair = np.unique(qi.astype(np.int64) * (U + 1) + qj)
        qi, qj = pair // (U + 1), pair % (U + 1)
        # the group must not already hold one of the vague group's sources
        n_fit = np.bincount(qi, minlength=len(vu))
        one = n_fit[qi] == 1
        qi, qj = qi[one], qj[one]
        if len(qi):
            gsrc = np.full(n, -1, np.int64)
            gsrc[rrows] = ulab[:len(rrows)]
            in_fixed = np.isin(alab, fx_ids)
            gsrc[arows[in_fixed]] = a_label[alab[in_fixed]]
            have = np.unique(gsrc[gsrc >= 0] * (int(b.source.max()) + 1)
                             + b.source[gsrc >= 0])
            keys = qj[:, None] * (int(b.source.max()) + 1) + vu.src[qi]
            clash = (np.isin(keys, have) & (vu.src[qi] >= 0)).any(axis=1)
            a_label[vague[qi[~clash]]] = qj[~clash]
    mine = a_label[alab] if len(arows) else np.zeros(0, np.int64)
    label[arows] = mine
    # arrival groups left alone: a group each
    lone_a = np.flatnonzero(a_label < 0)
    nxt = int(ulab.max()) + 1 if U else 0
    if len(lone_a):
        remap = np.full(len(fixed), -1, np.int64)
        remap[lone_a] = nxt + np.arange(len(lone_a))
        hit = remap[alab] >= 0
        label[arows[hit]] = remap[alab[hit]]
        nxt += len(lone_a)
    lone = np.flatnonzero(label < 0)
    label[lone] = nxt + np.arange(len(lone))
    # renumber in order of first appearance, so labels do not depend on the index internals
    _, first_i, inv = np.unique(label, return_index=True, return_inverse=True)
    rank = np.empty(len(first_i), np.int64)
    rank[np.argsort(first_i, kind="stable")] = np.arange(len(first_i))
    return rank[inv]


def _starts(lab: I64, G: int) -> I64:
    return np.searchsorted(np.sort(lab), np.arange(G))


def _take_units(u: _Units, idx: I64) -> _Units:
    return _Units(**{f: getattr(u, f)[idx] for f in u.__dataclass_fields__})
