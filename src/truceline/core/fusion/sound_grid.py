"""Where a sound one array heard could come from: the grid search of :mod:`.heard_other`.

The array's arrivals differ by the path times from the sound's point to its sensors, so the
points that fit them (a chi-square of their implied emission times at most a cut) lie on a
hyperbola's band, and each implies an emission time: :func:`fitting` lists them over a polar
grid around the array (:data:`N_AZ` directions by :data:`N_R` ranges), and :func:`fits`
tests whether one of them is the other sound of a located part (a class's range and flight
time apart). Both are compiled and skip blocks of directions that a bound rules out; the
array forms they replaced (:func:`fitting_array`, :func:`fits_array`) stay to pin them, bit
for bit. :func:`fits_grid` answers :func:`fits` of :func:`fitting`'s points without listing
them (one arrival fits every point).
"""

from __future__ import annotations

import functools
import math

import numpy as np
from numba import njit
from numpy.typing import NDArray
from scipy.stats import chi2 as chi2_dist

from truceline.core.fusion.batch import ROLE_IMPACT, ROLE_ORIGIN

__all__ = ["chi2_max", "fits", "fits_array", "fits_blocked", "fits_grid", "fitting",
           "fitting_array", "grid", "point_blocks"]

F64 = NDArray[np.float64]

#: Directions (0.1 deg) and ranges (log-spaced, 300 m to the hearing range) searched.
N_AZ, N_R = 3_600, 48
#: The most arrivals :func:`fitting` sums as numpy does (sequentially; from eight on numpy
#: sums a row pairwise).
SHORT = 7
#: Directions per block :func:`fitting` tests whole before its points (coarse, then fine).
COARSE, FINE = 120, 12


@functools.lru_cache(maxsize=8)
def grid(hearing_m: float) -> tuple[F64, F64, F64]:
    """The search's ranges and the sines and cosines of its directions (the same for every
    group: made once, not per group)."""
    az = np.linspace(0.0, 2 * np.pi, N_AZ, endpoint=False)
    return np.geomspace(300.0, hearing_m, N_R), np.sin(az), np.cos(az)


@functools.lru_cache(maxsize=64)
def chi2_max(level: float, dof: int) -> float:
    """The chi-square cut at ``level``; one arrival (no differences, ``dof`` 0) has chi 0 at
    every point, so every point within hearing fits it."""
    return float(chi2_dist.ppf(level, dof)) if dof > 0 else 0.0


@njit(cache=True, error_model="numpy")
def _spread(cx: float, cy: float, sx: F64, sy: F64, a: F64) -> tuple[float, float]:
    """The farthest sensor from ``(cx, cy)`` and the largest arrival time in magnitude: what
    the bounds' reach and rounding allowance read."""
    reach, amax = 0.0, 0.0
    for q in range(len(sx)):
        reach = max(reach, math.hypot(sx[q] - cx, sy[q] - cy))
        amax = max(amax, abs(a[q]))
    return reach, amax


@njit(cache=True, error_model="numpy")
def _e(px: float, py: float, sx: F64, sy: F64, a: F64, k: F64, c: float, wu: float,
       wv: float, e: F64, d: F64) -> None:
    """Each arrival's implied emission time ``e`` (and path length ``d``) were the sound
    from ``(px, py)``: the operations of :func:`fitting_array`, in its order."""
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
def _near_passes(cx: float, cy: float, r: float, j0: int, j1: int, sin_az: F64, cos_az: F64,
                 step: float, rho: F64, sx: F64, sy: F64, a: F64, k: F64, c: float, wu: float,
                 wv: float, sd: float, chi_max: float, kc: float, wk: float, eps: float,
                 e: F64, d: F64) -> bool:
    """:func:`_arc_passes` for a range within the array's reach (``r <= reach + 1``), where
    the pairs' slopes do not hold: each arrival's path time ``d_q / c'_q`` alone changes by at
    most ``min(1, rho_q / d_q) / kc + wk`` per metre along the arc (``rho_q`` the sensor's
    distance from the middle: the part of the move towards it; ``kc = k_min (c - |w|)``;
    ``wk = |w| / (k_min (c - |w|)^2)``, the turning of the wind along the path), ``d_q`` at
    least the middle's less the arc. No bound (``True``) where a sensor may be within a metre
    of the arc, as ``max(d, 1)`` would then bite."""
    m = len(sx)
    jm = (j0 + j1 - 1) // 2
    arc = r * max(jm - j0, j1 - 1 - jm) * step * (1.0 + 1e-6) + 1e-6
    _e(cx + r * sin_az[jm], cy + r * cos_az[jm], sx, sy, a, k, c, wu, wv, e, d)
    for q in range(m):
        dmin = d[q] - arc
        if not dmin > 1.0 + 1e-6:
            return True
        d[q] = (min(1.0, rho[q] / dmin) / kc + wk) * arc * (1.0 + 1e-6)
    lb = 0.0
    for q in range(m):
        for p in range(q + 1, m):
            gap = abs(e[q] - e[p]) - d[q] - d[p] - eps
            if gap > 0.0:
                lb += gap * gap
    return lb / m / (sd * sd) <= chi_max * (1.0 + 1e-6) + 1e-12


@njit(cache=True, error_model="numpy")
def _block_may_fit(far: bool, near: bool, cx: float, cy: float, r: float, j0: int, j1: int,
                   sin_az: F64, cos_az: F64, step: float, s: float, rho: F64, sx: F64,
                   sy: F64, a: F64, k: F64, c: float, wu: float, wv: float, sd: float,
                   chi_max: float, A: F64, B: F64, kc: float, wk: float, eps: float, e: F64,
                   d: F64) -> bool:
    """Whether the block ``j0:j1`` of range ``r`` may hold a point that fits: the bound of a
    range past the array's reach (``far``, :func:`_arc_passes`) or within it (``near``,
    :func:`_near_passes`); every block where no bound holds. The one block test of
    :func:`fitting` and :func:`.sound_parts.fits_parts`, so both walk the same points."""
    if far:
        return _arc_passes(cx, cy, r, j0, j1, sin_az, cos_az, step, s, sx, sy, a, k, c, wu,
                           wv, sd, chi_max, A, B, eps, e, d)
    if near:
        return _near_passes(cx, cy, r, j0, j1, sin_az, cos_az, step, rho, sx, sy, a, k, c,
                            wu, wv, sd, chi_max, kc, wk, eps, e, d)
    return True


@njit(cache=True, error_model="numpy")
def _point(px: float, py: float, sx: F64, sy: F64, a: F64, k: F64, c: float, wu: float,
           wv: float, sd: float, chi_max: float, w: float, e: F64, d: F64
           ) -> tuple[bool, float, float]:
    """Whether the point ``(px, py)`` fits, its emission time and that time's sd: the
    operations of :func:`fitting_array` on one point (each sum from the first sensor on, as
    numpy reduces a row of at most :data:`SHORT`), so the same bits."""
    m = len(sx)
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
    if not chi / (sd * sd) <= chi_max:
        return False, t0, 0.0
    dm = d[0]
    for q in range(1, m):
        dm += d[q]
    tau = dm / m / c
    return True, t0, math.hypot(tau * w / c, sd)


@njit(cache=True, error_model="numpy")
def fitting(cx: float, cy: float, rr: F64, sin_az: F64, cos_az: F64, sx: F64, sy: F64,
             a: F64, k: F64, c: float, wu: float, wv: float, sd: float, chi_max: float,
             w: float) -> tuple[F64, F64, F64, F64]:
    """:func:`fitting_array`, point by point: the same operations in the same order (each
    sum from the first sensor on, as numpy reduces a row of at most :data:`SHORT`), so the
    same bits, without its (points x sensors) temporaries (~0.2M points a group). Blocks
    of directions (:data:`COARSE`, then :data:`FINE`) of one range that cannot fit
    (:func:`_arc_passes`) are skipped whole where every sensor is more than a metre off
    (``max(d, 1)`` then never bites): the same points, in the same order."""
    m, n, naz = len(sx), len(rr) * len(sin_az), len(sin_az)
    ox, oy, ot, osd = np.empty(n), np.empty(n), np.empty(n), np.empty(n)
    e, d = np.empty(m), np.empty(m)
    eb, db = np.empty(m), np.empty(m)
    reach, amax = _spread(cx, cy, sx, sy, a)
    wn = math.hypot(wu, wv)
    # the bound only where it holds: differences to test, finite inputs, speeds above the wind
    bound = (m >= 2 and sd > 0.0 and c - wn > 0.0 and k.min() > 0.0
             and math.isfinite(reach + amax + c + wn + chi_max + k.max()))
    A, B = _slopes(sx, sy, k, c, wn)
    rho = np.hypot(sx - cx, sy - cy)
    kc = k.min() * (c - wn)
    wk = wn / (kc * (c - wn))
    eps = 1e-9 + 1e-14 * (amax + 1e3)
    step = 2.0 * math.pi / naz
    got = 0
    for i in range(len(rr)):
        r = rr[i]
        far = bound and r - reach > 1.0
        near = bound and not far
        s = reach / r
        for jc0 in range(0, naz, COARSE):
            jc1 = min(naz, jc0 + COARSE)
            if not _block_may_fit(far, near, cx, cy, r, jc0, jc1, sin_az, cos_az, step, s,
                                  rho, sx, sy, a, k, c, wu, wv, sd, chi_max, A, B, kc, wk,
                                  eps, eb, db):
                continue
            for jf0 in range(jc0, jc1, FINE):
                jf1 = min(jc1, jf0 + FINE)
                if not _block_may_fit(far, near, cx, cy, r, jf0, jf1, sin_az, cos_az, step,
                                      s, rho, sx, sy, a, k, c, wu, wv, sd, chi_max, A, B, kc,
                                      wk, eps, eb, db):
                    continue
                for j in range(jf0, jf1):
                    px, py = cx + r * sin_az[j], cy + r * cos_az[j]
                    ok, t0, t_sd = _point(px, py, sx, sy, a, k, c, wu, wv, sd, chi_max, w, e, d)
                    if ok:
                        ox[got], oy[got], ot[got], osd[got] = px, py, t0, t_sd
                        got += 1
    return ox[:got], oy[:got], ot[:got], osd[:got]


def fitting_array(cx: float, cy: float, rr: F64, sin_az: F64, cos_az: F64, sx: F64, sy: F64,
                   a: F64, k: F64, c: float, wu: float, wv: float, sd: float, chi_max: float,
                   w: float) -> tuple[F64, F64, F64, F64]:
    """:func:`fitting` as arrays (points x sensors, every point): any number of arrivals."""
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


def fits(px: F64, py: F64, t0: F64, t_sd: F64, x: float, y: float, sig: float, lo: float,
          hi: float, role: int, windows: F64) -> bool:
    """Whether some fitting point is the other sound of a part at ``(x, y)`` emitted in
    ``[lo, hi]``: within a class's range, one flight time before or after it (``windows``:
    each class's range and speeds, rows of :meth:`.link.LinkParams.windows`). Compiled,
    point by point, stopping at the first: the same operations on each point as the array
    form it replaced (:func:`fits_array`), so the same answer, without its temporaries (a
    group of one arrival fits every point, ~0.2M, and it ran once per candidate part)."""
    return bool(_fits_points(px, py, t0, t_sd, x, y, sig, lo, hi, role, windows))


@njit(cache=True, error_model="numpy")
def _fit_one(px: float, py: float, t0: float, t_sd: float, x: float, y: float, sig: float,
             lo: float, hi: float, role: int, rng: float, v_lo: float, v_hi: float) -> bool:
    """Whether the point ``(px, py)``, emitting at ``t0`` (sd ``t_sd``), is the other sound of
    the part at ``(x, y)`` emitted in ``[lo, hi]`` by one class (range ``rng``, speeds
    ``v_lo`` to ``v_hi``): :func:`fits_array`'s operations on one point and class."""
    d = math.hypot(px - x, py - y)
    if not d <= rng + 3.0 * sig:
        return False
    f_lo = d - 3.0 * sig
    if f_lo < 0.0:
        f_lo = 0.0
    f_lo = f_lo / v_hi
    f_hi = (d + 3.0 * sig) / v_lo
    s = 3.0 * t_sd
    # the heard sound a launch (the part its burst): the part after it by a flight
    later = (hi - t0 + s >= f_lo) and (lo - t0 - s <= f_hi)
    earlier = (t0 - lo + s >= f_lo) and (t0 - hi - s <= f_hi)
    return later if role == ROLE_IMPACT else earlier if role == ROLE_ORIGIN \
        else later or earlier


@njit(cache=True, error_model="numpy")
def _fits_points(px: F64, py: F64, t0: F64, t_sd: F64, x: float, y: float, sig: float,
                 lo: float, hi: float, role: int, windows: F64) -> bool:
    """:func:`fits`, compiled."""
    for w in range(windows.shape[0]):
        for i in range(len(px)):
            if _fit_one(px[i], py[i], t0[i], t_sd[i], x, y, sig, lo, hi, role, windows[w, 0],
                        windows[w, 1], windows[w, 2]):
                return True
    return False


#: Fitting points (in the grid's order: near one another) summarised together for
#: :func:`fits_blocked`.
BLOCK = 32


@njit(cache=True, error_model="numpy")
def point_blocks(px: F64, py: F64, t0: F64, t_sd: F64) -> F64:
    """Each :data:`BLOCK` of points' box, emission times' range and largest sd (rows
    ``x_min, x_max, y_min, y_max, t_min, t_max, sd_max``), for :func:`fits_blocked`; a point
    with a value not finite passes no test, so it is left out (a block of none: an empty box,
    ``inf`` to ``-inf``)."""
    n = len(px)
    nb = (n + BLOCK - 1) // BLOCK
    out = np.empty((nb, 7))
    for b in range(nb):
        v = np.array([np.inf, -np.inf, np.inf, -np.inf, np.inf, -np.inf, -np.inf])
        for i in range(b * BLOCK, min(n, (b + 1) * BLOCK)):
            if not math.isfinite(px[i] + py[i] + t0[i] + t_sd[i]):
                continue
            v[0], v[1] = min(v[0], px[i]), max(v[1], px[i])
            v[2], v[3] = min(v[2], py[i]), max(v[3], py[i])
            v[4], v[5] = min(v[4], t0[i]), max(v[5], t0[i])
            v[6] = max(v[6], t_sd[i])
        out[b] = v
    return out


def fits_blocked(px: F64, py: F64, t0: F64, t_sd: F64, blocks: F64, x: float, y: float,
                 sig: float, lo: float, hi: float, role: int, windows: F64) -> bool:
    """:func:`fits`, skipping the blocks of points (:func:`point_blocks`) none of which
    could pass for a class: the nearest and farthest the box is from the part, the earliest
    and latest emission and the largest sd, each condition tested at the end that favours
    it (monotone operations, a margin on the distances): the same answer, for the groups
    whose thousands of points are tested against a dozen parts."""
    return bool(_fits_blocked(px, py, t0, t_sd, blocks, x, y, sig, lo, hi, role, windows))


@njit(cache=True, error_model="numpy")
def _fits_blocked(px: F64, py: F64, t0: F64, t_sd: F64, blocks: F64, x: float, y: float,
                  sig: float, lo: float, hi: float, role: int, windows: F64) -> bool:
    """:func:`fits_blocked`, compiled."""
    n = len(px)
    exact = math.isfinite(x + y + sig + lo + hi)
    for w in range(windows.shape[0]):
        rng, v_lo, v_hi = windows[w, 0], windows[w, 1], windows[w, 2]
        for b in range(blocks.shape[0]):
            if exact and math.isfinite(rng + v_lo + v_hi) and v_lo > 0.0 and v_hi > 0.0:
                x0, x1, y0, y1 = blocks[b, 0], blocks[b, 1], blocks[b, 2], blocks[b, 3]
                if not x0 <= x1:  # no point of the block can pass
                    continue
                dx, dy = max(x0 - x, 0.0, x - x1), max(y0 - y, 0.0, y - y1)
                d_lo = math.hypot(dx, dy) * (1.0 - 1e-12) - 1e-6
                d_hi = math.hypot(max(abs(x0 - x), abs(x1 - x)),
                                  max(abs(y0 - y), abs(y1 - y))) * (1.0 + 1e-12) + 1e-6
                if d_lo > rng + 3.0 * sig:
                    continue
                f_lo = max(d_lo - 3.0 * sig, 0.0) / v_hi * (1.0 - 1e-12)
                f_hi = (d_hi + 3.0 * sig) / v_lo * (1.0 + 1e-12)
                t_lo, t_hi, s = blocks[b, 4], blocks[b, 5], 3.0 * blocks[b, 6]
                later = (hi - t_lo + s >= f_lo) and (lo - t_hi - s <= f_hi)
                earlier = (t_hi - lo + s >= f_lo) and (t_lo - hi - s <= f_hi)
                if not (later if role == ROLE_IMPACT else earlier if role == ROLE_ORIGIN
                        else later or earlier):
                    continue
            for i in range(b * BLOCK, min(n, (b + 1) * BLOCK)):
                if _fit_one(px[i], py[i], t0[i], t_sd[i], x, y, sig, lo, hi, role, rng, v_lo,
                            v_hi):
                    return True
    return False


def fits_array(px: F64, py: F64, t0: F64, t_sd: F64, x: float, y: float, sig: float,
                lo: float, hi: float, role: int, windows: F64) -> bool:
    """:func:`fits` as arrays (the form it replaced, kept to pin it)."""
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


@njit(cache=True, error_model="numpy")
def _may_fit(cx: float, cy: float, r: float, j0: int, j1: int, sin_az: F64, cos_az: F64,
             step: float, rho: F64, sx: F64, sy: F64, a: F64, k: F64, c: float, wu: float,
             wv: float, sd: float, w: float, kc: float, wk: float, eps: float, e: F64, d: F64,
             x: float, y: float, sig: float, lo: float, hi: float, role: int, rng: float,
             v_lo: float, v_hi: float) -> bool:
    """Can any point of range ``r`` and directions ``j0:j1`` pass :func:`_fit_one` (whether it
    fits the arrivals or not)? From the block's middle: along the arc each point's distance
    to the part moves by at most the arc, its emission time (a mean of path times) by at most
    the largest path time's slope (:func:`_near_passes`) times the arc, and its sd with the
    mean path; each condition is then tested at the end of these ranges that favours it.
    ``True`` (no bound) where a sensor may be within a metre of the arc. The block's part
    (:func:`_block_mid`) is the same for every part tested: :mod:`.sound_parts` makes it once."""
    held, px, py, arc, t0, sa, s_hi = _block_mid(cx, cy, r, j0, j1, sin_az, cos_az, step, rho,
                                                 sx, sy, a, k, c, wu, wv, sd, w, kc, wk, e, d)
    return not held or _part_may(px, py, arc, t0, sa, s_hi, eps, x, y, sig, lo, hi, role, rng,
                                 v_lo, v_hi)


@njit(cache=True, error_model="numpy")
def _block_mid(cx: float, cy: float, r: float, j0: int, j1: int, sin_az: F64, cos_az: F64,
               step: float, rho: F64, sx: F64, sy: F64, a: F64, k: F64, c: float, wu: float,
               wv: float, sd: float, w: float, kc: float, wk: float, e: F64, d: F64
               ) -> tuple[bool, float, float, float, float, float, float]:
    """:func:`_may_fit`'s block: whether its bound holds, the middle point, the arc, the
    emission time there, how far the arc may move it (less the rounding) and the largest sd."""
    m = len(sx)
    jm = (j0 + j1 - 1) // 2
    arc = r * max(jm - j0, j1 - 1 - jm) * step * (1.0 + 1e-6) + 1e-6
    px, py = cx + r * sin_az[jm], cy + r * cos_az[jm]
    _e(px, py, sx, sy, a, k, c, wu, wv, e, d)
    t0, dm, slope, turn = 0.0, 0.0, 0.0, 0.0
    for q in range(m):
        dmin = d[q] - arc
        if not dmin > 1.0 + 1e-6:
            return False, px, py, arc, t0, 0.0, 0.0
        t0 += e[q]
        dm += d[q]
        toward = min(1.0, rho[q] / dmin)
        turn = max(turn, toward)
        slope = max(slope, toward / kc + wk)
    t0 /= m
    ds = 3.0 * (turn * arc / c * abs(w) / c * (1.0 + 1e-6) + 1e-9)
    s_hi = 3.0 * math.hypot(dm / m / c * w / c, sd) * (1.0 + 1e-9) + ds
    return True, px, py, arc, t0, slope * arc * (1.0 + 1e-6), s_hi


@njit(cache=True, error_model="numpy")
def _part_may(px: float, py: float, arc: float, t0: float, sa: float, s_hi: float, eps: float,
              x: float, y: float, sig: float, lo: float, hi: float, role: int, rng: float,
              v_lo: float, v_hi: float) -> bool:
    """:func:`_may_fit`'s test of one part and class against a block (:func:`_block_mid`)."""
    dt = sa + 2.0 * eps
    dist = math.hypot(px - x, py - y)
    d_lo = dist - arc - 1e-3 - 1e-9 * dist
    d_hi = dist + arc + 1e-3 + 1e-9 * dist
    if not math.isfinite(t0 + s_hi + d_lo + d_hi):
        return True
    if d_lo > rng + 3.0 * sig:
        return False
    f_lo = max(d_lo - 3.0 * sig, 0.0) / v_hi * (1.0 - 1e-9)
    f_hi = (d_hi + 3.0 * sig) / v_lo * (1.0 + 1e-9)
    later = (hi - (t0 - dt) + s_hi >= f_lo) and (lo - (t0 + dt) - s_hi <= f_hi)
    earlier = ((t0 + dt) - lo + s_hi >= f_lo) and ((t0 - dt) - hi - s_hi <= f_hi)
    return later if role == ROLE_IMPACT else earlier if role == ROLE_ORIGIN \
        else later or earlier


def fits_grid(cx: float, cy: float, rr: F64, sin_az: F64, cos_az: F64, sx: F64, sy: F64,
              a: F64, k: F64, c: float, wu: float, wv: float, sd: float, chi_max: float,
              w: float, x: float, y: float, sig: float, lo: float, hi: float, role: int,
              windows: F64) -> bool:
    """:func:`fits` of :func:`fitting`'s points (its arguments, then the part's), without
    listing them: the grid's blocks of directions (:data:`COARSE`, then :data:`FINE`) that no
    point could pass for a class (:func:`_may_fit`) are skipped, the others' points computed
    as :func:`fitting` computes them (:func:`_point`) and tested as :func:`fits` tests them
    (:func:`_fit_one`): the same answer. For one arrival, whose every point fits (~0.2M), and
    a part or a few to test."""
    return bool(_fits_grid(cx, cy, rr, sin_az, cos_az, sx, sy, a, k, c, wu, wv, sd, chi_max, w,
                           x, y, sig, lo, hi, role, windows))


@njit(cache=True, error_model="numpy")
def _fits_grid(cx: float, cy: float, rr: F64, sin_az: F64, cos_az: F64, sx: F64, sy: F64,
               a: F64, k: F64, c: float, wu: float, wv: float, sd: float, chi_max: float,
               w: float, x: float, y: float, sig: float, lo: float, hi: float, role: int,
               windows: F64) -> bool:
    """:func:`fits_grid`, compiled."""
    m, naz = len(sx), len(sin_az)
    e, d = np.empty(m), np.empty(m)
    reach, amax = _spread(cx, cy, sx, sy, a)
    wn = math.hypot(wu, wv)
    bound = (m >= 1 and c - wn > 0.0 and k.min() > 0.0 and math.isfinite(
        reach + amax + c + wn + k.max() + cx + cy + w + sd + x + y + sig + lo + hi
        + windows.sum()) and windows.shape[0] > 0 and windows.min() > 0.0)
    rho = np.hypot(sx - cx, sy - cy)
    kc = k.min() * (c - wn)
    wk = wn / (kc * (c - wn))
    eps = 1e-6 + 1e-12 * (amax + abs(lo) + abs(hi))
    step = 2.0 * math.pi / naz
    for v in range(windows.shape[0]):
        rng, v_lo, v_hi = windows[v, 0], windows[v, 1], windows[v, 2]
        for i in range(len(rr)):
            r = rr[i]
            for jc0 in range(0, naz, COARSE):
                jc1 = min(naz, jc0 + COARSE)
                if bound and not _may_fit(cx, cy, r, jc0, jc1, sin_az, cos_az, step, rho, sx,
                                          sy, a, k, c, wu, wv, sd, w, kc, wk, eps, e, d, x,
                                          y, sig, lo, hi, role, rng, v_lo, v_hi):
                    continue
                for jf0 in range(jc0, jc1, FINE):
                    jf1 = min(jc1, jf0 + FINE)
                    if bound and not _may_fit(cx, cy, r, jf0, jf1, sin_az, cos_az, step, rho,
                                              sx, sy, a, k, c, wu, wv, sd, w, kc, wk, eps, e,
                                              d, x, y, sig, lo, hi, role, rng, v_lo, v_hi):
                        continue
                    for j in range(jf0, jf1):
                        px, py = cx + r * sin_az[j], cy + r * cos_az[j]
                        ok, t0, t_sd = _point(px, py, sx, sy, a, k, c, wu, wv, sd, chi_max, w,
                                              e, d)
                        if ok and _fit_one(px, py, t0, t_sd, x, y, sig, lo, hi, role, rng,
                                           v_lo, v_hi):
                            return True
    return False
