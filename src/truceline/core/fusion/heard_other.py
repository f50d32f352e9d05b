"""An array that alone heard one sound of a shot whose other sound other arrays located.

Where one array alone heard a launch (or a burst), its arrivals cannot be located, and
:func:`.heard.join_heard` tests them only against *located* sounds: a shot whose burst other
arrays fixed and timed, but whose launch only this array heard, stays two incidents (issue
14, session 27: 66 launch and 30 burst groups of all_conditions seed 1, ~1,500 split pairs).
The arrivals still say much: their differences put the sound on a hyperbola from the array
(a bearing, far off), and each point of it, with the travel time to the sensors, an emission
time. The located part was emitted one flight time later (a launch heard) or earlier (a
burst heard), at a distance the flight allows: within a weapon class's range and at its
speeds (:meth:`.link.LinkParams.windows`).

So at the end of the pipeline (after the links, the arcs' launch regions of :mod:`.region`,
which place such a launch where they can, and the calibration), each vague arrival group left
(two to ``max_split`` arrivals of one array, unlocated or on three arrivals) is tested
against every located part not linked to another (``partner < 0``) within reach: some point
within hearing of the array must fit the arrivals' differences
(``chi2 <= chi2_dof(level)``, sensors' pooled air, timing error ``arrival_sd_s``) and, with
the emission time it implies (give or take three sds of the wind along the path), lie within
a class's range of the part with a flight time the class's speeds allow. An origin part takes
a burst heard after it, an impact a launch before it, an untyped fix either. The group joins
(its arrivals, no refit: they are not the part's sound) only where exactly one part passes,
that part's emission time is fixed by arrivals of its own (a window of minutes passes almost
anything), and no located sound fits the arrivals directly within the looser gate (the array
may have heard that one, fixed badly). A part whose reports name a weapon class is tested with
that class's flight only, and takes nothing if the link knows no flight of it (a drone, a
tank: as :func:`.region.arc_launches`). A shot has one other sound: two groups that would join
one part join neither.

One arrival (``HeardParams.other_one``; session 30) has no difference to test: every point
within hearing fits it, so the test is the flight alone, in closed form
(:func:`_one_arrival`), and the join rests on uniqueness, as above, and on no located part
being the sound it heard: a timed one fitting its time (the looser gate), or one no arrival
timed whose window, a clock's error wider, holds it (one arrival cannot test such a part).
Baseline seeds 1-2: 39 and 65 single arrivals that heard a lone timed part's other sound
were left apart, the largest kind of arrival fragment.
"""

from __future__ import annotations

import functools
import math
from typing import Any, Protocol

import numpy as np
from numba import njit
from numpy.typing import NDArray
from scipy.spatial import cKDTree
from scipy.stats import chi2 as chi2_dist

from truceline.core.fusion.batch import ROLE_ANY, ROLE_IMPACT, ROLE_ORIGIN, FireBatch
from truceline.core.fusion.heard import HeardParams, arrival_groups, part_tests
from truceline.core.fusion.link import LinkParams
from truceline.core.fusion.locate import M_ARRIVAL, Fixes

__all__ = ["join_other_sound", "other_sound_apart"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
B = NDArray[np.bool_]

#: Directions (0.1 deg) and ranges (log-spaced, 300 m to the hearing range) searched.
_N_AZ, _N_R = 3_600, 48
#: The most arrivals :func:`_fitting` sums as numpy does (sequentially; from eight on numpy
#: sums a row pairwise).
_SHORT = 7
#: Directions per block :func:`_fitting` tests whole before its points (coarse, then fine).
_COARSE, _FINE = 120, 12
#: Distances from the part :func:`_one_arrival` tests (to the class's range).
_N_ONE = 256


@functools.lru_cache(maxsize=8)
def _grid(hearing_m: float) -> tuple[F64, F64, F64]:
    """The search's ranges and the sines and cosines of its directions (the same for every
    group: made once, not per group)."""
    az = np.linspace(0.0, 2 * np.pi, _N_AZ, endpoint=False)
    return np.geomspace(300.0, hearing_m, _N_R), np.sin(az), np.cos(az)


@functools.lru_cache(maxsize=64)
def _chi2_max(level: float, dof: int) -> float:
    """The chi-square cut at ``level``; one arrival (no differences, ``dof`` 0) has chi 0 at
    every point, so every point within hearing fits it."""
    return float(chi2_dist.ppf(level, dof)) if dof > 0 else 0.0


@njit(cache=True, error_model="numpy")
def _e(px: float, py: float, sx: F64, sy: F64, a: F64, k: F64, c: float, wu: float,
       wv: float, e: F64, d: F64) -> None:
    """Each arrival's implied emission time ``e`` (and path length ``d``) were the sound
    from ``(px, py)``: the operations of :func:`_points_array`, in its order."""
    for q in range(len(sx)):
        dx, dy = sx[q] - px, sy[q] - py
        dq = max(math.hypot(dx, dy), 1.0)
        ce = (c + wu * dx / dq + wv * dy / dq) * k[q]
        e[q] = a[q] - dq / ce
        d[q] = dq


@njit(cache=True, error_model="numpy")
def _slopes(sx: F64, sy: F64, k: F64, c: float, wn: float) -> tuple[F64, F64]:
    """``(A, B)``, pair by pair: seen from any point at least ``1 / s`` times the array's
    reach from its middle, the difference of two arrivals' path times ``d_q / c'_q - d_p /
    c'_p`` (``c'_q = (c + w.u_q) k_q``, ``u_q`` the unit vector to sensor ``q``) changes by at
    most ``A + B s`` per metre moved. Its gradient is ``(-u_q / c'_q + w_perp,q / c'_q^2) /
    k_q`` less the same for ``p``; the directions to two sensors differ by at most ``2 s``
    (``|u_q - u_p| <= 2 s``), so do the winds across them (``|w_perp,q - w_perp,p| <= 4 |w|
    s``), and the speeds by ``|k_q - k_p| (c + |w|) + 2 k |w| s``; every speed is at least
    ``c - |w|`` (``cmin``). ``A`` holds what the scale factors ``k`` (~1 +- 1e-3) leave at
    any distance."""
    m = len(sx)
    kmin, kmax = k.min(), k.max()
    cmin, cmax = c - wn, c + wn
    A, B = np.zeros((m, m)), np.zeros((m, m))
    k2c2, k2c4 = (kmin * cmin) ** 2, (kmin * cmin * cmin) ** 2
    b = (2.0 / (kmin * cmin) + 2.0 * kmax * wn / k2c2 + 4.0 * wn / (kmin * cmin * cmin)
         + 4.0 * wn * wn * kmax * cmax / k2c4)
    for q in range(m):
        for p in range(q + 1, m):
            dk = abs(k[q] - k[p])
            A[q, p] = dk * cmax / k2c2 + wn * dk * cmax * cmax / k2c4
            B[q, p] = b
    return A, B


@njit(cache=True, error_model="numpy")
def _arc_passes(cx: float, cy: float, r: float, j0: int, j1: int, sin_az: F64, cos_az: F64,
                step: float, s: float, sx: F64, sy: F64, a: F64, k: F64, c: float, wu: float,
                wv: float, sd: float, chi_max: float, A: F64, B: F64, eps: float, e: F64,
                d: F64) -> bool:
    """Can any point of range ``r`` and directions ``j0:j1`` fit (chi-square at most
    ``chi_max``)? A lower bound from the block's middle direction: along the arc to any of
    its points each pair's difference moves by at most its slope (:func:`_slopes`) times
    the arc's length, and the chi-square is ``sum over pairs (e_q - e_p)^2 / (m sd^2)``.
    ``eps`` covers the rounding of the emission times (those of epoch seconds are ~1e-7 s
    apart); only a bound: the points of a block that passes are computed exactly."""
    m = len(sx)
    jm = (j0 + j1 - 1) // 2
    arc = r * max(jm - j0, j1 - 1 - jm) * step * (1.0 + 1e-6) + 1e-6
    _e(cx + r * sin_az[jm], cy + r * cos_az[jm], sx, sy, a, k, c, wu, wv, e, d)
    lb = 0.0
    for q in range(m):
        for p in range(q + 1, m):
            gap = abs(e[q] - e[p]) - (A[q, p] + B[q, p] * s) * arc - eps
            if gap > 0.0:
                lb += gap * gap
    return lb / m / (sd * sd) <= chi_max * (1.0 + 1e-6) + 1e-12


@njit(cache=True, error_model="numpy")
def _fitting(cx: float, cy: float, rr: F64, sin_az: F64, cos_az: F64, sx: F64, sy: F64,
             a: F64, k: F64, c: float, wu: float, wv: float, sd: float, chi_max: float,
             w: float) -> tuple[F64, F64, F64, F64]:
    """:func:`_points_array`, point by point: the same operations in the same order (each
    sum from the first sensor on, as numpy reduces a row of at most :data:`_SHORT`), so the
    same bits, without its (points x sensors) temporaries (~0.2M points a group). Blocks
    of directions (:data:`_COARSE`, then :data:`_FINE`) of one range that cannot fit
    (:func:`_arc_passes`) are skipped whole where every sensor is more than a metre off
    (``max(d, 1)`` then never bites): the same points, in the same order."""
    m, n, naz = len(sx), len(rr) * len(sin_az), len(sin_az)
    ox, oy, ot, osd = np.empty(n), np.empty(n), np.empty(n), np.empty(n)
    e, d = np.empty(m), np.empty(m)
    eb, db = np.empty(m), np.empty(m)
    reach, amax = 0.0, 0.0
    for q in range(m):
        reach = max(reach, math.hypot(sx[q] - cx, sy[q] - cy))
        amax = max(amax, abs(a[q]))
    wn = math.hypot(wu, wv)
    # the bound only where it holds: differences to test, finite inputs, speeds above the wind
    bound = (m >= 2 and sd > 0.0 and c - wn > 0.0 and k.min() > 0.0
             and math.isfinite(reach + amax + c + wn + chi_max + k.max()))
    A, B = _slopes(sx, sy, k, c, wn)
    eps = 1e-9 + 1e-14 * (amax + 1e3)
    step = 2.0 * math.pi / naz
    got = 0
    for i in range(len(rr)):
        r = rr[i]
        skip = bound and r - reach > 1.0
        s = reach / r
        for jc0 in range(0, naz, _COARSE):
            jc1 = min(naz, jc0 + _COARSE)
            if skip and not _arc_passes(cx, cy, r, jc0, jc1, sin_az, cos_az, step, s, sx, sy,
                                        a, k, c, wu, wv, sd, chi_max, A, B, eps, eb, db):
                continue
            for jf0 in range(jc0, jc1, _FINE):
                jf1 = min(jc1, jf0 + _FINE)
                if skip and not _arc_passes(cx, cy, r, jf0, jf1, sin_az, cos_az, step, s, sx,
                                            sy, a, k, c, wu, wv, sd, chi_max, A, B, eps, eb,
                                            db):
                    continue
                for j in range(jf0, jf1):
                    px, py = cx + r * sin_az[j], cy + r * cos_az[j]
                    _e(px, py, sx, sy, a, k, c, wu, wv, e, d)
                    s_ = e[0]
                    for q in range(1, m):
                        s_ += e[q]
                    t0 = s_ / m
                    res = e[0] - t0
                    chi = res * res
                    for q in range(1, m):
                        res = e[q] - t0
                        chi += res * res
                    if chi / (sd * sd) <= chi_max:
                        dm = d[0]
                        for q in range(1, m):
                            dm += d[q]
                        tau = dm / m / c
                        ox[got], oy[got], ot[got] = px, py, t0
                        osd[got] = math.hypot(tau * w / c, sd)
                        got += 1
    return ox[:got], oy[:got], ot[:got], osd[:got]


def _points(b: FireBatch, rows: I64, p: HeardParams) -> tuple[F64, F64, F64, F64]:
    """The points within hearing that fit the arrivals ``rows`` (their differences), each
    one's implied emission time and its sd (the wind along the path): a grid of
    :data:`_N_AZ` directions by :data:`_N_R` ranges around the array, compiled
    (:func:`_fitting`; the array form, :func:`_fitting_array`, was ~80 % of the 907k month's
    fusion) where the group has at most :data:`_SHORT` arrivals."""
    return (_fitting if len(rows) <= _SHORT else _fitting_array)(*_search(b, rows, p))


def _points_array(b: FireBatch, rows: I64, p: HeardParams) -> tuple[F64, F64, F64, F64]:
    """:func:`_points` as arrays (points x sensors): any number of arrivals."""
    return _fitting_array(*_search(b, rows, p))


def _search(b: FireBatch, rows: I64, p: HeardParams) -> tuple[Any, ...]:
    """The arguments of :func:`_fitting` for the arrivals ``rows``: the array's middle, the
    grid, the sensors, their arrivals and scale factors, the pooled air, the timing sd, the
    chi-square cut and the wind's sd."""
    sx, sy, a = b.ox[rows], b.oy[rows], b.arr[rows]
    c, wu, wv = (float(v[rows].mean()) for v in (b.c, b.wu, b.wv))
    wsd = b.wind_sd[rows]
    w = float(np.nanmax(wsd)) if np.isfinite(wsd).any() else p.wind_sd_ms
    return (float(sx.mean()), float(sy.mean()), *_grid(p.hearing_m), sx, sy, a, b.k[rows], c,
            wu, wv, p.arrival_sd_s, _chi2_max(p.level, len(rows) - 1), w)


def _fitting_array(cx: float, cy: float, rr: F64, sin_az: F64, cos_az: F64, sx: F64, sy: F64,
                   a: F64, k: F64, c: float, wu: float, wv: float, sd: float, chi_max: float,
                   w: float) -> tuple[F64, F64, F64, F64]:
    """:func:`_fitting` as arrays (points x sensors, every point): any number of arrivals."""
    px = (cx + np.outer(rr, sin_az)).ravel()
    py = (cy + np.outer(rr, cos_az)).ravel()
    dx, dy = sx[None, :] - px[:, None], sy[None, :] - py[:, None]
    d = np.maximum(np.hypot(dx, dy), 1.0)
    ce = (c + wu * dx / d + wv * dy / d) * k[None, :]
    e = a[None, :] - d / ce
    t0 = e.mean(axis=1)
    chi = ((e - t0[:, None]) ** 2).sum(axis=1) / sd**2
    ok = chi <= chi_max
    tau = d.mean(axis=1) / c
    t_sd = np.hypot(tau * w / c, sd)
    return px[ok], py[ok], t0[ok], t_sd[ok]


def _fits(px: F64, py: F64, t0: F64, t_sd: F64, x: float, y: float, sig: float, lo: float,
          hi: float, role: int, windows: F64) -> bool:
    """Whether some fitting point is the other sound of a part at ``(x, y)`` emitted in
    ``[lo, hi]``: within a class's range, one flight time before or after it (``windows``:
    each class's range and speeds, rows of :meth:`.link.LinkParams.windows`). Compiled,
    point by point, stopping at the first: the same operations on each point as the array
    form it replaced (:func:`_fits_array`), so the same answer, without its temporaries (a
    group of one arrival fits every point, ~0.2M, and it ran once per candidate part)."""
    return bool(_fits_points(px, py, t0, t_sd, x, y, sig, lo, hi, role, windows))


@njit(cache=True, error_model="numpy")
def _fits_points(px: F64, py: F64, t0: F64, t_sd: F64, x: float, y: float, sig: float,
                 lo: float, hi: float, role: int, windows: F64) -> bool:
    """:func:`_fits`, compiled."""
    for w in range(windows.shape[0]):
        rng, v_lo, v_hi = windows[w, 0], windows[w, 1], windows[w, 2]
        for i in range(len(px)):
            d = math.hypot(px[i] - x, py[i] - y)
            if not d <= rng + 3.0 * sig:
                continue
            f_lo = d - 3.0 * sig
            if f_lo < 0.0:
                f_lo = 0.0
            f_lo = f_lo / v_hi
            f_hi = (d + 3.0 * sig) / v_lo
            s = 3.0 * t_sd[i]
            # the heard sound a launch (the part its burst): the part after it by a flight
            later = (hi - t0[i] + s >= f_lo) and (lo - t0[i] - s <= f_hi)
            earlier = (t0[i] - lo + s >= f_lo) and (t0[i] - hi - s <= f_hi)
            if later if role == ROLE_IMPACT else earlier if role == ROLE_ORIGIN \
                    else later or earlier:
                return True
    return False


def _one_arrival(b: FireBatch, row: int, p: HeardParams) -> Any:
    """:func:`_fits` for one arrival, in closed form: a point ``d`` from the part lies
    between ``|D - d|`` and ``min(D + d, hearing)`` from the sensor (``D`` the sensor's
    distance to the part), and every path length between is reached on that circle, so the
    heard sound's emission times form one interval per ``d`` (the speeds the pooled air
    allows, three sds of the wind either way); the flight, as in :func:`_fits`, is tested
    on a grid of ``d`` to the class's range."""
    sx, sy, a = float(b.ox[row]), float(b.oy[row]), float(b.arr[row])
    wsd = float(b.wind_sd[row]) if np.isfinite(b.wind_sd[row]) else (
        0.5 if b.wind_known[row] else p.wind_sd_ms)  # as join_heard's
    slack = float(np.hypot(b.wu[row], b.wv[row])) + 3.0 * wsd
    c = float(b.c[row]) * float(b.k[row])
    c_lo, c_hi = max(c - slack, 1.0), c + slack
    s = 3.0 * p.arrival_sd_s

    def fits(x: float, y: float, sig: float, lo: float, hi: float, role: int,
             windows: F64) -> bool:
        far = math.hypot(x - sx, y - sy)
        for rng, v_lo, v_hi in windows:
            d = np.linspace(0.0, rng + 3.0 * sig, _N_ONE)
            r_lo = np.maximum(np.abs(far - d), 1.0)
            r_hi = np.minimum(far + d, p.hearing_m)
            ok = r_lo <= p.hearing_m
            e_lo, e_hi = a - r_hi / c_lo - s, a - r_lo / c_hi + s
            f_lo, f_hi = np.maximum(d - 3.0 * sig, 0.0) / v_hi, (d + 3.0 * sig) / v_lo
            later = (hi - e_lo >= f_lo) & (lo - e_hi <= f_hi)
            earlier = (e_hi - lo >= f_lo) & (e_lo - hi <= f_hi)
            hit = later if role == ROLE_IMPACT else earlier if role == ROLE_ORIGIN \
                else later | earlier
            if (ok & hit).any():
                return True
        return False

    return fits


def _fits_array(px: F64, py: F64, t0: F64, t_sd: F64, x: float, y: float, sig: float,
                lo: float, hi: float, role: int, windows: F64) -> bool:
    """:func:`_fits` as arrays (the form it replaced, kept to pin it)."""
    d = np.hypot(px - x, py - y)
    for rng, v_lo, v_hi in windows:
        near = d <= rng + 3.0 * sig
        f_lo, f_hi = np.maximum(d - 3.0 * sig, 0.0) / v_hi, (d + 3.0 * sig) / v_lo
        s = 3.0 * t_sd
        later = (hi - t0 + s >= f_lo) & (lo - t0 - s <= f_hi)
        earlier = (t0 - lo + s >= f_lo) & (t0 - hi - s <= f_hi)
        ok = later if role == ROLE_IMPACT else earlier if role == ROLE_ORIGIN \
            else later | earlier
        if (near & ok).any():
            return True
    return False


class Fused(Protocol):
    """What :func:`join_other_sound` reads of a fusion pass."""

    @property
    def batch(self) -> FireBatch: ...
    @property
    def labels(self) -> I64: ...
    @property
    def fixes(self) -> Fixes: ...
    @property
    def role(self) -> NDArray[np.int8]: ...
    @property
    def partner(self) -> I64: ...


def join_other_sound(res: Fused, lo: F64, hi: F64, u: I64, g: I64, p: HeardParams,
                     link: LinkParams) -> tuple[I64, I64]:
    """``(u, g)`` (groups joined into parts: :func:`.same_shot.same_shots`' joins) with each
    vague arrival group that heard the other sound of exactly one located, unlinked, timed
    part joined to it. After the links and the arcs' launches (:mod:`.region`, which place
    such a launch where they can), and after the calibration, which must not read the
    arrivals against the part's fix."""
    b, labels, fixes, role, partner = res.batch, res.labels, res.fixes, res.role, res.partner
    x, y, cov, located = fixes.x, fixes.y, fixes.cov, fixes.located
    G = len(x)
    if not p.enabled or not p.other or not G:
        return u, g
    has = np.isfinite(b.arr) & np.isfinite(b.ox) & np.isfinite(b.oy)
    n_a = np.bincount(labels, has, minlength=G)
    bare = (role == ROLE_ANY) & (partner < 0) & (n_a == np.bincount(labels, minlength=G))
    vague = bare & (~located | (n_a == 3))
    timed = located & (fixes.method & M_ARRIVAL > 0)
    left = vague.copy()
    left[u] = False
    left[g] = False
    rows = np.flatnonzero(left[labels] & has)
    sig = np.sqrt(np.nan_to_num(np.trace(cov, axis1=1, axis2=2), nan=np.inf))
    part = (located & np.isfinite(x) & np.isfinite(lo) & np.isfinite(hi)
            & (hi - lo <= p.max_window_s) & (sig <= link.max_sigma_m))
    part[u] = False
    cand = np.flatnonzero(part & (partner < 0))
    every = np.flatnonzero(part)
    if not len(rows) or not len(cand):
        return u, g
    order, ul, st, _, n_u, _, _, first, last = arrival_groups(b, labels, rows)
    reach = p.hearing_m + max(link.max_range_m.values()) + 3.0 * float(sig[cand].max())
    tree = cKDTree(np.column_stack([x[cand], y[cand]]))
    tree_all = cKDTree(np.column_stack([x[every], y[every]]))
    travel = p.hearing_m / p.slowest_sound_ms
    flight = max(link.max_range_m.values()) / link.windows()[0][1]
    wsd = np.where(np.isfinite(b.wind_sd), b.wind_sd, p.wind_sd_ms)
    wsd = np.where(b.wind_known & ~np.isfinite(b.wind_sd), 0.5, wsd)
    src_max = int(b.source.max()) + 1
    have = np.unique(labels.astype(np.int64) * src_max + b.source)
    loose = chi2_dist.ppf(p.clear_level, np.arange(1, p.max_split + 2))
    windows = np.array(link.windows(), np.float64).reshape(-1, 3)
    by_class = dict(zip(link.max_range_m, link.windows(), strict=True))
    take_u, take_g = [], []
    lo_n = 1 if p.other_one else 2
    for k in np.flatnonzero((n_u >= lo_n) & (n_u <= p.max_split)):
        r = order[st[k]:st[k] + n_u[k]]
        cx, cy = float(b.ox[r].mean()), float(b.oy[r].mean())
        if 2.0 * float(np.hypot(b.ox[r] - cx, b.oy[r] - cy).max()) > p.array_m:
            continue
        a0, a1 = float(first[k]), float(last[k])
        near = cand[tree.query_ball_point([cx, cy], reach)]
        near = near[(hi[near] >= a0 - travel - flight) & (lo[near] <= a1 + flight)
                    & (near != ul[k])]
        if not len(near):
            continue
        if len(r) == 1:  # one arrival fits every point within hearing: in closed form
            test = _one_arrival(b, int(r[0]), p)
        else:
            pts = _points(b, r, p)
            if not len(pts[0]):
                continue
            test = functools.partial(_fits, *pts)
        args = [(float(x[c]), float(y[c]), float(sig[c]), float(lo[c]), float(hi[c]),
                 int(role[c])) for c in near]
        passed = [int(c) for c, a in zip(near, args, strict=True) if test(*a, windows)]
        if len(passed) != 1 or not timed[passed[0]]:
            continue
        # a part whose reports name a class: that class's flight (none known: no join)
        c = passed[0]
        named = {w for w in b.weapon_class[labels == c] if isinstance(w, str) and w}
        if named and (not named <= set(link.max_range_m) or not test(
                *args[int(np.flatnonzero(near == c)[0])],
                np.array([by_class[w] for w in sorted(named)], np.float64))):
            continue
        # a located sound the arrivals fit themselves: the array may have heard that one
        # (tested last, for the few groups that would join: each test is pure, so the
        # order does not change which join; first, it cost more than the search above)
        alt = every[tree_all.query_ball_point([cx, cy], p.hearing_m + 3.0 * float(
            sig[every].max()))]
        alt = alt[alt != ul[k]]
        if len(alt):
            idx = np.repeat(r[None, :], len(alt), axis=0)
            _, fa, dof, _, _, _ = part_tests(b, idx, alt, x, y, cov, lo, hi, timed, wsd,
                                             have, p)
            if ((dof >= 1) & (fa <= loose[np.minimum(dof, p.max_split) - 1])).any():
                continue
            # one arrival tests nothing against a part no arrival timed but its window (a
            # clock's error wider): any such part in time may be the sound it heard
            if len(r) == 1 and ((dof < 1) & np.isfinite(fa)).any():
                continue
        take_u.append(int(ul[k]))
        take_g.append(c)
    if not take_u:
        return u, g
    tu, tg = np.array(take_u, np.int64), np.array(take_g, np.int64)
    # a shot has one other sound: two groups that would join one part join neither (an
    # untyped fix may be heard as a launch by one, as a burst by the other)
    _, inv, n_g = np.unique(tg, return_inverse=True, return_counts=True)
    keep = ~np.isin(tg, tu) & (n_g[inv] == 1)
    return np.concatenate([u, tu[keep]]), np.concatenate([g, tg[keep]])



def other_sound_apart(res: Fused, lo: F64, hi: F64, u: I64, g: I64, n0: int, p: HeardParams,
                      link: LinkParams) -> tuple[I64, I64]:
    """``(u, g)`` without the joins past ``n0`` (:func:`.heard.join_untested`'s) whose arrivals
    could be the other sound of a located part of another event not linked to its own other
    part. Those joins rest on the part being the only event the arrivals could be of, but
    their test reads only the located sounds, and the unlocated launch of a burst that other
    arrays fixed is heard a flight time *before* it (baseline seed 3: the MLRS launch 24 km
    behind the line, heard by one sensor, joined a mortar's lone bearing of the other party,
    so the mortar's finding held the rocket's report). The test is :func:`join_other_sound`'s
    (some point within hearing that fits the arrivals, within a class's range and flight of
    the part; one arrival fits every point), timed or not, over the part's named classes
    where the link knows their flight, else over every class."""
    if len(u) <= n0:
        return u, g
    b, labels, fixes, role, partner = res.batch, res.labels, res.fixes, res.role, res.partner
    x, y, cov, located = fixes.x, fixes.y, fixes.cov, fixes.located
    sig = np.sqrt(np.nan_to_num(np.trace(cov, axis1=1, axis2=2), nan=np.inf))
    part = (located & np.isfinite(x) & np.isfinite(lo) & np.isfinite(hi)
            & (hi - lo <= p.max_window_s) & (sig <= link.max_sigma_m) & (partner < 0))
    part[u] = False  # joined elsewhere: no part of its own
    cand = np.flatnonzero(part)
    if not len(cand):
        return u, g
    has = np.isfinite(b.arr) & np.isfinite(b.ox) & np.isfinite(b.oy)
    order, ul, st, _, n_u, ucx, ucy, first, last = arrival_groups(
        b, labels, np.flatnonzero(np.isin(labels, u[n0:]) & has))
    reach = p.hearing_m + max(link.max_range_m.values()) + 3.0 * float(sig[cand].max())
    tree = cKDTree(np.column_stack([x[cand], y[cand]]))
    travel = p.hearing_m / p.slowest_sound_ms
    flight = max(link.max_range_m.values()) / link.windows()[0][1]
    windows = np.array(link.windows(), np.float64).reshape(-1, 3)
    by_class = dict(zip(link.max_range_m, link.windows(), strict=True))
    at = {int(v): k for k, v in enumerate(ul.tolist())}
    keep = np.ones(len(u), bool)
    for j in range(n0, len(u)):
        k = at[int(u[j])]
        own = {int(g[j]), int(partner[g[j]])}
        near = cand[tree.query_ball_point([float(ucx[k]), float(ucy[k])], reach)]
        near = near[(hi[near] >= first[k] - travel - flight) & (lo[near] <= last[k] + flight)
                    & ~np.isin(near, [*own, int(u[j])])]
        if not len(near):
            continue
        px, py, t0, t_sd = _points(b, order[st[k]:st[k] + n_u[k]], p)
        for c in near.tolist():
            named = {w for w in b.weapon_class[labels == c] if isinstance(w, str) and w}
            wins = np.array([by_class[w] for w in sorted(named)], np.float64) \
                if named and named <= set(by_class) else windows
            if _fits(px, py, t0, t_sd, float(x[c]), float(y[c]), float(sig[c]), float(lo[c]),
                     float(hi[c]), int(role[c]), wins):
                keep[j] = False
                break
    return u[keep], g[keep]
