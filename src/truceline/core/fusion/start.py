"""Starting points for the fixes: where the batched refinement in :mod:`.locate` begins.

The refinement's Cauchy loss is not convex, so it needs a start near the answer: a weighted
linear solve of bearing lines, band middles and points (refined with the convex Huber loss
first), the linear (Bancroft) solution for four or more arrival times alone, and for three or
more bearings the crossing that most others agree on (refined with Cauchy straight away).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit
from numpy.typing import NDArray

from truceline.core.fusion.batch import Candidates, FireBatch

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


def _start(b: FireBatch, cd: Candidates, labels: I64, G: int, use_band: NDArray[np.bool_]
           ) -> tuple[F64, F64]:
    """Weighted linear least squares: bearing lines, band middles, points, a weak prior."""
    cnt = np.bincount(labels, minlength=G).astype(float)
    ok = cd.ok
    cm = np.maximum(np.bincount(labels, ok.astype(float), minlength=G), 1.0)
    mx0 = np.bincount(labels, np.where(ok, cd.mx, 0.0), minlength=G) / cm
    my0 = np.bincount(labels, np.where(ok, cd.my, 0.0), minlength=G) / cm
    w0 = np.where(cnt > 0, 1.0 / 20_000.0**2, 0.0)
    a11, a12, a22 = w0.copy(), np.zeros(G), w0.copy()
    b1, b2 = w0 * mx0, w0 * my0

    def add(idx: I64, nx: F64, ny: F64, rhs: F64, w: F64) -> None:
        nonlocal a11, a12, a22, b1, b2
        gg = labels[idx]
        a11 = a11 + np.bincount(gg, w * nx * nx, minlength=G)
        a12 = a12 + np.bincount(gg, w * nx * ny, minlength=G)
        a22 = a22 + np.bincount(gg, w * ny * ny, minlength=G)
        b1 = b1 + np.bincount(gg, w * nx * rhs, minlength=G)
        b2 = b2 + np.bincount(gg, w * ny * rhs, minlength=G)

    ib = np.flatnonzero(np.isfinite(b.brg) & np.isfinite(b.ox))
    if len(ib):
        th = b.brg[ib]
        nx, ny = np.cos(th), -np.sin(th)
        rho = np.hypot(mx0[labels[ib]] - b.ox[ib], my0[labels[ib]] - b.oy[ib])
        w = 1.0 / (np.maximum(rho, 200.0) * b.brg_sd[ib]) ** 2
        add(ib, nx, ny, nx * b.ox[ib] + ny * b.oy[ib], w)
    ik = np.flatnonzero(use_band & np.isfinite(b.dmin) & np.isfinite(b.dmax))
    if len(ik):
        ux, uy = np.sin(b.brg[ik]), np.cos(b.brg[ik])
        mid = (b.dmin[ik] + b.dmax[ik]) / 2
        w = 1.0 / ((b.dmax[ik] - b.dmin[ik]) ** 2 / 12.0 + (0.25 * mid) ** 2 + 100.0**2)
        add(ik, ux, uy, ux * b.ox[ik] + uy * b.oy[ik] + mid, w)
    ip = np.flatnonzero(~(np.isfinite(b.brg) & np.isfinite(b.ox)) & np.isfinite(b.ex))
    if len(ip):
        w = 1.0 / b.esd[ip] ** 2
        one, zero = np.ones(len(ip)), np.zeros(len(ip))
        add(ip, one, zero, b.ex[ip], w)
        add(ip, zero, one, b.ey[ip], w)
    det = a11 * a22 - a12 * a12
    good = det > 0
    x = np.where(good, (a22 * b1 - a12 * b2) / np.where(good, det, 1.0), mx0)
    y = np.where(good, (a11 * b2 - a12 * b1) / np.where(good, det, 1.0), my0)
    return x, y


def _best_crossing(
    b: FireBatch, labels: I64, G: int, cap: int, c: float
) -> tuple[F64, F64, NDArray[np.bool_]]:
    """Robust start: of all crossings of two bearings, the one the group's bearings agree on.

    Every crossing (ahead of both observers, at 10 degrees or more) is scored by the truncated
    squared residuals ``min(r^2, c^2)`` of all the group's bearings there (a vote of inliers, as
    in RANSAC), and the cheapest wins; a wild bearing's crossings are far from the others' rays
    and lose. Rows up to ``cap`` apart in group order are paired
    and scored, which is all of them in groups of up to ``cap``. Groups with fewer than three
    bearings get none (``ok`` False): two bearings have one crossing and nothing to vote.
    """
    ib = np.flatnonzero(np.isfinite(b.brg) & np.isfinite(b.ox))
    ib = ib[np.argsort(labels[ib], kind="stable")]
    gb = labels[ib]
    nb = np.bincount(gb, minlength=G)
    xs, ys, gs = [], [], []
    for d in range(1, cap):
        i, j = ib[:-d], ib[d:]
        same = gb[:-d] == gb[d:]
        i, j = i[same], j[same]
        if not len(i):
            break
        u1x, u1y, u2x, u2y = np.sin(b.brg[i]), np.cos(b.brg[i]), np.sin(b.brg[j]), np.cos(b.brg[j])
        cross = u1x * u2y - u1y * u2x
        wx, wy = b.ox[j] - b.ox[i], b.oy[j] - b.oy[i]
        ok = np.abs(cross) > np.sin(np.radians(10.0))
        den = np.where(ok, cross, 1.0)
        s1 = (wx * u2y - wy * u2x) / den
        s2 = (wx * u1y - wy * u1x) / den
        ok &= (s1 > 0) & (s2 > 0) & (nb[labels[i]] >= 3)
        xs.append((b.ox[i] + s1 * u1x)[ok])
        ys.append((b.oy[i] + s1 * u1y)[ok])
        gs.append(labels[i][ok])
    none = (np.zeros(G), np.zeros(G), np.zeros(G, bool))
    if not gs or not sum(len(g) for g in gs):
        return none
    x, y, g = np.concatenate(xs), np.concatenate(ys), np.concatenate(gs)
    # score each crossing against (up to cap of) its group's bearings
    first = np.concatenate([[0], np.cumsum(nb)[:-1]])
    m = np.minimum(nb[g], cap)
    k = np.repeat(np.arange(len(g)), m)
    row = ib[first[g[k]] + (np.arange(len(k)) - np.repeat(np.cumsum(m) - m, m))]
    az = np.arctan2(x[k] - b.ox[row], y[k] - b.oy[row])
    res = (np.mod(az - b.brg[row] + np.pi, 2 * np.pi) - np.pi) / b.brg_sd[row]
    cost = np.bincount(k, np.minimum(res * res, c * c), minlength=len(g))
    order = np.lexsort((cost, g))
    best = order[np.r_[True, g[order][1:] != g[order][:-1]]]
    out_x, out_y, ok = np.zeros(G), np.zeros(G), np.zeros(G, bool)
    out_x[g[best]], out_y[g[best]], ok[g[best]] = x[best], y[best], True
    return out_x, out_y, ok


def _bancroft(b: FireBatch, labels: I64, G: int, x: F64, y: F64) -> tuple[F64, F64]:
    """Linear start for groups of arrival times only (four or more): unknowns x, y, t0, R
    (:func:`_bancroft_kernel`)."""
    if not len(labels):
        return x, y
    return _bancroft_kernel(b.ox, b.oy, b.arr, b.c, b.wu, b.wv, b.brg, b.ex,
                            np.asarray(labels, np.int64), G, np.asarray(x, float),
                            np.asarray(y, float))


@njit(cache=True, error_model="numpy")
def _bancroft_kernel(ox: F64, oy: F64, arr: F64, c: F64, wu: F64, wv: F64, brg: F64, ex: F64,
                     labels: I64, G: int, x: F64, y: F64) -> tuple[F64, F64]:
    """Per group of four or more arrival times and nothing else: with sensor offsets ``s``
    and arrival offsets ``a`` from the group's first sensor, ``|p - s|^2 = c^2 (t0 - a)^2``
    is linear in ``(p, t0, R)`` once ``R = |p|^2 - c^2 t0^2`` is a fourth unknown (in a wind,
    ``p`` the origin drifted back to the first arrival and ``s`` drifted alike); its least
    squares (scaled by 1/1000 for conditioning, a 1e-9 ridge) is the start, kept when finite,
    within 200 km and no worse a fit of the arrivals than the start it would replace."""
    n = len(labels)
    na = np.zeros(G, np.int64)
    other = np.zeros(G, np.int64)
    first = np.full(G, -1, np.int64)
    csum = np.zeros(G)
    wus = np.zeros(G)
    wvs = np.zeros(G)
    for i in range(n):
        g = labels[i]
        if math.isfinite(arr[i]) and math.isfinite(ox[i]):
            na[g] += 1
            csum[g] += c[i]
            wus[g] += wu[i]
            wvs[g] += wv[i]
            if first[g] < 0:
                first[g] = i
        if math.isfinite(brg[i]) or math.isfinite(ex[i]):
            other[g] += 1
    A = np.zeros((G, 4, 4))
    v = np.zeros((G, 4))
    col = np.empty(4)
    for i in range(n):
        g = labels[i]
        if na[g] < 4 or other[g] > 0 or not (math.isfinite(arr[i]) and math.isfinite(ox[i])):
            continue
        f = first[g]
        cg = csum[g] / na[g]
        # in a steady wind the wavefront is a circle whose centre drifts with the wind: the
        # sensor moved back by the drift since the first arrival makes the model Bancroft's
        # again, about the drifted origin ``q = p - w t0``
        a = arr[i] - arr[f]
        sx = ox[i] - ox[f] - wus[g] / na[g] * a
        sy = oy[i] - oy[f] - wvs[g] / na[g] * a
        col[0], col[1], col[2], col[3] = -2 * sx, -2 * sy, 2 * cg * cg * a, 1.0
        rhs = (cg * cg * a * a - sx * sx - sy * sy) / 1000.0
        for j in range(4):
            col[j] /= 1000.0
        for j in range(4):
            v[g, j] += col[j] * rhs
            for k in range(4):
                A[g, j, k] += col[j] * col[k]
    x, y = x.copy(), y.copy()
    bx, by = np.full(G, np.nan), np.full(G, np.nan)
    M = np.empty((4, 5))
    sol = np.empty(4)
    for g in range(G):
        if na[g] < 4 or other[g] > 0:
            continue
        for j in range(4):
            for k in range(4):
                M[j, k] = A[g, j, k] + (1e-9 if j == k else 0.0)
            M[j, 4] = v[g, j]
        for j in range(4):  # Gaussian elimination, partial pivoting
            p = j
            for r in range(j + 1, 4):
                if abs(M[r, j]) > abs(M[p, j]):
                    p = r
            if p != j:
                for k in range(5):
                    M[j, k], M[p, k] = M[p, k], M[j, k]
            for r in range(j + 1, 4):
                m = M[r, j] / M[j, j]
                for k in range(j, 5):
                    M[r, k] -= m * M[j, k]
        for j in range(3, -1, -1):
            t = M[j, 4]
            for k in range(j + 1, 4):
                t -= M[j, k] * sol[k]
            sol[j] = t / M[j, j]
        ok = True
        for j in range(4):
            ok = ok and math.isfinite(sol[j])
        if ok and math.hypot(sol[0], sol[1]) < 200_000.0:
            bx[g] = sol[0] + wus[g] / na[g] * sol[2] + ox[first[g]]
            by[g] = sol[1] + wvs[g] / na[g] * sol[2] + oy[first[g]]
    # With four or five arrivals the linear system is (nearly) exactly determined and a
    # jitter of 10 ms can throw it tens of km off, where the solver then settles on a far
    # spurious fit: keep it only where it explains the arrivals better than the other start
    # (the spread of the emission times each arrival implies from there, with the sensor's
    # wind where it gave one: 0 where not).
    s1 = np.zeros((G, 2))
    s2 = np.zeros((G, 2))
    for i in range(n):
        g = labels[i]
        if not math.isfinite(bx[g]) or not (math.isfinite(arr[i]) and math.isfinite(ox[i])):
            continue
        cg = csum[g] / na[g]
        for k in range(2):
            px, py = (x[g], y[g]) if k == 0 else (bx[g], by[g])
            d = max(math.hypot(ox[i] - px, oy[i] - py), 1.0)
            e = arr[i] - d / (cg + (wu[i] * (ox[i] - px) + wv[i] * (oy[i] - py)) / d)
            s1[g, k] += e
            s2[g, k] += e * e
    for g in range(G):
        if math.isfinite(bx[g]):
            spread = s2[g] - s1[g] * s1[g] / na[g]
            if not math.isfinite(x[g]) or not math.isfinite(y[g]) or spread[1] <= spread[0]:
                x[g], y[g] = bx[g], by[g]
    return x, y
