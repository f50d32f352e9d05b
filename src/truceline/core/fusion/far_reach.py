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

import numpy as np
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from truceline.core.fusion import kernels
from truceline.core.fusion.batch import Candidates, FireBatch, GroupingParams
from truceline.core.fusion.graph import _units_of_reports

__all__ = ["join_far", "reaches"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


def reaches(b: FireBatch, cd: Candidates, rows: I64, p: GroupingParams
            ) -> tuple[F64, F64, F64, NDArray[np.bool_]]:
    """What :func:`join_far` reads of the reports ``rows`` before their labels: each one's
    gate reach (squared: chi2 times its covariance's larger eigenvalue), window, and whether
    all are finite. Apart so that grouping computes them while its thread still sweeps, or
    takes them from that thread (:func:`.report_pairs.start`, the same numbers)."""
    a, bb, c = cd.sxx[rows], cd.sxy[rows], cd.syy[rows]
    with np.errstate(invalid="ignore"):
        reach = p.gate_chi2 * ((a + c) / 2.0 + np.sqrt(((a - c) / 2.0) ** 2 + bb * bb))
    t_lo, t_hi = b.t_lo[rows], b.t_hi[rows]
    fine = np.isfinite(reach) & np.isfinite(cd.mx[rows]) & np.isfinite(t_lo) & np.isfinite(t_hi)
    return reach, t_lo, t_hi, fine


def join_far(b: FireBatch, cd: Candidates, labels: I64, rows: I64, p: GroupingParams,
             pre: tuple[F64, F64, F64, NDArray[np.bool_]] | None = None) -> I64:
    """``labels`` with each lone report of ``rows`` (the reports the sweep grouped) whose gate
    reaches past ``pair_radius`` joined to the one group of other reports it fits (module
    docstring); groups are not renumbered (a joined report's own label is left empty).
    ``pre``: :func:`reaches` of ``rows``, where the caller has them."""
    if len(rows) < 2:
        return labels
    size = np.bincount(labels)
    reach, t_lo, t_hi, fine = reaches(b, cd, rows, p) if pre is None else pre
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
    if not len(uq):  # passes with some of a group's reports only
        return labels
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
