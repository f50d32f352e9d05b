"""Four or more arrivals of one array: the far side of its range stated once linked.

One small array's arrival times fix a bang by the curvature of its wavefront whatever their
number, and the curvature is ``~ 1/r``: the errors are Gaussian in the inverse range, and
the linearised ellipse, symmetric about the fit, is short on the far side (:mod:`.far_range`).
Three arrivals (alone or beside bearings) are stated by both crossings of their hyperbolas,
each one's far side stretched (:func:`~.locate._two_roots`); a fix on four or more is one
point, so its own covariance is stretched here, once grown to the posterior predictive
ellipse (the scale of the errors is the arrivals' too), about the centre of its arrival
sensors. Where the sensors are spread as far as the fix (several arrays) nothing changes;
where bearings or other arrays pin the range, the region in inverse range is as narrow as
the ellipse and little grows. On the conditions' weeks the clean impacts of one bearing and
four arrivals covered 0.941 (320, eight cells), synthetic four-arrival fixes 0.91-0.93
(BENCHMARKS.md, session 24, helper hC). docs/fusion.md, "One array's range is Gaussian in
its inverse".
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from truceline.core.fusion import locate_kernels as lk
from truceline.core.fusion.batch import FireBatch
from truceline.core.fusion.far_range import far_stretch
from truceline.core.fusion.locate import Fixes, LocateParams, measurement_rows

__all__ = ["far_many"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


def far_many(b: FireBatch, labels: I64, fixes: Fixes, cov: F64, use: NDArray[np.bool_],
             p: LocateParams) -> tuple[F64, NDArray[np.bool_]]:
    """``cov`` (G, 2, 2) with the groups in ``use`` that rest on four or more arrival times
    widened by :func:`~.far_range.far_stretch` about their sensors' centre (never narrowed),
    and which of them it changed. Nothing where ``p.far_range`` is off."""
    G = len(fixes.x)
    out = np.array(cov, float)
    changed = np.zeros(G, bool)
    if not p.far_range or not G or not len(labels) or not np.any(use):
        return out, changed
    rw, _ = measurement_rows(b, labels)
    ia = np.flatnonzero(rw.typ == lk.ARR)  # rows sorted by group: a group's arrivals together
    n_arr = np.bincount(rw.g[ia], minlength=G)
    ok = np.asarray(use, bool) & (n_arr >= 4) & np.isfinite(fixes.x) & np.isfinite(fixes.y)
    for n in np.unique(n_arr[ok]):
        tg = np.flatnonzero(ok & (n_arr == n))
        first = np.searchsorted(rw.g[ia], tg).astype(np.int64)
        new = far_stretch(out[tg], fixes.x[tg], fixes.y[tg], rw.ox[ia], rw.oy[ia], first,
                          p.max_semi_major_m, n=int(n))
        changed[tg] = ((new != out[tg]) & ~np.isnan(new)).any(axis=(1, 2))
        out[tg] = new
    return out, changed
