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
    k_neighbours: int = 32
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
    #: Timing allowance between two arrival times beyond the TDOA limit (seconds).
    arrival_slack_s: float = 0.5


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
        if has_o.any():
            f = pyproj.Proj(projection.crs).get_factors(olon[has_o], olat[has_o])
            gamma[has_o] = np.radians(np.asarray(f.meridian_convergence, float))
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
            arr=arr, c=c, wu=wu, wv=wv, count=count, fire_type=ft, explosion_type=et,
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


def _pair_distance(b: FireBatch, cd: Candidates, p: GroupingParams, i: I64, j: I64) -> F64:
    """Gated distance of report pairs: ``<= 1`` passes every gate, ``_BIG`` fails one."""
    dx, dy = cd.mx[i] - cd.mx[j], cd.my[i] - cd.my[j]
    a, bb, c = cd.sxx[i] + cd.sxx[j], cd.sxy[i] + cd.sxy[j], cd.syy[i] + cd.syy[j]
    det = a * c - bb * bb
    m2 = (c * dx * dx - 2 * bb * dx * dy + a * dy * dy) / det
    ri, rj = b.role[i], b.role[j]
    ok = (ri == rj) | (ri == ROLE_ANY) | (rj == ROLE_ANY)
    ok &= (b.t_lo[i] <= b.t_hi[j]) & (b.t_lo[j] <= b.t_hi[i])
    ok &= m2 <= p.gate_chi2
    ok &= b.source[i] != b.source[j]  # cannot-link: one source, one report per event
    both = np.isfinite(b.arr[i]) & np.isfinite(b.arr[j])
    if both.any():
        base = np.hypot(b.ox[i] - b.ox[j], b.oy[i] - b.oy[j]) / np.minimum(b.c[i], b.c[j])
        ok &= ~both | (np.abs(b.arr[i] - b.arr[j]) <= 1.02 * base + p.arrival_slack_s)
    mid_i, mid_j = (b.t_lo[i] + b.t_hi[i]) / 2, (b.t_lo[j] + b.t_hi[j]) / 2
    half = (b.t_hi[i] - b.t_lo[i] + b.t_hi[j] - b.t_lo[j]) / 2 + 1e-9
    dt = np.abs(mid_i - mid_j) / half
    d = np.sqrt(0.5 * (m2 / p.gate_chi2 + dt * dt))
    return np.where(ok, d, _BIG)


def _split(b: FireBatch, cd: Candidates, p: GroupingParams, rows: I64) -> I64:
    """Complete-linkage labels (0..) for one component, cut where a gate fails."""
    m = len(rows)
    if m > p.max_component:  # cut by time first; a slice is still far larger than an event
        order = rows[np.argsort(_tmid(b)[rows], kind="stable")]
        out = np.empty(m, np.int64)
        pos = {int(r): k for k, r in enumerate(rows)}
        nxt = 0
        for s in range(0, m, p.max_component):
            part = order[s:s + p.max_component]
            lab = _split(b, cd, p, part)
            for r, v in zip(part, lab, strict=True):
                out[pos[int(r)]] = v + nxt
            nxt += int(lab.max()) + 1
        return out
    iu, ju = np.triu_indices(m, 1)
    d = _pair_distance(b, cd, p, rows[iu], rows[ju])
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


def _tmid(b: FireBatch) -> F64:
    """Middle of each report's emission-time window (seconds since the epoch)."""
    return (b.t_lo + b.t_hi) / 2.0


def group(b: FireBatch, params: GroupingParams | None = None) -> I64:
    """Group label per report (0..G-1, in order of each group's first row).

    Reports without any position (no location, no observer) are groups of their own.
    """
    p = params or GroupingParams()
    n = len(b)
    if n == 0:
        return np.zeros(0, np.int64)
    cd = candidates(b, p)
    rows = np.flatnonzero(cd.ok)
    label = np.full(n, -1, np.int64)
    if len(rows):
        z = np.column_stack([cd.mx[rows] / p.link_scale_m, cd.my[rows] / p.link_scale_m,
                             _tmid(b)[rows] / p.link_scale_s])
        k = min(p.k_neighbours + 1, len(rows))
        _, nb = cKDTree(z).query(z, k=k, distance_upper_bound=p.search_radius, workers=-1)
        nb = np.asarray(nb).reshape(len(rows), k)
        src = np.repeat(np.arange(len(rows), dtype=np.int64), k)
        dst = nb.ravel().astype(np.int64)
        keep = (dst < len(rows)) & (src != dst)
        lo, hi = np.minimum(src[keep], dst[keep]), np.maximum(src[keep], dst[keep])
        pair_key = np.sort(lo * len(rows) + hi)  # symmetric kNN: each pair once
        pair_key = pair_key[np.r_[True, pair_key[1:] != pair_key[:-1]][:len(pair_key)]]
        i, j = pair_key // len(rows), pair_key % len(rows)
        d = _pair_distance(b, cd, p, rows[i], rows[j])
        good = d <= 1.0
        i, j = i[good], j[good]
        m = len(rows)
        graph = coo_matrix((np.ones(len(i)), (i, j)), shape=(m, m))
        ncomp, comp = connected_components(graph, directed=False)
        size = np.bincount(comp, minlength=ncomp)
        edges = np.bincount(comp[i], minlength=ncomp)
        key = comp.astype(np.int64) * (int(b.source.max()) + 1) + b.source[rows]
        distinct = np.bincount(comp[np.unique(key, return_index=True)[1]], minlength=ncomp)
        bad = (edges != size * (size - 1) // 2) | (distinct != size)
        sub = np.zeros(m, np.int64)
        if bad.any():
            order = np.argsort(comp, kind="stable")
            starts = np.searchsorted(comp[order], np.arange(ncomp + 1))
            small = [c for c in np.flatnonzero(bad) if size[c] <= 48]
            # all pairs of all small components in one vectorised gate call
            tri = {int(k): np.triu_indices(int(k), 1) for k in np.unique(size[small])}
            mem = [order[starts[c]:starts[c + 1]] for c in small]
            pi = [mb[tri[len(mb)][0]] for mb in mem]
            pj = [mb[tri[len(mb)][1]] for mb in mem]
            if mem:
                dist = _pair_distance(b, cd, p, rows[np.concatenate(pi)], rows[np.concatenate(pj)])
                at = np.cumsum([0] + [len(x) for x in pi])
                for k, mb in enumerate(mem):
                    sub[mb] = _complete_linkage_small(dist[at[k]:at[k + 1]], len(mb))
            for cix in np.flatnonzero(bad & (size > 48)):
                members = order[starts[cix]:starts[cix + 1]]
                sub[members] = _split(b, cd, p, rows[members])
        # label = (component, sub-cluster) renumbered densely
        _, dense = np.unique(comp.astype(np.int64) * (m + 1) + sub, return_inverse=True)
        label[rows] = dense
    lone = np.flatnonzero(label < 0)
    label[lone] = (label.max() + 1 if len(rows) else 0) + np.arange(len(lone))
    # renumber in order of first appearance, so labels do not depend on the index internals
    _, first, inv = np.unique(label, return_index=True, return_inverse=True)
    rank = np.empty(len(first), np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(len(first))
    return rank[inv]
