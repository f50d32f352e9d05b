"""A wild bearing a fit with few spare rows keeps: the chance of one, for the stated ellipse.

A fit with spare rows finds a gross error only through its residuals. A row's error ``e`` (in
its own sds) leaves the least-squares residual ``r_i e``, ``r_i = 1 - h_i`` the row's
*redundancy number* (``h_i = J_i A⁻¹ J_iᵀ`` its leverage; a group's ``r_i`` sum to its degrees
of freedom), whose sd under the model is ``√r_i``: the standardised residual is ``e √r_i``,
and an error is found when that exceeds ``outlier_sigma`` (Baarda's reliability: the
smallest error a test at that level detects, the *minimal detectable bias*, is
``outlier_sigma / √r_i``). In fits of three or four rows ``r_i`` is small and errors several
times the bearing's sd stay. The kept error moves the fit by ``A⁻¹ J_iᵀ e``, whose squared
Mahalanobis length against the fix's covariance is ``s_i e²``; the truth leaves the ellipse
drawn ``k`` times the 95 % one once ``s_i e² > k χ²₂(0.95)``. So a wild bearing in row ``i``
spoils that ellipse with probability

    ``u_i(k) = P(√(k χ²₂(0.95) / s_i) < |e| < outlier_sigma / √r_i)``,  ``e ~ N(0, (σ_w/σ_i)²)``

(``σ_w`` the wild bearings' spread, ``wild_bearing_sd_deg``; ``σ_i`` the bearing's sd), and
the fix is unspoilt with probability ``Π_i (1 - ε u_i)`` over its inlying bearings, ``ε`` the
share of bearings the batch's redundant fits reject (:func:`~.dispersion.stated_by_day`; a
floor of the wild rate: the wild bearings no fit found are not in it). Its ellipse is drawn
at the level ``q`` with ``q Π_i (1 - ε u_i(k_q)) = 0.95``, ``k_q = ln(1 - q) / ln 0.05`` (at
most ``max_level``). With no spare row ``r_i = 0``: every wild error the ellipse does not hold
counts (there the rule is
:func:`~.locate.heavy_tail_factor`'s and the dispersion's, which count every wild bearing);
with many, ``r_i → 1`` and the window closes. Left out: the noise on the residual, the robust
loss (which rejects more than the least-squares test), and that with one spare row a found
error cannot be told from the other rows' (the fit may reject a good one): there this states
too little (docs/fusion.md, "Ellipses": "A wild bearing a fit with few spare rows keeps").
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy.special import ndtr

from truceline.core.fusion import locate_kernels as lk
from truceline.core.fusion.batch import FireBatch
from truceline.core.fusion.locate import (
    CHI2_95_2DOF,
    Fixes,
    LocateParams,
    measurement_rows,
    normal_equations,
    residuals,
)

__all__ = ["spoil_chance", "wild_level"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


def spoil_chance(r: F64, s: F64, kappa: F64, outlier_sigma: float, grow: F64 | float = 1.0
                 ) -> F64:
    """``u_i``: the chance that a wild error ``e ~ N(0, kappa²)`` (in the row's sds) in a row
    of redundancy ``r`` stays in the fit (``|e| √r <= outlier_sigma``) and moves it beyond
    its ellipse, the 95 % one grown ``grow`` times (``s e² > grow χ²₂(0.95)``). Three equal
    rows (``r = 1/3``, ``s = 2/3``) and a 40° spread over 2° bearings: 0.119.

    >>> spoil_chance(np.array([0.0, 1/3, 1.0]), np.array([1.0, 2/3, 0.0]), np.full(3, 20.0), 3.5
    ...              ).round(3).tolist()
    [0.903, 0.119, 0.0]
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        hi = np.where(r > 0, outlier_sigma / np.sqrt(r), np.inf) / kappa
        lo = np.where(s > 0, np.sqrt(grow * CHI2_95_2DOF / s), np.inf) / kappa
    return np.asarray(np.clip(2.0 * (ndtr(hi) - ndtr(np.minimum(lo, hi))), 0.0, 1.0), float)


def wild_level(b: FireBatch, labels: I64, fixes: Fixes, p: LocateParams, rate: F64,
               which: NDArray[np.bool_]) -> F64:
    """For each group ``which`` selects, the level ``q`` its ellipse is drawn at so that it
    covers the truth 95 % of the time counting a wild bearing the fit kept:
    ``q Π_i (1 - rate u_i) = 0.95`` over its inlying bearings (:func:`spoil_chance`, with the
    ellipse the level draws, ``ln(1 - q) / ln 0.05`` times the 95 % one: a kept error the
    wider ellipse still holds spoils nothing), at most ``max_level``; ``rate`` each group's
    wild rate; 0.95 elsewhere. The rows are read as the covariance reads them (``for_cov``: a
    band by its Gaussian), at the fix."""
    G = len(fixes.x)
    out = np.full(G, 0.95)
    if not which.any():
        return out
    rw, _ = measurement_rows(b, labels)
    x, y, t0 = (np.nan_to_num(np.asarray(v, float)) for v in (fixes.x, fixes.y, fixes.t0))
    r, _ = residuals(rw, p, x, y, t0, jac=False)
    _, J = residuals(rw, p, x, y, t0, for_cov=True)
    ok = np.isfinite(r) & np.isfinite(J).all(axis=1) & which[rw.g]
    inlier = ok & (np.abs(r) <= p.outlier_sigma)
    J = np.where(inlier[:, None], J, 0.0)
    A, _ = normal_equations(np.zeros(len(r)), J, inlier.astype(float), rw.g, G)
    has_t = np.bincount(rw.g, inlier & (rw.typ == lk.ARR), minlength=G) > 0
    A[:, 2, 2] += np.where(has_t, 0.0, 1.0)  # no arrival: the emission time is no unknown
    A += np.eye(3) * 1e-12 * np.maximum(np.trace(A, axis1=1, axis2=2), 1e-300)[:, None, None]
    brg = np.flatnonzero(inlier & (rw.typ == lk.BRG))
    if not len(brg):
        return out
    g = rw.g[brg]
    C = np.asarray(fixes.cov, float)[g]
    with np.errstate(all="ignore"):
        Ai = np.linalg.inv(A)  # regularised above, as group_chi2's solve
        q = np.einsum("nij,nj->ni", Ai[g], J[brg])  # the fit's move per unit error of the row
        # against the fix's (2, 2) covariance, inverted in closed form (a degenerate one: NaN)
        det = C[:, 0, 0] * C[:, 1, 1] - C[:, 0, 1] * C[:, 1, 0]
        s = (C[:, 1, 1] * q[:, 0] ** 2 - (C[:, 0, 1] + C[:, 1, 0]) * q[:, 0] * q[:, 1]
             + C[:, 0, 0] * q[:, 1] ** 2) / np.where(det > 0, det, np.nan)
    red = np.clip(1.0 - np.einsum("ni,ni->n", J[brg], q), 0.0, 1.0)
    s = np.where(np.isfinite(s), s, 0.0)
    kappa = np.radians(p.wild_bearing_sd_deg) / rw.sd[brg]
    eps = np.minimum(rate[g], 0.5)

    def covers(level: F64) -> F64:  # q Π (1 - ε u_i(q)) per group
        grow = np.log1p(-level) / np.log(0.05)
        u = spoil_chance(red, s, kappa, p.outlier_sigma, grow[g])
        u = np.where(np.isfinite(u), u, 0.0)  # a row whose fit is degenerate: not counted
        return level * np.exp(np.bincount(g, np.log1p(-eps * u), minlength=G))

    lo, hi = np.full(G, 0.95), np.full(G, p.max_level)
    for _ in range(30):  # bisection: both factors rise with the level
        mid = 0.5 * (lo + hi)
        short = covers(mid) < 0.95
        lo, hi = np.where(short, mid, lo), np.where(short, hi, mid)
    out[which] = np.where(covers(np.full(G, p.max_level)) < 0.95, p.max_level, hi)[which]
    return out
