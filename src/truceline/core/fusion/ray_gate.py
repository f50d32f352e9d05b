"""A bearing's distance band read as a stretch of its ray, in the grouping gate.

A monitor's "outgoing, 5-10 km at 95°" says: the angle to the event is 95° give or take the
bearing's error, and the distance the monitor *judged* lies in 5-10 km, the judgement off by
a factor (log-normal, ~25 %). The candidate Gaussian (:func:`.batch.candidates`) reads it as
one ellipse about the band's middle: symmetric along the ray where the judgement is a
factor (an event 16 km off is judged "5-10 km" about as often as one 4 km off is), and as
wide across the ray at the near edge as at the middle. Here the band is what it says: in
polar terms about the observer, a residual in angle (the bearing's sd, plus a 50 m floor)
and one in log-distance, zero inside the band and the judgement's sd outside it.

The pair test (:func:`joint_m2`) is the least squares of both units' residuals at the best
common point: two residuals per unit, two unknowns, so the same two degrees of freedom and
the same chi-square bound as the Gaussian gate of two ellipses (for two Gaussians it *is*
that gate: the minimum of the two quadratic forms is the Mahalanobis distance of the summed
covariances). A few Levenberg-Marquardt steps, stopped once the sum is under the bound; a
search that stops short can only make the test stricter, never pass a pair.

The test is tried only where the Gaussian gate with the band's covariance multiplied by
:data:`CAP` passes (:func:`.kernels.gate_values`), and each band's reach (the bound the
searches use, :func:`.kernels.reach2_of`) is multiplied by the same: so the pairs a search
leaves out still fail the gate, and a band never pairs with what lies far off its
Gaussian, whatever the polar residuals say.
"""

from __future__ import annotations

import math

from numba import njit

__all__ = ["CAP", "FLOOR_M", "joint_m2"]

#: How far past its Gaussian a band's polar test may reach: the band's covariance times this
#: still passes the Gaussian gate (pairs measured on three 7-day weeks: BENCHMARKS.md).
CAP = 2.0
#: Floor of a polar residual's sd, in metres at the event's distance (as the candidates').
FLOOR_M = 50.0
_STEPS = 20


@njit(cache=True, inline="always", error_model="numpy")
def _resid(px: float, py: float, mx: float, my: float, sxx: float, sxy: float, syy: float,
           ox: float, oy: float, sd: float, lo: float, hi: float, jd: float
           ) -> tuple[float, float, float, float, float, float]:
    """One unit's two residuals at ``(px, py)`` and their gradients (rows of the Jacobian):
    a band's polar ones where ``lo`` (log of its near edge) is a number, else the
    Gaussian's whitened by its Cholesky factor."""
    if not math.isfinite(lo):
        l11 = math.sqrt(sxx)
        l21 = sxy / l11
        l22 = math.sqrt(max(syy - l21 * l21, 1e-9))
        e1 = (px - mx) / l11
        e2 = (py - my - l21 * e1) / l22
        return e1, e2, 1.0 / l11, 0.0, -l21 / (l11 * l22), 1.0 / l22
    ux, uy = mx - ox, my - oy  # the ray: the candidate lies on it
    vx, vy = px - ox, py - oy
    r2 = max(vx * vx + vy * vy, 1.0)
    r = math.sqrt(r2)
    th = math.atan2(ux * vy - uy * vx, ux * vx + uy * vy)
    fl = FLOOR_M / r
    st = math.sqrt(sd * sd + fl * fl)
    sl = math.sqrt(jd * jd + fl * fl)
    lr = math.log(r)
    dl = lr - lo if lr < lo else (lr - hi if lr > hi else 0.0)
    g = 0.0 if dl == 0.0 else 1.0 / (r2 * sl)
    return th / st, dl / sl, -vy / (r2 * st), vx / (r2 * st), vx * g, vy * g


@njit(cache=True, inline="always", error_model="numpy")
def _normal(px: float, py: float, mxi: float, myi: float, sxxi: float, sxyi: float,
            syyi: float, oxi: float, oyi: float, sdi: float, loi: float, hii: float,
            jdi: float, mxj: float, myj: float, sxxj: float, sxyj: float, syyj: float,
            oxj: float, oyj: float, sdj: float, loj: float, hij: float, jdj: float
            ) -> tuple[float, float, float, float, float, float]:
    """Both units' sum of squared residuals at ``(px, py)``, the normal matrix ``J^T J``
    (``h11, h12, h22``) and the gradient ``J^T e`` (``g1, g2``)."""
    e1, e2, a11, a12, a21, a22 = _resid(px, py, mxi, myi, sxxi, sxyi, syyi, oxi, oyi, sdi,
                                        loi, hii, jdi)
    f1, f2, b11, b12, b21, b22 = _resid(px, py, mxj, myj, sxxj, sxyj, syyj, oxj, oyj, sdj,
                                        loj, hij, jdj)
    return (e1 * e1 + e2 * e2 + f1 * f1 + f2 * f2,
            a11 * a11 + a21 * a21 + b11 * b11 + b21 * b21,
            a11 * a12 + a21 * a22 + b11 * b12 + b21 * b22,
            a12 * a12 + a22 * a22 + b12 * b12 + b22 * b22,
            a11 * e1 + a21 * e2 + b11 * f1 + b21 * f2,
            a12 * e1 + a22 * e2 + b12 * f1 + b22 * f2)


@njit(cache=True, error_model="numpy")
def joint_m2(mxi: float, myi: float, sxxi: float, sxyi: float, syyi: float, oxi: float,
             oyi: float, sdi: float, loi: float, hii: float, jdi: float, mxj: float,
             myj: float, sxxj: float, sxyj: float, syyj: float, oxj: float, oyj: float,
             sdj: float, loj: float, hij: float, jdj: float, stop: float) -> float:
    """The least sum of both units' squared residuals over a common point (module
    docstring), or the first sum found at or under ``stop``: a band's (``lo``, ``hi`` the
    logs of its edges in metres, ``sd`` its bearing's sd in radians, ``jd`` the judgement's
    log sd) or a Gaussian's (``lo`` NaN) residuals.

    Levenberg-Marquardt from the best of three starts (the Gaussians' product mean and each
    candidate's mean: two rays' crossing may lie far from where their ellipses meet). The
    result never lies under the true least sum, so a pair it passes passes the test."""
    a, b, c = sxxi + sxxj, sxyi + sxyj, syyi + syyj
    det = a * c - b * b
    dx, dy = mxj - mxi, myj - myi
    wx, wy = (c * dx - b * dy) / det, (a * dy - b * dx) / det
    px, py = mxi + sxxi * wx + sxyi * wy, myi + sxyi * wx + syyi * wy
    best, bx, by = math.inf, px, py
    for k in range(3):
        if k == 1:
            px, py = mxi, myi
        elif k == 2:
            px, py = mxj, myj
        f = _normal(px, py, mxi, myi, sxxi, sxyi, syyi, oxi, oyi, sdi, loi, hii, jdi, mxj,
                    myj, sxxj, sxyj, syyj, oxj, oyj, sdj, loj, hij, jdj)[0]
        if f < best:
            best, bx, by = f, px, py
    lam = 1e-3
    for _ in range(_STEPS):
        if not best > stop:
            break
        f, h11, h12, h22, g1, g2 = _normal(bx, by, mxi, myi, sxxi, sxyi, syyi, oxi, oyi, sdi,
                                           loi, hii, jdi, mxj, myj, sxxj, sxyj, syyj, oxj,
                                           oyj, sdj, loj, hij, jdj)
        moved = False
        while lam < 1e8:
            k11, k22 = h11 * (1.0 + lam), h22 * (1.0 + lam)
            dh = k11 * k22 - h12 * h12
            if not dh > 0.0:
                break
            nx = bx - (k22 * g1 - h12 * g2) / dh
            ny = by - (k11 * g2 - h12 * g1) / dh
            fn = _normal(nx, ny, mxi, myi, sxxi, sxyi, syyi, oxi, oyi, sdi, loi, hii, jdi,
                         mxj, myj, sxxj, sxyj, syyj, oxj, oyj, sdj, loj, hij, jdj)[0]
            if fn < best:
                best, bx, by, moved = fn, nx, ny, True
                lam *= 0.3
                break
            lam *= 10.0
        if not moved:
            break
    return best
