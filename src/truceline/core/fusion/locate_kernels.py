"""Compiled measurement model of :mod:`.locate`: residuals, Jacobian and normal equations.

One loop over the rows does what a dozen numpy temporaries per measurement type did (the
Levenberg-Marquardt loop evaluates the model ~50 times per batch). Row types are those of
:mod:`.locate` (bearing, distance band, point x, point y, arrival time); each row carries its
own value, standard deviation and, for arrivals, the pooled sound speed and wind.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit
from numpy.typing import NDArray

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

BRG, BAND, PX, PY, ARR = 0, 1, 2, 3, 4


@njit(cache=True, error_model="numpy")
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
    for q in range(M):
        t = typ[q]
        gi = g[q]
        px, py = x[gi], y[gi]
        if t == PX:
            r[q] = (px - val[q]) / sd[q]
            if jac:
                J[q, 0] = 1.0 / sd[q]
            continue
        if t == PY:
            r[q] = (py - val[q]) / sd[q]
            if jac:
                J[q, 1] = 1.0 / sd[q]
            continue
        dx, dy = px - ox[q], py - oy[q]
        r2 = max(dx * dx + dy * dy, 1.0)
        rng = math.sqrt(r2)
        if t == BRG:
            az = math.atan2(dx, dy)
            e = az - val[q] + math.pi
            r[q] = (e - 2.0 * math.pi * math.floor(e / (2.0 * math.pi)) - math.pi) / sd[q]
            if jac:
                J[q, 0] = dy / r2 / sd[q]
                J[q, 1] = -dx / r2 / sd[q]
        elif t == BAND:
            a, b = lo[q], hi[q]
            if for_cov:
                w = b - a
                s = (math.sqrt(w * w / 12.0 + (band_wall_frac * (a + b) / 2.0) ** 2)
                     if math.isfinite(w) else np.inf)
                active = True
            else:
                edge = a if rng < a else (b if math.isfinite(b) else a)
                s = band_wall_frac * edge + band_wall_m
                e = rng - a if rng < a else (rng - b if rng > b else 0.0)
                r[q] = e / s
                active = e != 0.0
            if jac and active:
                J[q, 0] = dx / rng / s
                J[q, 1] = dy / rng / s
        else:  # arrival time
            ux, uy = -dx / rng, -dy / rng
            along = wu[q] * ux + wv[q] * uy
            ce = (c[q] + along) * k[q]  # grid metres per second
            r[q] = (t0[gi] + rng / ce - val[q]) / arrival_sd
            if jac:
                wpx, wpy = wu[q] - along * ux, wv[q] - along * uy  # wind across the path
                J[q, 0] = (-ux / ce + wpx * k[q] / (ce * ce)) / arrival_sd
                J[q, 1] = (-uy / ce + wpy * k[q] / (ce * ce)) / arrival_sd
                J[q, 2] = 1.0 / arrival_sd
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


@njit(cache=True, error_model="numpy")
def robust(r: F64, cauchy: NDArray[np.bool_], huber_k: float, cauchy_c: float
           ) -> tuple[F64, F64]:
    """Robust cost and IRLS weight of each normalised residual: Huber (convex, safe from a
    least-squares start) or, where ``cauchy``, Cauchy (redescending: a wild report stops
    pulling)."""
    rho = np.empty(len(r))
    w = np.empty(len(r))
    for q in range(len(r)):
        if cauchy[q]:
            s = (r[q] / cauchy_c) ** 2
            rho[q] = 0.5 * cauchy_c * cauchy_c * math.log1p(s)
            w[q] = 1.0 / (1.0 + s)
        else:
            a = abs(r[q])
            rho[q] = 0.5 * r[q] * r[q] if a <= huber_k else huber_k * a - 0.5 * huber_k**2
            w[q] = min(1.0, huber_k / max(a, 1e-12))
    return rho, w


@njit(cache=True, error_model="numpy")
def levenberg_marquardt(typ: NDArray[np.int8], g: I64, ox: F64, oy: F64, val: F64, sd: F64,
                        lo: F64, hi: F64, c: F64, wu: F64, wv: F64, k: F64, G: int, x: F64,
                        y: F64, t0: F64, prior_t: F64, cauchy_row: NDArray[np.bool_],
                        iterations: int, band_wall_frac: float, band_wall_m: float,
                        arrival_sd: float, huber_k: float, cauchy_c: float
                        ) -> tuple[F64, F64, F64]:
    """Every group's robust fix at once: ``iterations`` damped Gauss-Newton steps, each kept
    only where it lowers the group's robust cost (the damping then shrinks, else it grows).
    Huber in the first half, Cauchy in the second (from the start where ``cauchy_row``);
    ``prior_t`` pins the emission time of groups without arrival times."""
    x, y, t0 = x.copy(), y.copy(), t0.copy()
    lam = np.full(G, 1e-3)
    ridge = 1e-10  # keeps (x, y) solvable where the evidence leaves a direction free
    stage = np.empty(len(typ), np.bool_)
    nx, ny, nt = np.empty(G), np.empty(G), np.empty(G)
    for it in range(iterations):
        late = it >= iterations // 2
        for q in range(len(typ)):
            stage[q] = cauchy_row[q] or late
        r, J = residuals(typ, g, ox, oy, val, sd, lo, hi, c, wu, wv, k, x, y, t0, False, True,
                         band_wall_frac, band_wall_m, arrival_sd)
        rho, w = robust(r, stage, huber_k, cauchy_c)
        cost = np.zeros(G)
        for q in range(len(r)):
            cost[g[q]] += rho[q]
        A, v = normal(r, J, w, g, G)
        for gi in range(G):
            A[gi, 2, 2] += prior_t[gi]
            for a in range(3):
                A[gi, a, a] += lam[gi] * A[gi, a, a] + ridge
            s0, s1, s2 = _solve3(A[gi], v[gi])
            nx[gi], ny[gi], nt[gi] = x[gi] - s0, y[gi] - s1, t0[gi] - s2
        r2, _ = residuals(typ, g, ox, oy, val, sd, lo, hi, c, wu, wv, k, nx, ny, nt, False,
                          False, band_wall_frac, band_wall_m, arrival_sd)
        rho2, _ = robust(r2, stage, huber_k, cauchy_c)
        cost2 = np.zeros(G)
        for q in range(len(r2)):
            cost2[g[q]] += rho2[q]
        for gi in range(G):
            if math.isfinite(cost2[gi]) and cost2[gi] <= cost[gi]:
                x[gi], y[gi], t0[gi] = nx[gi], ny[gi], nt[gi]
                lam[gi] = max(lam[gi] / 3.0, 1e-9)
            else:
                lam[gi] = min(lam[gi] * 4.0, 1e9)
    return x, y, t0


@njit(cache=True, error_model="numpy")
def _solve3(A: F64, v: F64) -> tuple[float, float, float]:
    """``A s = v`` for one symmetric 3x3 system by the adjugate (Cramer's rule): the damped
    matrices here are far from singular."""
    a, b, c = A[0, 0], A[0, 1], A[0, 2]
    d, e, f = A[1, 1], A[1, 2], A[2, 2]
    c00, c01, c02 = d * f - e * e, c * e - b * f, b * e - c * d
    c11, c12, c22 = a * f - c * c, b * c - a * e, a * d - b * b
    det = a * c00 + b * c01 + c * c02
    return ((c00 * v[0] + c01 * v[1] + c02 * v[2]) / det,
            (c01 * v[0] + c11 * v[1] + c12 * v[2]) / det,
            (c02 * v[0] + c12 * v[1] + c22 * v[2]) / det)
