"""Reports whose gate reaches past the pair search: join each left alone to the group it fits.

The sweep (:func:`.kernels.sweep`) pairs units within ``pair_radius`` of each other in the
normalised space-time (15 km at the defaults) and complete linkage reads every pair it did not
find as failing. A coarse distance band is a long segment of its ray: "20-50 km" puts its
candidate at 35 km with a gate that reaches ~45 km along the ray, and the event is often
nearer than the band's near edge (the monitor's judgement is 25 % of the distance). Its true
partners then lie 15-25 km from the candidate, inside its gate but outside the search: no
pair at all, or pairs with only some of a group's members, which the linkage then splits off
(coarse_bands, seed 1: 212 of the 243 lone band reports that have partners pass the gate with
every report of their partners' group).

Here every report grouping left alone whose gate could reach past the search looks again,
over a search bounded by the gate itself (the superset of the pairs the gate can pass: the
centres within ``sqrt(reach_i + reach_j)``, the windows overlapping), and joins the group
whose every report it passes the gate with (the linkage's own rule: every pair in a group
passes every gate), the closest in the gate's distance where several do. Two reports that
join one group must pass the gate with each other too, else only the closer joins.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from truceline.core.fusion import kernels
from truceline.core.fusion.batch import Candidates, FireBatch, GroupingParams
from truceline.core.fusion.graph import _take_units, _Units, _units_of_reports

__all__ = ["join_far"]

I64 = NDArray[np.int64]
F64 = NDArray[np.float64]


def join_far(b: FireBatch, cd: Candidates, labels: I64, rows: I64, p: GroupingParams) -> I64:
    """``labels`` with each lone report of ``rows`` (the reports the sweep grouped) whose gate
    reaches past ``pair_radius`` joined to the one group of other reports it fits (module
    docstring); groups are not renumbered (a joined report's own label is left empty)."""
    if len(rows) < 2:
        return labels
    size = np.bincount(labels)
    # each report's gate reach (squared): chi2 times its covariance's larger eigenvalue
    a, bb, c = cd.sxx[rows], cd.sxy[rows], cd.syy[rows]
    with np.errstate(invalid="ignore"):
        reach = p.gate_chi2 * ((a + c) / 2.0 + np.sqrt(((a - c) / 2.0) ** 2 + bb * bb))
    t_lo, t_hi = b.t_lo[rows], b.t_hi[rows]
    fine = np.isfinite(reach) & np.isfinite(cd.mx[rows]) & np.isfinite(t_lo) & np.isfinite(t_hi)
    lone = size[labels[rows]] == 1
    tg = np.flatnonzero(~lone & fine)
    if not len(tg):
        return labels
    # the reports whose gate alone reaches past the search (a band of ~10 km or more, a
    # direction-less observer): a narrower one's pairs the search holds but for a few
    search = p.pair_radius * p.link_scale_m
    q = np.flatnonzero(lone & fine & (reach > search * search))
    if not len(q):
        return labels
    far = float(reach[tg].max())
    # one tree in (x, y, v t): a pair the gate passes is within sqrt(reach_i + reach_j) in
    # space and half the windows' widths in time, so within the radius below
    v = p.link_scale_m / p.link_scale_s
    mx, my = cd.mx[rows], cd.my[rows]
    tm, half = (t_lo + t_hi) / 2.0, (t_hi - t_lo) / 2.0
    rad = np.hypot(np.sqrt(reach[q] + far), v * (half[q] + float(half[tg].max())))
    tree = cKDTree(np.column_stack([mx[tg], my[tg], v * tm[tg]]))
    hits = tree.query_ball_point(np.column_stack([mx[q], my[q], v * tm[q]]), rad, workers=-1)
    n_hit = np.fromiter((len(h) for h in hits), np.int64, len(hits))
    if not n_hit.sum():
        return labels
    qi = np.repeat(q, n_hit)
    qj = tg[np.concatenate([np.asarray(h, np.int64) for h in hits if len(h)])]
    # the gate's units of the rows involved only (indices into ``rows``)
    used = np.unique(np.concatenate([q, qj]))
    u = _units_of_reports(b, cd, rows[used])
    F = u.F

    def gated(i: I64, j: I64) -> NDArray[np.float64]:
        return np.asarray(kernels.gate_pairs(
            F, u.role, u.sources, np.searchsorted(used, i), np.searchsorted(used, j), 0,
            p.gate_chi2, p.arrival_slack_s, p.array_span_m))

    d = gated(qi, qj)
    ok = d <= 1.0
    qi, qj, d = qi[ok], qj[ok], d[ok]
    if not len(qi):
        return labels
    # a group fits when the query passes with every one of its reports the sweep grouped
    G = len(size)
    g = labels[rows[qj]]
    members = np.bincount(labels[rows], minlength=G)
    key = qi * G + g
    order = np.lexsort((d, key))
    key, d = key[order], d[order]
    first = np.concatenate([[True], key[1:] != key[:-1]])
    starts = np.flatnonzero(first)
    n_pass = np.diff(np.concatenate([starts, [len(key)]]))
    worst = np.maximum.reduceat(d, starts)
    uq, ug = key[starts] // G, key[starts] % G
    fits = n_pass == members[ug]
    uq, ug, worst = uq[fits], ug[fits], worst[fits]
    # the closest fitting group of each query (complete linkage's choice)
    order = np.lexsort((worst, uq))
    uq, ug, worst = uq[order], ug[order], worst[order]
    best = np.concatenate([[True], uq[1:] != uq[:-1]])
    uq, ug, worst = uq[best], ug[best], worst[best]
    # queries joining one group must pass with each other: the closer first
    out = labels.copy()
    order = np.lexsort((worst, ug))
    taken: dict[int, list[int]] = {}
    for k in order.tolist():
        grp, me = int(ug[k]), int(uq[k])
        mates = taken.setdefault(grp, [])
        if mates:
            dm = gated(np.full(len(mates), me, np.int64), np.asarray(mates, np.int64))
            if not (dm <= 1.0).all():
                continue
        mates.append(me)
        out[rows[me]] = grp
    return out



def far_queries(b: FireBatch, cd: Candidates, rows: I64, fixed: _Units, queries: _Units,
                p: GroupingParams) -> tuple[I64, I64]:
    """The gated pairs ``(query, unit)`` of the ``queries`` (vague arrival groups) with the
    main units (the reports ``rows``, then the ``fixed`` arrival groups, as numbered in
    :func:`.grouping.group`), over a search bounded by the gate rather than ``pair_radius``.

    A vague arrival group is a query with its sensor's hearing area (a Gaussian of half the
    acoustic range: a gate reaching ~37 km); its event is often 15-20 km away, past the
    sweep's search (15 km), so it found nothing and stayed alone (baseline seed 1: 135 such
    groups, median 18 km from their event). The caller gives the queries the sweep found no
    pair for; they then join as any vague group does: the one group they fit, of one sound.
    Only the units whose window overlaps a query's are read (the gate needs overlapping
    windows): the pairs are the overlaps, each gated.
    """
    none = np.zeros(0, np.int64)
    if not len(queries) or not len(rows) + len(fixed):
        return none, none
    # the main units' windows: the reports' from the batch (their float rows may be the
    # sweep's thread's still), the fixes' from their units
    lo = np.concatenate([b.t_lo[rows], fixed.t_lo])
    hi = np.concatenate([b.t_hi[rows], fixed.t_hi])
    qlo, qhi = queries.t_lo, queries.t_hi
    # the units overlapping some query's window: the queries' windows merged, then one search
    o = np.argsort(qlo, kind="stable")
    slo, shi = qlo[o], np.maximum.accumulate(qhi[o])
    k = np.searchsorted(slo, hi, side="right") - 1  # the last query window starting by hi
    near = np.flatnonzero((k >= 0) & (shi[np.maximum(k, 0)] >= lo))
    if not len(near):
        return none, none
    # each query's units whose window overlaps and whose centre is within both gates' reach
    near = near[np.argsort(lo[near], kind="stable")]
    nlo = lo[near]
    wide = float((hi[near] - nlo).max())
    a = np.searchsorted(nlo, qlo - wide, side="left")
    z = np.searchsorted(nlo, qhi, side="right")
    qi, qj = _overlaps(a, z, near, rows, cd.mx, cd.my, cd.sxx, cd.sxy, cd.syy, lo, hi,
                       fixed.F, queries.F, p.gate_chi2)
    if not len(qi):
        return none, none
    R = len(rows)
    # the gate on the units involved: reports, fixes, then the queries
    used = np.unique(qj)
    ur, uf = used[used < R], used[used >= R] - R
    u = _units_of_reports(b, cd, rows[ur], _take_units(fixed, uf), queries)
    pos = np.searchsorted(used, qj)  # reports then fixes: the order of ``used``
    d = np.asarray(kernels.gate_pairs(u.F, u.role, u.sources, len(used) + qi, pos, 0,
                                      p.gate_chi2, p.arrival_slack_s, p.array_span_m))
    ok = d <= 1.0
    return qi[ok], qj[ok]


@njit(cache=True, error_model="numpy")
def _reach2(a: float, b: float, c: float, chi2: float) -> float:
    return chi2 * ((a + c) / 2.0 + math.sqrt(((a - c) / 2.0) ** 2 + b * b))


@njit(cache=True, error_model="numpy")
def _overlaps(a: I64, z: I64, near: I64, rows: I64, mx: F64, my: F64, sxx: F64, sxy: F64,
              syy: F64, lo: F64, hi: F64, Ff: F64, Fq: F64, chi2: float) -> tuple[I64, I64]:
    """The pairs (query ``q``, main unit ``near[t]``, ``a[q] <= t < z[q]``) whose windows
    (``lo``, ``hi``) overlap and whose centres lie within ``sqrt(reach_q + reach_j)`` (else
    the gate fails): main units ``< len(rows)`` are the reports ``rows`` (the candidates'
    columns: their float rows may be the sweep thread's still), the others rows of ``Ff``."""
    n = 0
    for q in range(len(a)):
        n += max(z[q] - a[q], 0)
    qi = np.empty(n, np.int64)
    qj = np.empty(n, np.int64)
    R = len(rows)
    k = 0
    for q in range(len(a)):
        qlo, qhi = Fq[q, kernels.F_TLO], Fq[q, kernels.F_THI]
        qx, qy = Fq[q, kernels.F_MX], Fq[q, kernels.F_MY]
        qr = _reach2(Fq[q, kernels.F_SXX], Fq[q, kernels.F_SXY], Fq[q, kernels.F_SYY], chi2)
        for t in range(a[q], z[q]):
            j = near[t]
            if hi[j] < qlo or lo[j] > qhi:
                continue
            if j < R:
                r = rows[j]
                x, y = mx[r], my[r]
                rj = _reach2(sxx[r], sxy[r], syy[r], chi2)
            else:
                f = j - R
                x, y = Ff[f, kernels.F_MX], Ff[f, kernels.F_MY]
                rj = _reach2(Ff[f, kernels.F_SXX], Ff[f, kernels.F_SXY], Ff[f, kernels.F_SYY],
                             chi2)
            if (x - qx) ** 2 + (y - qy) ** 2 <= qr + rj:  # NaN fails
                qi[k] = q
                qj[k] = j
                k += 1
    return qi[:k], qj[:k]
