"""An array's three or more arrivals that heard a burst's launch: the launch placed by them.

:func:`.heard_other.join_other_sound` joins an array's arrivals that heard the other sound of
exactly one located, unlinked, timed part to that part, and states nothing of them: the
incident keeps the burst and no origin. Where the part is a typed burst and the array heard
its launch with three arrivals or more (a fix on three arrivals of one array, which the arcs'
launches of :mod:`.region` never try, as they take unlocated groups only), those arrivals
say where the gun was: the points within hearing whose sound fits them (:func:`~.region.
arc_region`, in the group's pooled air) that could have fired a shell bursting at the part
(its class's range and flight, any known class's where it names none: :func:`~.region.
fit_cells`), each weighted by that flight (:func:`~.region.flight_likelihood`). On the
supportable verdict weeks of session 36 such launches were a quarter of the untyped misses
not located (BENCHMARKS.md, session 37, helper hW).

Here such a group, instead of joining the burst, becomes its linked origin stated by that
region (its cells' weighted mean and spread plus a cell's, :func:`~.region.as_fix`) and
attributed by the region's mass on each side, as an arc's launch is, where one party's side
holds ``own_side_max`` of it; elsewhere the join stays as it was. A region that passes
through the burst itself (the array may have heard the burst) places nothing, nor does a
group whose own fix is no looser than the link's ``max_sigma_m``: the link's pairings have
tried such a fix against the burst and left it unpaired, and on six simulated weeks the
launches such fixes placed were mostly another shot's burst heard close by, given to the
wrong party at P 1.0 (BENCHMARKS.md, session 37, helper h2a).

Where two arrays' groups joined one burst together (their arrivals together fit one point a
flight before it: ``HeardParams.other_together``), the region is their union's, three
arrivals or more in all, and the other groups join the placed launch: left joined to the
burst, the launch was lost (session 41, h10b: e.g. three arrivals of one array and one of
another, baseline seed 2).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from truceline.core.classify import CompiledGeometry
from truceline.core.fusion.attribution import AttributionParams
from truceline.core.fusion.batch import ROLE_IMPACT, ROLE_ORIGIN, FireBatch
from truceline.core.fusion.link import LinkParams
from truceline.core.fusion.locate import M_ARRIVAL, Fixes
from truceline.core.fusion.region import (
    ArcParams,
    as_fix,
    cell_sides,
    fit_cells,
    flight_likelihood,
    rows_region,
)

__all__ = ["place_heard_launches"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
#: The fewest arrivals of a group placed here (fewer: the arcs' regions have tried them).
MIN_ARRIVALS = 3


def place_heard_launches(b: FireBatch, labels: I64, fixes: Fixes, role: NDArray[np.int8],
                         prob: F64, partner: I64, tg: F64, lo: F64, hi: F64, u: I64, g: I64,
                         n0: int, geometry: CompiledGeometry, lp: LinkParams, ap: ArcParams,
                         attribution: AttributionParams) -> tuple[I64, I64]:
    """``(u, g)`` less the joins past ``n0`` (:func:`.heard_other.join_other_sound`'s) of
    three or more arrivals into a burst that their region places as its launch (module doc);
    each such group is made the burst's linked origin in place (``fixes``, ``role``,
    ``prob``, ``partner``, ``tg``). ``lo``/``hi``: each group's emission-time window (s)."""
    if len(u) <= n0 or not prob.shape[1]:
        return u, g
    G = len(role)
    has_a = np.isfinite(b.arr) & np.isfinite(b.ox) & np.isfinite(b.oy)
    n_a = np.bincount(labels, has_a, minlength=G)
    order = np.argsort(labels, kind="stable")
    starts = np.searchsorted(labels[order], np.arange(G + 1))
    wins = dict(zip(lp.max_range_m, lp.windows(), strict=True))
    keep, g = np.ones(len(u), bool), g.copy()
    # a fix no looser than the link's limit was tried by its pairings and left unpaired
    sig = np.sqrt(np.nan_to_num(np.trace(fixes.cov, axis1=1, axis2=2), nan=np.inf))
    tried = fixes.located & (sig <= lp.max_sigma_m)
    joins: dict[int, list[int]] = {}
    for j in range(n0, len(u)):
        joins.setdefault(int(g[j]), []).append(j)
    for c, js in joins.items():
        grp = [int(u[j]) for j in js]  # two arrays that heard it: placed by their union
        if (role[c] != ROLE_IMPACT or partner[c] >= 0 or int(n_a[grp].sum()) < MIN_ARRIVALS
                or tried[grp].any()):
            continue
        a = grp[0]
        rows = np.concatenate([order[starts[k]:starts[k + 1]] for k in grp])
        named = {w for w in b.weapon_class[order[starts[c]:starts[c + 1]]]
                 if isinstance(w, str) and w}
        cw = [wins[w] for w in sorted(named) if w in wins] if named else list(wins.values())
        if not cw:
            continue
        x, y, wt, t0 = rows_region(b, rows, ap)
        s = 2.5 * float(np.sqrt(np.trace(fixes.cov[c])))
        d = np.hypot(x - fixes.x[c], y - fixes.y[c])
        if not len(x) or (d <= s + ap.step_m).any():
            continue  # the array may have heard the burst itself
        _, ok = fit_cells(x, y, t0, float(fixes.x[c]), float(fixes.y[c]), s, float(lo[c]),
                          float(hi[c]), cw)
        if not ok.any():
            continue
        x, y, t0 = x[ok], y[ok], t0[ok]
        w = wt[ok] * flight_likelihood(d[ok], 0.5 * (lo[c] + hi[c]) - t0, s, float(lo[c]),
                                       float(hi[c]), cw, np.ones(len(cw)), ap.step_m)
        if not w.sum() > 0.0:
            continue
        tm = float(np.average(t0, weights=w))
        pr = (cell_sides(geometry, x, y, tm, b.epoch, attribution) * w[:, None]).sum(axis=0) \
            / w.sum()
        if pr.max() < lp.own_side_max:
            continue
        mx, my, cov = as_fix(x, y, w, ap.step_m)
        fixes.x[a], fixes.y[a], fixes.cov[a], fixes.t0[a] = mx, my, cov, tm
        fixes.located[a], fixes.method[a] = True, M_ARRIVAL
        role[a], prob[a], tg[a] = ROLE_ORIGIN, pr, tm
        partner[a], partner[c] = c, a
        keep[js[0]] = False
        g[js[1:]] = a  # the other arrays' arrivals join the launch, not the burst
    return u[keep], g[keep]
