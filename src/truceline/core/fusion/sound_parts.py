"""Which of a group's near parts one array's sound could be the other sound of, in one search.

:mod:`.heard_other` tests each vague arrival group against the dozen located parts near it
in time and place: some point of the polar grid around the array must fit the arrivals
(:func:`.sound_grid.fitting`) and be one flight from the part (:func:`.sound_grid.fits`).
Listing every fitting point first (~2,000 a group of two arrivals) and testing each part
against them was ~10 % of a check. :func:`fits_parts` walks the grid once for all the parts:
a block of directions is computed only where the arrivals' bound (:func:`.sound_grid.fitting`'s)
passes and some part not yet taken could pass a class's flight from it (the bound of
:func:`.sound_grid.fits_grid`); its points are :func:`.sound_grid.fitting`'s, bit for bit,
each tested as :func:`.sound_grid.fits` tests it, so each part's answer is the listed one's.
It stops once ``most`` parts have passed (a join needs exactly one).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit
from numpy.typing import NDArray

from truceline.core.fusion.sound_grid import (
    COARSE,
    FINE,
    _block_may_fit,
    _block_mid,
    _fit_one,
    _part_may,
    _point,
    _slopes,
    _spread,
)

__all__ = ["fits_parts"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


@njit(cache=True, error_model="numpy")
def _may(cx: float, cy: float, r: float, j0: int, j1: int, sin_az: F64, cos_az: F64,
         step: float, rho: F64, sx: F64, sy: F64, a: F64, k: F64, c: float, wu: float,
         wv: float, sd: float, w: float, kc: float, wk: float, eps: F64, e: F64, d: F64,
         x: F64, y: F64, sig: F64, lo: F64, hi: F64, role: I64, windows: F64,
         done: NDArray[np.bool_], pairs: I64, n: int, out: I64) -> int:
    """The (part, window) pairs (``part * W + window``) of ``pairs[:n]`` whose part is not
    taken yet and whose flight the block ``j0:j1`` of range ``r`` may pass
    (:func:`.sound_grid._may_fit`: its block's part made once, not once a pair), into
    ``out``; how many."""
    got, W = 0, windows.shape[0]
    held, px, py, arc, t0, sa, s_hi = _block_mid(cx, cy, r, j0, j1, sin_az, cos_az, step, rho,
                                                 sx, sy, a, k, c, wu, wv, sd, w, kc, wk, e, d)
    for t in range(n):
        q, v = pairs[t] // W, pairs[t] % W
        if done[q]:
            continue
        if not held or _part_may(px, py, arc, t0, sa, s_hi, eps[q], x[q], y[q], sig[q], lo[q],
                                 hi[q], role[q], windows[v, 0], windows[v, 1], windows[v, 2]):
            out[got] = pairs[t]
            got += 1
    return got


@njit(cache=True, error_model="numpy")
def _ring(r: float, far: F64, pad: F64, sig: F64, windows: F64, done: NDArray[np.bool_],
          held: I64, n_held: int, out: I64) -> int:
    """The pairs of ``held[:n_held]`` whose part is not taken and that some point of range
    ``r`` may be within the class's range of (``far``: each part's distance from the
    array's middle; every point of the ring is at least ``|far - r|`` from it, less ``pad``
    for the rounding), into ``out``; how many. Most of a ring's pairs fail there (the 3-day
    store: 64 % of one arrival's), each block of it tested them all."""
    got, W = 0, windows.shape[0]
    for t in range(n_held):
        q, v = held[t] // W, held[t] % W
        if done[q] or abs(far[q] - r) - pad[q] - 1e-9 * r > windows[v, 0] + 3.0 * sig[q]:
            continue
        out[got] = held[t]
        got += 1
    return got


@njit(cache=True, error_model="numpy")
def _free(done: NDArray[np.bool_], free: I64, n_free: int, W: int, out: I64, at: int) -> int:
    """The pairs no bound holds for (``free[:n_free]``) whose part is not taken, appended to
    ``out`` from ``at``; the new count."""
    for t in range(n_free):
        if not done[free[t] // W]:
            out[at] = free[t]
            at += 1
    return at


def fits_parts(cx: float, cy: float, rr: F64, sin_az: F64, cos_az: F64, sx: F64, sy: F64,
               a: F64, k: F64, c: float, wu: float, wv: float, sd: float, chi_max: float,
               w: float, x: F64, y: F64, sig: F64, lo: F64, hi: F64, role: I64, windows: F64,
               use: NDArray[np.bool_], most: int) -> NDArray[np.bool_]:
    """For each part ``(x[q], y[q], sig[q], lo[q], hi[q], role[q])``: :func:`.sound_grid.fits`
    of :func:`.sound_grid.fitting`'s points (its arguments first) over the classes
    ``windows[use[q]]``, all parts in one walk of the grid; once ``most`` parts have passed
    the others are left False. At most :data:`.sound_grid.SHORT` arrivals (``fitting``'s
    sums); one arrival fits every point, as :func:`.sound_grid.fits_grid` takes it."""
    return np.asarray(_fits_parts(cx, cy, rr, sin_az, cos_az, sx, sy, a, k, c, wu, wv, sd,
                                  chi_max, w, x, y, sig, lo, hi, role, windows, use, most))


@njit(cache=True, error_model="numpy")
def _fits_parts(cx: float, cy: float, rr: F64, sin_az: F64, cos_az: F64, sx: F64, sy: F64,
               a: F64, k: F64, c: float, wu: float, wv: float, sd: float, chi_max: float,
               w: float, x: F64, y: F64, sig: F64, lo: F64, hi: F64, role: I64, windows: F64,
               use: NDArray[np.bool_], most: int) -> NDArray[np.bool_]:
    """:func:`fits_parts`, compiled."""
    m, naz, P, W = len(sx), len(sin_az), len(x), windows.shape[0]
    done = np.zeros(P, np.bool_)
    e, d, eb, db = np.empty(m), np.empty(m), np.empty(m), np.empty(m)
    reach, amax = _spread(cx, cy, sx, sy, a)
    wn = math.hypot(wu, wv)
    # the arrivals' bound where fitting's holds, the flight's where fits_grid's does
    bound = (m >= 2 and sd > 0.0 and c - wn > 0.0 and k.min() > 0.0
             and math.isfinite(reach + amax + c + wn + chi_max + k.max()))
    flight = (m >= 1 and c - wn > 0.0 and k.min() > 0.0
              and math.isfinite(reach + amax + c + wn + k.max() + cx + cy + w + sd))
    A, B = _slopes(sx, sy, k, c, wn)
    rho = np.hypot(sx - cx, sy - cy)
    kc = k.min() * (c - wn)
    wk = wn / (kc * (c - wn))
    eps_chi = 1e-9 + 1e-14 * (amax + 1e3)
    step = 2.0 * math.pi / naz
    eps = np.empty(P)
    held, free = np.empty(P * W, np.int64), np.empty(P * W, np.int64)
    n_held, n_free = 0, 0
    for q in range(P):
        eps[q] = 1e-6 + 1e-12 * (amax + abs(lo[q]) + abs(hi[q]))
        for v in range(W):
            if not use[q, v]:
                continue
            rng, v_lo, v_hi = windows[v, 0], windows[v, 1], windows[v, 2]
            if flight and math.isfinite(x[q] + y[q] + sig[q] + lo[q] + hi[q] + rng + v_lo
                                        + v_hi) and min(rng, v_lo, v_hi) > 0.0:
                held[n_held] = q * W + v
                n_held += 1
            else:
                free[n_free] = q * W + v
                n_free += 1
    coarse, fine = np.empty(P * W, np.int64), np.empty(P * W, np.int64)
    apart, ring = np.hypot(x - cx, y - cy), np.empty(P * W, np.int64)
    pad = 1e-3 + 1e-9 * (abs(cx) + abs(cy) + apart)
    got = 0
    for i in range(len(rr)):
        r = rr[i]
        n_ring = _ring(r, apart, pad, sig, windows, done, held, n_held, ring)
        far = bound and r - reach > 1.0
        near = bound and not far
        s = reach / r
        for jc0 in range(0, naz, COARSE):
            jc1 = min(naz, jc0 + COARSE)
            if not _block_may_fit(far, near, cx, cy, r, jc0, jc1, sin_az, cos_az, step, s,
                                  rho, sx, sy, a, k, c, wu, wv, sd, chi_max, A, B, kc, wk,
                                  eps_chi, eb, db):
                continue
            n1 = _may(cx, cy, r, jc0, jc1, sin_az, cos_az, step, rho, sx, sy, a, k, c, wu, wv,
                      sd, w, kc, wk, eps, eb, db, x, y, sig, lo, hi, role, windows, done,
                      ring, n_ring, coarse)
            if n1 == 0 and _free(done, free, n_free, W, fine, 0) == 0:
                continue
            for jf0 in range(jc0, jc1, FINE):
                jf1 = min(jc1, jf0 + FINE)
                if not _block_may_fit(far, near, cx, cy, r, jf0, jf1, sin_az, cos_az, step,
                                      s, rho, sx, sy, a, k, c, wu, wv, sd, chi_max, A, B, kc,
                                      wk, eps_chi, eb, db):
                    continue
                n2 = _may(cx, cy, r, jf0, jf1, sin_az, cos_az, step, rho, sx, sy, a, k, c, wu,
                          wv, sd, w, kc, wk, eps, eb, db, x, y, sig, lo, hi, role, windows,
                          done, coarse, n1, fine)
                n2 = _free(done, free, n_free, W, fine, n2)
                for j in range(jf0, jf1):
                    if n2 == 0:
                        break
                    px, py = cx + r * sin_az[j], cy + r * cos_az[j]
                    ok, t0, t_sd = _point(px, py, sx, sy, a, k, c, wu, wv, sd, chi_max, w, e, d)
                    if not ok:
                        continue
                    for t in range(n2):
                        q, v = fine[t] // W, fine[t] % W
                        if done[q] or not _fit_one(px, py, t0, t_sd, x[q], y[q], sig[q], lo[q],
                                                   hi[q], role[q], windows[v, 0],
                                                   windows[v, 1], windows[v, 2]):
                            continue
                        done[q] = True
                        got += 1
                        if got >= most:
                            return done
    return done
