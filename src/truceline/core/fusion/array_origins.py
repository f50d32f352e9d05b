"""An origin that one array's arrivals alone placed: its side is its region's, not its ellipse's.

Three or more arrival times at one acoustic array (sensors within ``array_radius_m`` of their
centre) fix a direction well and a range poorly: the sounds fit a narrow arm of points that
starts at the array and runs out along that direction. The fix's Gaussian ellipse, centred on
one point of the arm and stretched along it to state the far side of its range
(:func:`~.far_range.far_stretch`), is symmetric: its near half runs back through the array
and beyond it, where no point fits the arrivals, so for an origin a few kilometres behind an
array near the line it puts mass on the far side that the arm never reaches, and the
origin is left undecided. Such an origin, linked to its impact and undecided by its ellipse
(no side with ``own_side_max``), is stated and attributed by its region instead
(:func:`~.region.arc_region`: the same grid, likelihood, uniform prior over the area and
hearing range as for an array's two or three unlocated arrivals), as the launches the arcs
place are (:func:`~.region.arc_launches`): the region's likelihood mass on each side, its
weighted mean and spread (plus a cell's own) as the fix. Its cells are those that could
have fired at the impact it is linked to, as the link itself assumed: within the range of
that impact's named weapon class (any known class when it names none) and in time for its
flight (the impact's 2.5 sigma and emission window, no slack, as :func:`~.region.
arc_launches`), so the region claims no place the pairing itself ruled out. A group keeps
its fix where its region passes through that impact (the array then lies on the line of
fire, and the arm runs from the origin on to the burst: :func:`~.region.arc_launches`
refuses such a region too) or has no cell within the fix's 2.5 sigma and a cell (a bang at
the edge of the array, whose near-field curvature the fix resolves and the grid's 400 m
cells miss), and where the region's mass leans to another side than the ellipse's (near
the line, the grid's cells and the arm's far reach, which its area prior favours, are no
better than the fit: on the simulated weeks the region overruled three sharp fixes that
said the right side with P 0.98-1.0 before both this and the undecided-only rule were in).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from truceline.core.classify import CompiledGeometry
from truceline.core.fusion.attribution import AttributionParams
from truceline.core.fusion.batch import ROLE_ORIGIN, FireBatch
from truceline.core.fusion.link import LinkParams
from truceline.core.fusion.locate import M_ARRIVAL, Fixes
from truceline.core.fusion.region import (
    ArcParams,
    as_fix,
    cell_sides,
    class_windows,
    fit_cells,
    rows_region,
)

__all__ = ["array_origins", "place_array_origins"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


def array_origins(b: FireBatch, labels: I64, fixes: Fixes, role: NDArray[np.int8], arcs: I64,
                  ap: ArcParams) -> I64:
    """The located origins whose reports are three or more arrivals of one array (every
    sensor within ``ap.array_radius_m`` of their centre) and nothing else, located by the
    arrival times alone, not placed by their region already (``arcs``)."""
    G = len(role)
    has_a = np.isfinite(b.arr) & np.isfinite(b.ox) & np.isfinite(b.oy)
    size = np.bincount(labels, minlength=G)
    n_a = np.bincount(labels, has_a, minlength=G)
    ok = fixes.located & (role == ROLE_ORIGIN) & (n_a >= 3) & (n_a == size) \
        & (fixes.method == M_ARRIVAL)
    ok[arcs] = False
    if not ok.any():
        return np.zeros(0, np.int64)
    ox, oy = np.where(has_a, b.ox, 0.0), np.where(has_a, b.oy, 0.0)
    cx = np.bincount(labels, ox, minlength=G) / np.maximum(size, 1)
    cy = np.bincount(labels, oy, minlength=G) / np.maximum(size, 1)
    far = np.zeros(G)
    np.maximum.at(far, labels, np.hypot(ox - cx[labels], oy - cy[labels]))
    return np.flatnonzero(ok & (far <= ap.array_radius_m)).astype(np.int64)


def place_array_origins(b: FireBatch, labels: I64, fixes: Fixes, role: NDArray[np.int8],
                        prob: F64, partner: I64, arcs: I64, lo: F64, hi: F64,
                        cls: NDArray[np.object_], geometry: CompiledGeometry, lp: LinkParams,
                        ap: ArcParams, attribution: AttributionParams) -> I64:
    """State and attribute each of :func:`array_origins` linked to a located impact
    (``partner``) that its ellipse leaves undecided (no side with ``lp.own_side_max``) by its
    region's cells that could have fired at that impact, in place (``fixes.x``, ``y``,
    ``cov`` and ``prob``; its emission time stays the fit's). ``lo``/``hi``: each group's
    emission-time window (s); ``cls``: its weapon class (None: any known). A group keeps its
    fix where no cell fits, or where the region's mass leans to another side than its
    ellipse's. Returns the groups placed."""
    todo = array_origins(b, labels, fixes, role, arcs, ap)
    todo = todo[(partner[todo] >= 0) & fixes.located[np.maximum(partner[todo], 0)]
                & (prob[todo].max(axis=1) < lp.own_side_max)]
    if not len(todo) or not prob.shape[1]:
        return np.zeros(0, np.int64)
    wins = dict(zip(lp.max_range_m, lp.windows(), strict=True))
    order = np.argsort(labels, kind="stable")
    starts = np.searchsorted(labels[order], np.arange(len(role) + 1))
    done: list[int] = []
    for g in todo.tolist():
        rows, k = order[starts[g]:starts[g + 1]], int(partner[g])
        x, y, wt, t0 = rows_region(b, rows, ap)
        d = np.hypot(x - fixes.x[k], y - fixes.y[k])
        s = 2.5 * float(np.sqrt(np.trace(fixes.cov[k])))
        own = 2.5 * float(np.sqrt(np.trace(fixes.cov[g]))) + ap.step_m
        if not len(x) or (d <= s + ap.step_m).any() \
                or not (np.hypot(x - fixes.x[g], y - fixes.y[g]) <= own).any():
            continue  # along the line of fire, or the grid misses the fix (too near)
        _, ok = fit_cells(x, y, t0, float(fixes.x[k]), float(fixes.y[k]), s, float(lo[k]),
                          float(hi[k]), class_windows(wins, cls[k]))
        x, y, wt, t0 = x[ok], y[ok], wt[ok], t0[ok]
        if not len(x) or not wt.sum() > 0:
            continue
        one = cell_sides(geometry, x, y, float(np.average(t0, weights=wt)), b.epoch,
                         attribution)
        pr = (one * wt[:, None]).sum(axis=0) / wt.sum()
        if pr.argmax() != prob[g].argmax():
            continue  # the region and the ellipse lean to different sides: neither decides
        prob[g] = pr
        fixes.x[g], fixes.y[g], fixes.cov[g] = as_fix(x, y, wt, ap.step_m)
        done.append(g)
    return np.asarray(done, np.int64)
