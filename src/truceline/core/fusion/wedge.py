"""A bearing's width across its ray at the range the fix is unsure of (its wedge).

A bearing says the source lies within ``σ`` of its ray, ``r σ`` across it at range ``r``;
the covariance ``(JᵀWJ)⁻¹`` reads that at the fix's own range ``r̂``. Where the fix is sure
of its range that is the truth's. Where it is not, the source lies at some other range,
and across the ray it is off by ``σ`` times that range: on average ``σ² E[r²] = σ² (r̂² +
var_r)``, ``var_r`` the fix's own variance along the ray. The linearised covariance states
``σ² r̂²`` alone, and at the ray's apex (two rays that cross behind one observer, whose band
reaches down to 0 km: the fit stops at the observer, ``r̂`` a metre or less) it states a
fix a few centimetres wide across the ray for a source hundreds of metres out. Where a fix
lies nearer a bearing's observer than its own largest sd, that bearing's row is read across
the ray as measured at ``max(r̂, sd_r)`` instead (``sd_r`` the fix's sd along the ray, from
its covariance plus the growth, to a fixed point); the growth added is kept positive
semi-definite (a row turned to the measured direction could otherwise narrow an ellipse a
little in one direction). docs/fusion.md, "Ellipses": "A bearing's wedge".
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from truceline.core.fusion import locate_kernels as lk
from truceline.core.fusion.batch import FireBatch
from truceline.core.fusion.locate import (
    Fixes,
    LocateParams,
    _marginal_xy,
    covariance_rows,
    measurement_rows,
    normal_equations,
)

__all__ = ["wedge_cov"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

#: Passes of the fixed point ``sd_r`` → covariance → ``sd_r`` (the first reads the rows at
#: ``r̂``; the third moves the ellipses of the apex fixes by under 1 %).
PASSES = 3


def wedge_cov(b: FireBatch, labels: I64, fixes: Fixes, cov: F64, p: LocateParams,
              use: NDArray[np.bool_]) -> F64:
    """What reading the near bearings at ``max(r̂, sd_r)`` adds to ``cov`` (G, 2, 2): the
    growth of the position block of ``(JᵀWJ)⁻¹``, its negative part dropped (the bearings
    only lose information), with ``sd_r`` read from ``cov`` plus that growth. Zero where ``use``
    is off, and for a fix on one bearing and its band (:mod:`.segment` states the band's
    moments across the ray)."""
    G = len(fixes.x)
    out = np.zeros((G, 2, 2))
    if not G or not len(labels):
        return out
    rw, _ = measurement_rows(b, labels)
    brg = rw.typ == lk.BRG
    rows = (np.bincount(rw.g, rw.typ != lk.BAND, minlength=G) >= 2) & np.asarray(use, bool)
    rows &= np.bincount(rw.g, brg, minlength=G) > 0
    rows &= np.isfinite(cov).all(axis=(1, 2))
    if not rows.any():
        return out
    x, y, t0 = (np.nan_to_num(np.asarray(v, float)) for v in (fixes.x, fixes.y, fixes.t0))
    has_t = np.bincount(rw.g, rw.typ == lk.ARR, minlength=G) > 0
    _, _, rc, J, wc, A = covariance_rows(rw, p, x, y, t0, has_t, G)
    with np.errstate(all="ignore"):
        base = _marginal_xy(A, has_t)
    r = np.sqrt(np.maximum((x[rw.g] - rw.ox) ** 2 + (y[rw.g] - rw.oy) ** 2, 1.0))
    ux, uy = np.sin(rw.val), np.cos(rw.val)  # along the ray as measured, not to the fix
    J = np.nan_to_num(J)
    # the rows whose fix lies nearer their observer than its own largest sd
    with np.errstate(all="ignore"):
        big = np.sqrt(np.linalg.eigvalsh(np.where(rows[:, None, None], cov, np.eye(2)))[:, 1])
    near = brg & rows[rw.g] & (r < big[rw.g])
    if not near.any():
        return out
    grow = np.zeros((G, 2, 2))
    r_eff = r.copy()
    for _ in range(PASSES):
        Jw = J.copy()
        Jw[near, 0] = uy[near] / (r_eff[near] * rw.sd[near])
        Jw[near, 1] = -ux[near] / (r_eff[near] * rw.sd[near])
        A2, _ = normal_equations(rc, Jw, wc, rw.g, G)
        with np.errstate(all="ignore"):
            wide = _marginal_xy(A2, has_t)
        d = wide - base
        ok = rows & np.isfinite(d).all(axis=(1, 2))
        C = cov + np.where(ok[:, None, None], d, 0.0)
        ok &= (C[:, 0, 0] > 0.0) & (C[:, 0, 0] * C[:, 1, 1] > C[:, 0, 1] ** 2)
        grow = np.where(ok[:, None, None], d, 0.0)
        C = cov + grow
        sd_r = np.sqrt(np.maximum(C[rw.g, 0, 0] * ux * ux + 2.0 * C[rw.g, 0, 1] * ux * uy
                                  + C[rw.g, 1, 1] * uy * uy, 0.0))
        r_eff = np.where(np.isfinite(sd_r), np.maximum(r, sd_r), r)
    w, v = np.linalg.eigh(grow)  # a shrink in one direction is the rows' turn, not data
    out[:] = np.einsum("gij,gj,gkj->gik", v, np.maximum(w, 0.0), v)
    return out
