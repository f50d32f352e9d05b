"""Compiled measurement model of :mod:`.locate`: residuals, Jacobian and normal equations.

One loop over the rows does what a dozen numpy temporaries per measurement type did (the
Levenberg-Marquardt loop evaluates the model ~50 times per batch). Row types are those of
:mod:`.locate` (bearing, distance band, point x, point y, arrival time); each row carries its
own value, standard deviation and, for arrivals, the pooled sound speed and wind.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange
from numpy.typing import NDArray

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

BRG, BAND, PX, PY, ARR = 0, 1, 2, 3, 4


@njit(cache=True, error_model="numpy", inline="always")
def _row(t: int, ox: float, oy: float, val: float, sd: float, lo: float, hi: float, c: float,
         wu: float, wv: float, k: float, px: float, py: float, t0: float, for_cov: bool,
         band_wall_frac: float, band_wall_m: float, arrival_sd: float
         ) -> tuple[float, float, float, float]:
    """One row's normalised residual and its derivatives by ``(x, y, t0)``."""
    if t == PX:
        return (px - val) / sd, 1.0 / sd, 0.0, 0.0
    if t == PY:
        return (py - val) / sd, 0.0, 1.0 / sd, 0.0
    dx, dy = px - ox, py - oy
    r2 = max(dx * dx + dy * dy, 1.0)
    rng = math.sqrt(r2)
    if t == BRG:
        e = math.atan2(dx, dy) - val + math.pi
        return ((e - 2.0 * math.pi * math.floor(e / (2.0 * math.pi)) - math.pi) / sd,
                dy / r2 / sd, -dx / r2 / sd, 0.0)
    if t == BAND:
        if for_cov:
            w = hi - lo
            s = (math.sqrt(w * w / 12.0 + (band_wall_frac * (lo + hi) / 2.0) ** 2)
                 if math.isfinite(w) else np.inf)
            return 0.0, dx / rng / s, dy / rng / s, 0.0
        edge = lo if rng < lo else (hi if math.isfinite(hi) else lo)
        s = band_wall_frac * edge + band_wall_m
        e = rng - lo if rng < lo else (rng - hi if rng > hi else 0.0)
        if e == 0.0:
            return 0.0, 0.0, 0.0, 0.0
        return e / s, dx / rng / s, dy / rng / s, 0.0
    # arrival time
    ux, uy = -dx / rng, -dy / rng
    along = wu * ux + wv * uy
    ce = (c + along) * k  # grid metres per second
    wpx, wpy = wu - along * ux, wv - along * uy  # wind across the path
    return ((t0 + rng / ce - val) / arrival_sd,
            (-ux / ce + wpx * k / (ce * ce)) / arrival_sd,
            (-uy / ce + wpy * k / (ce * ce)) / arrival_sd, 1.0 / arrival_sd)


@njit(cache=True, error_model="numpy", parallel=True)
def residuals(typ: NDArray[np.int8], g: I64, ox: F64, oy: F64, val: F64, sd: F64, lo: F64,
              hi: F64, c: F64, wu: F64, wv: F64, k: F64, x: F64, y: F64, t0: F64,
              for_cov: bool, jac: bool, band_wall_frac: float, band_wall_m: float,
              arrival_sd: float) -> tuple[F64, F64]:
    """Normalised residuals ``r`` (M,) and, if ``jac``, the Jacobian ``J`` (M, 3) with respect
    to each row's group's ``(x, y, t0)``.

    Bearings: the wrapped angle error over its sd. Bands: zero inside, the distance past the
    nearer edge over a softness of ``band_wall_frac * edge + band_wall_m`` outside; for the
    covariance (``for_cov``) a uniform band blurred by the distance judgement, whose Jacobian
    is the range direction over that spread. Points: the coordinate error over its sd.
    Arrivals: ``t0 + range / (c + wind along the path)`` against the arrival time, in grid
    metres (``k`` true metres per grid metre).
    """
    M = len(typ)
    r = np.zeros(M)
    J = np.zeros((M, 3) if jac else (0, 3))
    for q in prange(M):
        gi = g[q]
        rq, j0, j1, j2 = _row(typ[q], ox[q], oy[q], val[q], sd[q], lo[q], hi[q], c[q], wu[q],
                              wv[q], k[q], x[gi], y[gi], t0[gi], for_cov, band_wall_frac,
                              band_wall_m, arrival_sd)
        r[q] = rq
        if jac:
            J[q, 0], J[q, 1], J[q, 2] = j0, j1, j2
    return r, J


@njit(cache=True, error_model="numpy")
def normal(r: F64, J: F64, w: F64, g: I64, G: int) -> tuple[F64, F64]:
    """Per-group ``A = sum w J J^T`` (G, 3, 3) and ``v = sum w J r`` (G, 3)."""
    A = np.zeros((G, 3, 3))
    v = np.zeros((G, 3))
    for q in range(len(r)):
        gi = g[q]
        wq = w[q]
        for a in range(3):
            ja = wq * J[q, a]
            v[gi, a] += ja * r[q]
            for b in range(a, 3):
                A[gi, a, b] += ja * J[q, b]
    for gi in range(G):
        for a in range(3):
            for b in range(a):
                A[gi, a, b] = A[gi, b, a]
    return A, v


@njit(cache=True, error_model="numpy", inline="always")
def _rho1(r: float, cauchy: bool, huber_k: float, cauchy_c: float) -> tuple[float, float]:
    if cauchy:
        s = (r / cauchy_c) ** 2
        return 0.5 * cauchy_c * cauchy_c * math.log1p(s), 1.0 / (1.0 + s)
    a = abs(r)
    rho = 0.5 * r * r if a <= huber_k else huber_k * a - 0.5 * huber_k**2
    return rho, min(1.0, huber_k / max(a, 1e-12))


@njit(cache=True, error_model="numpy", parallel=True)
def robust(r: F64, cauchy: NDArray[np.bool_], huber_k: float, cauchy_c: float
           ) -> tuple[F64, F64]:
    """Robust cost and IRLS weight of each normalised residual: Huber (convex, safe from a
    least-squares start) or, where ``cauchy``, Cauchy (redescending: a wild report stops
    pulling)."""
    rho = np.empty(len(r))
    w = np.empty(len(r))
    for q in prange(len(r)):
        rho[q], w[q] = _rho1(r[q], cauchy[q], huber_k, cauchy_c)
    return rho, w


@njit(cache=True, error_model="numpy", parallel=True)
def levenberg_marquardt(typ: NDArray[np.int8], start: I64, ox: F64, oy: F64, val: F64,
                        sd: F64, lo: F64, hi: F64, c: F64, wu: F64, wv: F64, k: F64, x: F64,
                        y: F64, t0: F64, prior_t: F64, cauchy_row: NDArray[np.bool_],
                        iterations: int, band_wall_frac: float, band_wall_m: float,
                        arrival_sd: float, huber_k: float, cauchy_c: float,
                        converged_m: float, converged_s: float) -> tuple[F64, F64, F64]:
    """Every group's robust fix: up to ``iterations`` damped Gauss-Newton steps, each kept only
    where it lowers the group's robust cost (the damping then shrinks, else it grows). Huber in
    the first half, Cauchy in the second (from the start where ``cauchy_row``); ``prior_t``
    pins the emission time of groups without arrival times. A group whose accepted, barely
    damped step moves it less than ``converged_m`` (and ``converged_s`` in time) has
    converged: it goes on to the Cauchy half, or stops if it is already there. The rows are
    sorted by group, group ``g`` holding rows ``start[g]:start[g + 1]``: groups are
    independent, so they run in parallel, each through all its iterations while its rows are
    in cache."""
    G = len(x)
    x, y, t0 = x.copy(), y.copy(), t0.copy()
    ridge = 1e-10  # keeps (x, y) solvable where the evidence leaves a direction free
    for gi in prange(G):
        a, b = start[gi], start[gi + 1]
        xg, yg, tg, lam = x[gi], y[gi], t0[gi], 1e-3
        half = iterations // 2
        all_cauchy = True
        for q in range(a, b):
            all_cauchy = all_cauchy and cauchy_row[q]
        it = 0
        a00 = a01 = a02 = a11 = a12 = a22 = v0 = v1 = v2 = cost = 0.0
        held = -1  # the loss (0 Huber, 1 Cauchy) the sums below hold at this point; -1 none
        while it < iterations:
            late = it >= half
            loss = 1 if late else 0
            if held != loss:  # after a rejected step the point and its sums are the same
                # the normal equations A s = v (A symmetric: six numbers), in registers
                a00 = a01 = a02 = a11 = a12 = a22 = v0 = v1 = v2 = cost = 0.0
                for q in range(a, b):
                    rq, j0, j1, j2 = _row(typ[q], ox[q], oy[q], val[q], sd[q], lo[q], hi[q],
                                          c[q], wu[q], wv[q], k[q], xg, yg, tg, False,
                                          band_wall_frac, band_wall_m, arrival_sd)
                    rho, w = _rho1(rq, cauchy_row[q] or late, huber_k, cauchy_c)
                    cost += rho
                    v0 += w * j0 * rq
                    v1 += w * j1 * rq
                    v2 += w * j2 * rq
                    a00 += w * j0 * j0
                    a01 += w * j0 * j1
                    a02 += w * j0 * j2
                    a11 += w * j1 * j1
                    a12 += w * j1 * j2
                    a22 += w * j2 * j2
                a22 += prior_t[gi]
                held = loss
            s0, s1, s2 = _solve3(a00 * (1.0 + lam) + ridge, a01, a02,
                                 a11 * (1.0 + lam) + ridge, a12, a22 * (1.0 + lam) + ridge,
                                 v0, v1, v2)
            nx, ny, nt = xg - s0, yg - s1, tg - s2
            cost2 = 0.0
            for q in range(a, b):
                rq, _, _, _ = _row(typ[q], ox[q], oy[q], val[q], sd[q], lo[q], hi[q], c[q],
                                   wu[q], wv[q], k[q], nx, ny, nt, False, band_wall_frac,
                                   band_wall_m, arrival_sd)
                cost2 += _rho1(rq, cauchy_row[q] or late, huber_k, cauchy_c)[0]
            if math.isfinite(cost2) and cost2 <= cost:
                xg, yg, tg = nx, ny, nt
                held = -1
                lam = max(lam / 3.0, 1e-9)
                if (abs(s0) + abs(s1) < converged_m and abs(s2) < converged_s
                        and lam < 1e-2):  # a full Gauss-Newton step, not a damped one
                    # converged: on to the Cauchy half, or done if already in it
                    if late or all_cauchy:
                        break
                    it = half
                    continue
            else:
                lam = min(lam * 4.0, 1e9)
            it += 1
        x[gi], y[gi], t0[gi] = xg, yg, tg
    return x, y, t0


@njit(cache=True, error_model="numpy")
def _solve3(a: float, b: float, c: float, d: float, e: float, f: float, v0: float, v1: float,
            v2: float) -> tuple[float, float, float]:
    """``A s = v`` for the symmetric ``A = [[a, b, c], [b, d, e], [c, e, f]]`` by the
    adjugate (Cramer's rule): the damped matrices here are far from singular."""
    c00, c01, c02 = d * f - e * e, c * e - b * f, b * e - c * d
    c11, c12, c22 = a * f - c * c, b * c - a * e, a * d - b * b
    det = a * c00 + b * c01 + c * c02
    return ((c00 * v0 + c01 * v1 + c02 * v2) / det,
            (c01 * v0 + c11 * v1 + c12 * v2) / det,
            (c02 * v0 + c12 * v1 + c22 * v2) / det)


@njit(cache=True, error_model="numpy", inline="always")
def _temperature(c: float) -> float:
    """The air temperature (deg C) that gives the sound speed ``c`` (inverse of
    :func:`~truceline.core.fusion.batch.sound_speed`)."""
    return 273.15 * ((c / 331.3) ** 2 - 1.0)


@njit(cache=True, error_model="numpy")
def air_sums(g: I64, ox: F64, oy: F64, c: F64, wu: F64, wv: F64, k: F64, Jc: F64, w: F64,
             wind_known: NDArray[np.bool_], wind_sd: F64, x: F64, y: F64, arrival_sd: float,
             G: int) -> tuple[F64, F64, F64, F64, F64]:
    """The per-group sums :func:`.locate._air_cov` needs, in one pass over the arrival rows
    (in row order, as ``bincount`` sums, so the same numbers): ``B = sum w J_c J_n^T`` (G, 3,
    3; ``J_n`` a residual's sensitivity to the sound speed and the wind's two components),
    the arrivals, those with a wind, ``sum dc/dT`` and the largest estimated wind error."""
    B = np.zeros((G, 3, 3))
    n = np.zeros(G)
    known = np.zeros(G)
    dcdt = np.zeros(G)
    est = np.zeros(G)
    for q in range(len(g)):
        gi = g[q]
        dx, dy = x[gi] - ox[q], y[gi] - oy[q]
        rng = max(math.hypot(dx, dy), 1.0)
        ux, uy = -dx / rng, -dy / rng  # from the source to the sensor
        ce = (c[q] + wu[q] * ux + wv[q] * uy) * k[q]
        dc = -rng * k[q] / (ce * ce) / arrival_sd  # d residual / d speed (m/s)
        jn0, jn1, jn2 = dc, dc * ux, dc * uy
        for a in range(3):
            wj = w[q] * Jc[q, a]
            B[gi, a, 0] += wj * jn0
            B[gi, a, 1] += wj * jn1
            B[gi, a, 2] += wj * jn2
        n[gi] += 1.0
        known[gi] += wind_known[q]
        c0 = c[q]
        dcdt[gi] += c0 / (2.0 * (273.15 + _temperature(c0)))
        s = wind_sd[q]  # as ``np.nan_to_num``: NaN (a wind given) 0, inf the largest float
        est[gi] = max(est[gi], 0.0 if math.isnan(s) else min(s, 1.7976931348623157e308))
    return B, n, known, dcdt, est



@njit(cache=True, error_model="numpy", inline="always")
def _pivot_solve3(a: tuple[float, ...], b0: float, b1: float, b2: float
                  ) -> tuple[float, float, float, bool]:
    """``A x = b`` for a 3x3 ``A`` (``a`` its entries row by row) by Gaussian elimination
    with partial pivoting (as LAPACK's ``dgesv`` pivots), and whether ``|det A|`` (the
    pivots' product) is over 0."""
    a00, a01, a02, a10, a11, a12, a20, a21, a22 = a
    # first column: the largest entry's row on top
    if abs(a10) > abs(a00) and abs(a10) >= abs(a20):
        a00, a01, a02, b0, a10, a11, a12, b1 = a10, a11, a12, b1, a00, a01, a02, b0
    elif abs(a20) > abs(a00):
        a00, a01, a02, b0, a20, a21, a22, b2 = a20, a21, a22, b2, a00, a01, a02, b0
    f1, f2 = a10 / a00, a20 / a00
    a11, a12, b1 = a11 - f1 * a01, a12 - f1 * a02, b1 - f1 * b0
    a21, a22, b2 = a21 - f2 * a01, a22 - f2 * a02, b2 - f2 * b0
    if abs(a21) > abs(a11):
        a11, a12, b1, a21, a22, b2 = a21, a22, b2, a11, a12, b1
    f = a21 / a11
    a22, b2 = a22 - f * a12, b2 - f * b1
    x2 = b2 / a22
    x1 = (b1 - a12 * x2) / a11
    x0 = (b0 - a01 * x1 - a02 * x2) / a00
    # LAPACK's determinant is the product of these pivots: numpy's path solves where it is
    # not 0 (nor NaN)
    return x0, x1, x2, abs(a00 * a11 * a22) > 0.0


def consider(A: F64, B: F64, s_c: F64, s_w: F64, use: NDArray[np.bool_], compiled: bool
             ) -> F64:
    """The (x, y) block of ``M S Mᵀ`` (G, 2, 2), ``M = A⁻¹ B``, ``S = diag(s_c, s_w, s_w)``,
    for the groups ``use`` whose ``A`` is not singular (0 elsewhere): the air's share of a
    fix's covariance (:func:`.locate._air_cov`). By numpy's stacked ``det``, ``solve`` and
    ``matmul`` (LAPACK's numbers, which the stated fixes keep), or where ``compiled`` by
    :func:`air_consider` (the same to a few ulps, several times faster: grouping's fits)."""
    if compiled:
        return np.asarray(air_consider(A, B, s_c, s_w, use))
    G = len(use)
    out = np.zeros((G, 2, 2))
    S = np.zeros((G, 3, 3))
    S[:, 0, 0] = s_c
    S[:, 1, 1] = S[:, 2, 2] = s_w
    has = use & (np.abs(np.linalg.det(A)) > 0)
    if has.any():
        M = np.linalg.solve(A[has], B[has])
        out[has] = (M @ S[has] @ np.swapaxes(M, 1, 2))[:, :2, :2]
    return out


@njit(cache=True, error_model="numpy")
def air_consider(A: F64, B: F64, s_c: F64, s_w: F64, use: NDArray[np.bool_]) -> F64:
    """:func:`consider` in one pass of 3x3 solves (~100 flops a group: serial, as a parallel
    region would cost more than it saves, most under load). Equal to numpy's path to a few
    ulps, not bit for bit (LAPACK's kernels order their sums their own way; an exactly
    singular ``A`` LAPACK's rounding may solve, to ~1e37, where this leaves 0: either way
    :func:`.locate._marginal_xy` makes that covariance NaN)."""
    G = len(use)
    out = np.zeros((G, 2, 2))
    for gi in range(G):
        if not use[gi]:
            continue
        a = (A[gi, 0, 0], A[gi, 0, 1], A[gi, 0, 2], A[gi, 1, 0], A[gi, 1, 1], A[gi, 1, 2],
             A[gi, 2, 0], A[gi, 2, 1], A[gi, 2, 2])
        # M's columns: the solves for B's columns (the speed's, the wind's two)
        c0, c1, _, ok = _pivot_solve3(a, B[gi, 0, 0], B[gi, 1, 0], B[gi, 2, 0])
        if not ok:
            continue
        u0, u1, _, _ = _pivot_solve3(a, B[gi, 0, 1], B[gi, 1, 1], B[gi, 2, 1])
        v0, v1, _, _ = _pivot_solve3(a, B[gi, 0, 2], B[gi, 1, 2], B[gi, 2, 2])
        sc, sw = s_c[gi], s_w[gi]
        out[gi, 0, 0] = c0 * sc * c0 + sw * (u0 * u0 + v0 * v0)
        out[gi, 0, 1] = out[gi, 1, 0] = c0 * sc * c1 + sw * (u0 * u1 + v0 * v1)
        out[gi, 1, 1] = c1 * sc * c1 + sw * (u1 * u1 + v1 * v1)
    return out
