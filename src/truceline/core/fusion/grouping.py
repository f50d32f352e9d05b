"""Grouping: link the reports that describe one real event, so that it counts once.

The columns (:class:`FireBatch`) and candidates are in :mod:`.batch`, the pair gates in
:mod:`.graph`, the complete-linkage split in :mod:`.split`; this module composes them.
Every report becomes a *candidate*: a 2-D Gaussian where the event probably is (the reported
location, the middle of a bearing's distance band, or the sensor itself for a bare acoustic
arrival) and an interval of possible emission times (report time widened by its precision,
the source kind's clock error and reporting lag; an arrival time widened back by the longest
sound travel time). Then:

1. **candidate graph** — the ``k`` nearest neighbours of every candidate in a normalised
   space-time (a cKDTree on ``x / L, y / L, t / T``), so memory is ``n * k`` whatever the burst;
2. **gates** on each candidate pair — compatible roles (origin and impact reports of one shot
   are different places, so never linked), overlapping time windows, the Mahalanobis distance
   with *both* covariances below a chi-square gate, for two arrival times the TDOA limit
   ``|a_i - a_j| <= |s_i - s_j| / c``, and the cannot-link rule: one source never reports the
   same event twice, so two reports of one source in one window are two events;
3. **connected components** of the gated graph;
4. **split** of every component that is not a clique of the gate or holds one source twice,
   by complete linkage cut at the gate: every pair in a final group passes every gate, so a
   chain of nearby events cannot merge them.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from truceline.core.fusion.batch import (
    ROLE_ANY,
    ROLE_IMPACT,
    ROLE_ORIGIN,
    Candidates,
    FireBatch,
    GroupingParams,
    candidates,
    role_of,
    sound_speed,
)
from truceline.core.fusion.graph import (
    Dist,
    _concat,
    _pair_distance,
    _take_units,
    _tdoa_distance,
    _Units,
    _units_of_reports,
    candidate_edges,
)
from truceline.core.fusion.split import split_components

__all__ = [
    "ROLE_ANY",
    "ROLE_IMPACT",
    "ROLE_ORIGIN",
    "Candidates",
    "FireBatch",
    "GroupingParams",
    "candidates",
    "group",
    "role_of",
    "sound_speed",
]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


def _cluster(z: F64, dist: Dist, p: GroupingParams, tm: F64, k_nb: int) -> I64:
    """Labels (0..) of points ``z`` (normalised space-time): gated candidate edges
    (:func:`.graph.candidate_edges`), connected components, and the complete-linkage split of
    every component that is not a clique of the gate (:func:`.split.split_components`)."""
    m = len(z)
    if m == 0:
        return np.zeros(0, np.int64)
    i, j = candidate_edges(z, dist, k_nb, p.pair_radius, p.search_radius)
    graph = coo_matrix((np.ones(len(i)), (i, j)), shape=(m, m))
    ncomp, comp = connected_components(graph, directed=False)
    comp = comp.astype(np.int64)
    sub = split_components(comp, ncomp, i, dist, p, tm)
    return _dense(comp, sub, ncomp)


def _dense(comp: I64, sub: I64, ncomp: int) -> I64:
    """Dense labels of ``(comp, sub)`` pairs by offsets and a used-mask, not a sort."""
    width = np.zeros(ncomp, np.int64)
    np.maximum.at(width, comp, sub + 1)
    start = np.concatenate([[0], np.cumsum(width)[:-1]])
    lab = start[comp] + sub
    used = np.zeros(int(width.sum()), bool)
    used[lab] = True
    return np.asarray((np.cumsum(used) - 1)[lab], np.int64)


def _tmid(b: FireBatch) -> F64:
    """Middle of each report's emission-time window (seconds since the epoch)."""
    return (b.t_lo + b.t_hi) / 2.0


def _arrival_units(b: FireBatch, p: GroupingParams, rows: I64
                   ) -> tuple[I64, _Units, NDArray[np.bool_]]:
    """Bare arrival times grouped by the TDOA limit and located by multilateration.

    Returns the arrival group of each row, the groups as units (a Gaussian from the fix and
    an emission-time window from its range uncertainty), and whether each group is *fixed*
    (three or more arrivals and a regular fix). The others are vague: they join an event
    later only where exactly one fits, so a vague report never chains two events together.
    """
    from truceline.core.fusion.locate import LocateParams, locate  # locate imports grouping

    m = len(rows)
    c = b.c[rows]
    scale = p.link_scale_m
    z = np.column_stack([b.ox[rows] / scale, b.oy[rows] / scale, b.arr[rows] * 340.0 / scale])
    lab = _cluster(z, lambda i, j: _tdoa_distance(b, p, rows[i], rows[j]), p,
                   b.arr[rows], p.k_neighbours) if m else np.zeros(0, np.int64)
    G = int(lab.max()) + 1 if m else 0
    size = np.bincount(lab, minlength=G)
    sub = b.take(rows)
    fx = locate(sub, lab, candidates(sub, p), LocateParams(max_semi_major_m=p.max_arrival_fix_m))
    fixed = fx.located & (size >= 3)
    cov = np.where(fixed[:, None, None], fx.cov, 0.0) * p.arrival_fix_inflation
    # A small array ranges badly and non-linearly (the likelihood is a banana, not an
    # ellipse): along the line of sight from the array, allow at least ``arrival_range_frac``
    # of the range, across it the fix's own spread.
    cx = np.bincount(lab, b.ox[rows], minlength=G) / np.maximum(size, 1)
    cy = np.bincount(lab, b.oy[rows], minlength=G) / np.maximum(size, 1)
    rx, ry = fx.x - cx, fx.y - cy
    rng = np.maximum(np.hypot(rx, ry), 1.0)
    ux, uy = rx / rng, ry / rng
    along = ux * ux * cov[:, 0, 0] + 2 * ux * uy * cov[:, 0, 1] + uy * uy * cov[:, 1, 1]
    extra = np.maximum((p.arrival_range_frac * rng) ** 2 - along, 0.0)
    cov[:, 0, 0] += extra * ux * ux + p.arrival_fix_floor_m ** 2
    cov[:, 0, 1] += extra * ux * uy
    cov[:, 1, 0] += extra * ux * uy
    cov[:, 1, 1] += extra * uy * uy + p.arrival_fix_floor_m ** 2
    lmax = np.linalg.eigvalsh(cov)[:, -1] if G else np.zeros(0)
    cm = np.bincount(lab, c, minlength=G) / np.maximum(size, 1)
    half = 4.0 * np.sqrt(lmax) / cm + 1.0
    W = int(size.max()) if G else 1
    order = np.argsort(lab, kind="stable")
    starts = np.searchsorted(lab[order], np.arange(G))
    pos = np.arange(m) - starts[lab[order]]
    src = np.full((G, max(W, 1)), -1, np.int64)
    src[lab[order], pos] = b.source[rows[order]]
    nan = np.full(G, np.nan)
    units = _Units(fx.x, fx.y, cov[:, 0, 0], cov[:, 0, 1], cov[:, 1, 1], fx.t0 - half,
                   fx.t0 + half, np.full(G, ROLE_ANY, np.int8), src, nan, nan, nan, cm)
    return lab, units, fixed


def group(b: FireBatch, params: GroupingParams | None = None) -> I64:
    """Group label per report (0..G-1, in order of each group's first row).

    Reports without any position (no location, no observer) are groups of their own.
    """
    p = params or GroupingParams()
    n = len(b)
    if n == 0:
        return np.zeros(0, np.int64)
    cd = candidates(b, p)
    bare = cd.ok & np.isfinite(b.arr) & ~np.isfinite(b.brg) & ~np.isfinite(b.ex)
    arows = np.flatnonzero(bare)
    rrows = np.flatnonzero(cd.ok & ~bare)
    alab, aunits, fixed = _arrival_units(b, p, arows)
    fx_ids = np.flatnonzero(fixed)
    units = _concat(_units_of_reports(b, cd, rrows), _take_units(aunits, fx_ids))
    U = len(units)
    tm = (units.t_lo + units.t_hi) / 2
    z = np.column_stack([units.mx / p.link_scale_m, units.my / p.link_scale_m,
                         tm / p.link_scale_s])
    ulab = _cluster(z, lambda i, j: _pair_distance(units, p, i, j), p, tm, p.k_neighbours)
    label = np.full(n, -1, np.int64)
    label[rrows] = ulab[:len(rrows)]
    a_label = np.full(len(fixed), -1, np.int64)
    a_label[fx_ids] = ulab[len(rrows):]
    # vague arrival groups join the one group they fit, if exactly one
    vague = np.flatnonzero(~fixed)
    if len(vague) and U:
        vu = _take_units(aunits, vague)
        # a vague group's unit: the sensors' area (where it could have been heard)
        first = np.full(len(fixed), -1, np.int64)
        first[alab[::-1]] = arows[::-1]
        fr = first[vague]
        vu = _Units(cd.mx[fr], cd.my[fr], cd.sxx[fr], cd.sxy[fr], cd.syy[fr],
                    np.minimum.reduceat(b.t_lo[arows[np.argsort(alab, kind="stable")]],
                                        _starts(alab, len(fixed)))[vague],
                    np.maximum.reduceat(b.t_hi[arows[np.argsort(alab, kind="stable")]],
                                        _starts(alab, len(fixed)))[vague],
                    vu.role, vu.src, vu.arr, vu.ox, vu.oy, vu.c)
        both = _concat(units, vu)
        tq = (vu.t_lo + vu.t_hi) / 2
        zq = np.column_stack([vu.mx / p.link_scale_m, vu.my / p.link_scale_m,
                              tq / p.link_scale_s])
        k = min(p.k_neighbours, U)
        _, nb = cKDTree(z).query(zq, k=k, distance_upper_bound=p.search_radius, workers=-1)
        nb = np.asarray(nb).reshape(len(vu), k)
        qi = np.repeat(np.arange(len(vu)), k)
        qj = nb.ravel()
        ok = qj < U
        qi, qj = qi[ok], qj[ok]
        d = _pair_distance(both, p, U + qi, qj.astype(np.int64))
        ok = d <= 1.0
        qi, qj = qi[ok], ulab[qj[ok]]
        pair = np.unique(qi.astype(np.int64) * (U + 1) + qj)
        qi, qj = pair // (U + 1), pair % (U + 1)
        # the group must not already hold one of the vague group's sources
        n_fit = np.bincount(qi, minlength=len(vu))
        one = n_fit[qi] == 1
        qi, qj = qi[one], qj[one]
        if len(qi):
            gsrc = np.full(n, -1, np.int64)
            gsrc[rrows] = ulab[:len(rrows)]
            in_fixed = fixed[alab]
            gsrc[arows[in_fixed]] = a_label[alab[in_fixed]]
            have = np.sort(gsrc[gsrc >= 0] * (int(b.source.max()) + 1) + b.source[gsrc >= 0])
            keys = qj[:, None] * (int(b.source.max()) + 1) + vu.src[qi]
            at = np.minimum(np.searchsorted(have, keys), len(have) - 1)
            clash = ((have[at] == keys) & (vu.src[qi] >= 0)).any(axis=1)
            a_label[vague[qi[~clash]]] = qj[~clash]
    mine = a_label[alab] if len(arows) else np.zeros(0, np.int64)
    label[arows] = mine
    # arrival groups left alone: a group each
    lone_a = np.flatnonzero(a_label < 0)
    nxt = int(ulab.max()) + 1 if U else 0
    if len(lone_a):
        remap = np.full(len(fixed), -1, np.int64)
        remap[lone_a] = nxt + np.arange(len(lone_a))
        hit = remap[alab] >= 0
        label[arows[hit]] = remap[alab[hit]]
        nxt += len(lone_a)
    lone = np.flatnonzero(label < 0)
    label[lone] = nxt + np.arange(len(lone))
    # renumber in order of first appearance, so labels do not depend on the index internals
    first = np.full(int(label.max()) + 1, n, np.int64)
    first[label[::-1]] = np.arange(n - 1, -1, -1)  # the last write, i.e. the first row, wins
    rank = np.empty(len(first), np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(len(first))
    return rank[label]


def _starts(lab: I64, G: int) -> I64:
    return np.searchsorted(np.sort(lab), np.arange(G))
