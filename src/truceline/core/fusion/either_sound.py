"""One bearing and one array's two arrivals: the arrivals may be the shot's other sound.

An array hears both sounds of a shot, the launch and the burst, and its sensors cannot say
which (their reports are "undetermined"). Where a group holds one monitor's bearing (which
names the launch or the impact) and two arrivals of one array, its fix is the bearing's ray
crossed with the arrivals' hyperbola, and nothing can test that the array heard the *same*
sound as the monitor: a bearing and two arrivals fit exactly, whichever sound it was. Where
the group is linked to its other part, that part has taken the other sound's reports, and
such fixes hold the truth about as stated (issue 14, session 29, `wind` seed 1: 28 of 30
linked impacts). Unlinked, the other sound is unaccounted for, and there 5 of 8 such impact
fixes missed the truth (4 of them held the launch's arrivals: a crossing kilometres along
the ray from the impact, stated tens of metres across). Three arrivals or more leave a
degree of freedom that the fit tests, and are left as they are.

So for a located group without a partner whose inlying reports are exactly one bearing and
two arrivals of sensors within one array (``array_m``), and nothing else placing it, the
stated covariance is widened to hold the truth under either hypothesis: if the arrivals are
this sound's, the fix's own covariance holds it; if not, only the bearing places it, on its
ray within its band (the grouping's default band where it names none). What is added about
the fix (``s1``, its range along the ray) is the band's second moment about it along the
ray, ``(hi - lo)^2 / 12 + (mid - s1)^2 + (frac * mid)^2`` (the distance judgement), and across
it the bearing's error at those ranges, ``sd^2 (mid^2 + (hi - lo)^2 / 12)``. The fix itself is
kept (where the arrivals are right it is the best point); only what it claims is widened.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from truceline.core.fusion.batch import ROLE_ANY, FireBatch
from truceline.core.fusion.locate import M_ARRIVAL, Fixes

__all__ = ["either_sound_cov"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


def either_sound_cov(b: FireBatch, labels: I64, fixes: Fixes, role: NDArray[np.int8],
                     partner: I64, band_m: tuple[float, float], judgement: float,
                     array_m: float) -> tuple[F64, NDArray[np.bool_]]:
    """What to add to each group's stated covariance (G, 2, 2) and which groups take it: the
    located, unlinked origins and impacts whose inlying reports are one bearing and two
    arrivals of one array (module docstring). ``band_m``: the band of a bearing that names
    none; ``judgement``: the distance judgement (a fraction of the range)."""
    G = len(fixes.x)
    add = np.zeros((G, 2, 2))
    take = np.zeros(G, bool)
    if not G or not len(labels):
        return add, take
    ok = ~np.asarray(fixes.outlier, bool) if len(fixes.outlier) == len(labels) \
        else np.ones(len(labels), bool)
    has_o = np.isfinite(b.ox) & np.isfinite(b.oy)
    brg = ok & has_o & np.isfinite(b.brg)
    arr = ok & has_o & np.isfinite(b.arr) & ~np.isfinite(b.brg)
    other = ok & ~brg & ~arr & np.isfinite(b.ex)
    n_b = np.bincount(labels, brg, minlength=G)
    n_a = np.bincount(labels, arr, minlength=G)
    n_x = np.bincount(labels, other, minlength=G)
    cand = (fixes.located & (partner < 0) & (role != ROLE_ANY) & (n_b == 1) & (n_a == 2)
            & (n_x == 0) & (fixes.method & M_ARRIVAL > 0))
    if not cand.any():
        return add, take
    # the arrivals' sensors within one array (as .heard: twice the farthest from their mean)
    ia = np.flatnonzero(arr & cand[labels])
    ga = labels[ia]
    na = np.bincount(ga, minlength=G)
    mx = np.bincount(ga, b.ox[ia], minlength=G) / np.maximum(na, 1)
    my = np.bincount(ga, b.oy[ia], minlength=G) / np.maximum(na, 1)
    far = np.zeros(G)
    np.maximum.at(far, ga, np.hypot(b.ox[ia] - mx[ga], b.oy[ia] - my[ga]))
    cand &= 2.0 * far <= array_m
    r = np.flatnonzero(brg & cand[labels])
    g = labels[r]
    k = b.k[r]
    lo = np.where(np.isfinite(b.dmin[r]), b.dmin[r], band_m[0]) * k
    hi = np.where(np.isfinite(b.dmax[r]), b.dmax[r], band_m[1]) * k
    mid, w2 = (lo + hi) / 2, (hi - lo) ** 2 / 12.0
    ux, uy = np.sin(b.brg[r]), np.cos(b.brg[r])  # along the ray (grid east, north)
    s1 = (fixes.x[g] - b.ox[r]) * ux + (fixes.y[g] - b.oy[r]) * uy
    along = w2 + (mid - s1) ** 2 + (judgement * mid) ** 2
    across = b.brg_sd[r] ** 2 * (mid**2 + w2)
    add[g, 0, 0] = along * ux * ux + across * uy * uy
    add[g, 1, 1] = along * uy * uy + across * ux * ux
    add[g, 0, 1] = add[g, 1, 0] = (along - across) * ux * uy
    take[g] = True
    return add, take
