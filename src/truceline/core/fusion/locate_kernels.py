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
