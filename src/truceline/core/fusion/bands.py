"""Where a distance band placed a fix: its error stated about the fix's own point.

The fit reads a band as a flat-bottomed wall (zero inside, soft walls outside: a band limits
but does not pull a fix the bearings pin down), while the covariance ``(JᵀWJ)⁻¹`` reads it
as a Gaussian about its middle, sd ``sqrt(w²/12 + (frac · mid)²)`` (the band blurred by the
distance judgement). Where the bearings pin the point the two agree. Where they leave a
direction open (two nearly parallel rays, or two posts on either side of the line looking at
each other across a burst), the bands alone place the fix along it, and the fit stops
anywhere in their overlap, not where the covariance's own model puts the source: the
weighted middle of the bands. About the fit's point the mean squared error is then
``C + d dᵀ``, ``d`` the Gauss-Newton step from the fit to that model's least-squares point,
as :func:`~truceline.core.fusion.locate._two_roots` states a second crossing.
docs/fusion.md, "Ellipses": "A band's flat bottom places a fix anywhere in it".
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from truceline.core.fusion import locate_kernels as lk
from truceline.core.fusion.batch import FireBatch
from truceline.core.fusion.locate import (
    Fixes,
    LocateParams,
    covariance_rows,
    measurement_rows,
    normal_equations,
)

__all__ = ["band_step"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


def band_step(b: FireBatch, labels: I64, fixes: Fixes, p: LocateParams) -> F64:
    """``d dᵀ`` (G, 2, 2) for each located fix with a bounded band and at least two other
    rows (a lone bearing and its band is placed at the band's middle by :mod:`.segment`);
    zero elsewhere. The step is taken in the covariance's own weights (a rejected row at its
    robust weight, the bearings of a fix on one or two alone lowered by
    :func:`~truceline.core.fusion.locate.heavy_tail_factor`), so it is the step whose
    information ``(JᵀWJ)⁻¹`` states."""
    G = len(fixes.x)
    out = np.zeros((G, 2, 2))
    if not G or not len(labels):
        return out
    rw, _ = measurement_rows(b, labels)
    band = (rw.typ == lk.BAND) & np.isfinite(rw.hi)
    if not band.any():
        return out
    x, y, t0 = (np.nan_to_num(np.asarray(v, float)) for v in (fixes.x, fixes.y, fixes.t0))
    has_t = np.bincount(rw.g, rw.typ == lk.ARR, minlength=G) > 0
    _, _, rc, J, wc, A = covariance_rows(rw, p, x, y, t0, has_t, G)
    # the band's residual as the covariance reads it: from its middle, in its Gaussian's sd
    rng = np.hypot(x[rw.g] - rw.ox, y[rw.g] - rw.oy)
    mid = (rw.lo + rw.hi) / 2.0
    with np.errstate(all="ignore"):
        s = np.sqrt((rw.hi - rw.lo) ** 2 / 12.0 + (p.band_wall_frac * mid) ** 2)
        rb = np.where(band, (rng - mid) / s, np.where(rw.typ == lk.BAND, 0.0, rc))
    rb = np.where(np.isfinite(rb) & np.isfinite(J).all(axis=1), rb, 0.0)
    _, v = normal_equations(rb, np.nan_to_num(J), wc, rw.g, G)
    A[:, 2, 2] += np.where(has_t, 0.0, 1.0)  # no arrival: the emission time is no unknown
    use = (np.flatnonzero(np.asarray(fixes.located, bool)
                          & (np.bincount(rw.g, band, minlength=G) > 0)
                          & (np.bincount(rw.g, rw.typ != lk.BAND, minlength=G) >= 2)))
    if not len(use):
        return out
    with np.errstate(all="ignore"):
        d = np.linalg.solve(A[use], v[use][:, :, None])[:, :2, 0]
    ok = np.isfinite(d).all(axis=1)
    out[use[ok]] = d[ok][:, :, None] * d[ok][:, None, :]
    return out
