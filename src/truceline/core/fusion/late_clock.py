"""A report timed to the second, left alone, tried again with a clock's minute against the
arrays' fixes: a camera whose clock runs late.

A camera's window is its time +- 2 s (a GPS clock), so a flash whose recorder's clock runs
half a minute late misses the window of its own shot's arrays' fix, and complete linkage
leaves it an incident of its own (issue 14's clock condition, cameras 25 s off at 1 sigma:
on ``all_conditions`` seed 1, 44 lone camera reports against 23 on ``baseline``). Widening
every camera's window instead lets the exact cameras of the other weeks pair with other
shots within the minute (``baseline`` seeds 1-3 lost ARI and gained wrong-party findings:
BENCHMARKS.md, "Session 29, hC").

So only a report grouping left alone whose window is narrower than ``2 late_clock_s`` looks
again, with its window widened by ``late_clock_s`` on either side, and only at the groups that
hold an array's fix (their emission time is the fix's, :func:`.group_join.emission_windows`,
so the report's own clock never sets it). It joins where exactly one such group fits: it
passes the gate with the fix and with every report of the group; two groups fitting (the
same gun's shots within the minute) leave it alone, and two late reports joining one group
must pass the gate with each other.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from truceline.core.fusion import kernels
from truceline.core.fusion.batch import Candidates, FireBatch, GroupingParams
from truceline.core.fusion.graph import _Units, _units_of_reports

__all__ = ["join_late"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


def join_late(b: FireBatch, cd: Candidates, labels: I64, rows: I64, fixed: _Units,
              fixed_label: I64, p: GroupingParams) -> I64:
    """``labels`` with each lone report of ``rows`` timed to the second joined to the one group
    holding an array's fix (``fixed``, the fixes' units; ``fixed_label``, their groups) that
    it fits under a clock's minute (module docstring). Groups are not renumbered."""
    W = p.late_clock_s
    if W <= 0 or len(rows) < 1 or not len(fixed):
        return labels
    size = np.bincount(labels)
    width = b.t_hi[rows] - b.t_lo[rows]
    ok = np.isfinite(cd.mx[rows]) & np.isfinite(width)
    q = np.flatnonzero((size[labels[rows]] == 1) & ok & (width < 2.0 * W))
    if not len(q):
        return labels
    # the late reports (widened) first, then the fixes: one array of units for the gate
    u = _units_of_reports(b, cd, rows[q], fixed)
    nq = len(q)
    F = u.F.copy()
    F[:nq, kernels.F_TLO] -= W
    F[:nq, kernels.F_THI] += W
    reach = kernels.reach2(F, p.gate_chi2)
    v = p.link_scale_m / p.link_scale_s
    tm = (F[:, kernels.F_TLO] + F[:, kernels.F_THI]) / 2.0
    half = (F[:, kernels.F_THI] - F[:, kernels.F_TLO]) / 2.0
    fin = np.isfinite(reach[nq:]) & np.isfinite(tm[nq:])
    fx = np.flatnonzero(fin)
    if not len(fx):
        return labels
    far = float(reach[nq:][fx].max())
    tree = cKDTree(np.column_stack([F[nq + fx, kernels.F_MX], F[nq + fx, kernels.F_MY],
                                    v * tm[nq + fx]]))
    rad = np.hypot(np.sqrt(reach[:nq] + far), v * (half[:nq] + float(half[nq + fx].max())))
    hits = tree.query_ball_point(np.column_stack([F[:nq, kernels.F_MX], F[:nq, kernels.F_MY],
                                                  v * tm[:nq]]), rad)
    src = u.sources
    out = labels.copy()
    order = np.argsort(labels[rows], kind="stable")
    srt = labels[rows][order]
    choice: dict[int, int] = {}
    for k, h in enumerate(hits):
        if not len(h):
            continue
        j = nq + fx[np.asarray(h, np.int64)]
        d = np.asarray(kernels.gate_pairs(F, u.role, src, np.full(len(j), k, np.int64), j, 0,
                                          p.gate_chi2, p.arrival_slack_s, p.array_span_m))
        groups = np.unique(fixed_label[j[d <= 1.0] - nq])
        fits = [g for g in groups.tolist() if _fits_reports(
            b, cd, F[k], rows[q[k]],
            rows[order[np.searchsorted(srt, g):np.searchsorted(srt, g, "right")]], p)]
        if len(fits) == 1:
            choice[k] = fits[0]
    by_group: dict[int, list[int]] = {}
    for k, g in choice.items():
        by_group.setdefault(g, []).append(k)
    for g, ks in by_group.items():
        if len(ks) > 1:  # two late reports on one group: each pair must pass
            a, c = np.triu_indices(len(ks), 1)
            ka = np.asarray(ks, np.int64)
            d = kernels.gate_pairs(F, u.role, src, ka[a], ka[c], 0, p.gate_chi2,
                                   p.arrival_slack_s, p.array_span_m)
            if not (np.asarray(d) <= 1.0).all():
                continue
        for k in ks:
            out[rows[q[k]]] = g
    return out


def _fits_reports(b: FireBatch, cd: Candidates, Fq: F64, row: int, mates: I64,
                  p: GroupingParams) -> bool:
    """Whether the late report (its widened gate row ``Fq``, batch row ``row``) passes the gate
    with every report ``mates`` of the group."""
    if not len(mates):
        return True
    u = _units_of_reports(b, cd, np.concatenate([[row], mates]))
    F = u.F.copy()
    F[0] = Fq
    d = kernels.gate_pairs(F, u.role, u.sources, np.zeros(len(mates), np.int64),
                           np.arange(1, len(mates) + 1, dtype=np.int64), 0, p.gate_chi2,
                           p.arrival_slack_s, p.array_span_m)
    return bool((np.asarray(d) <= 1.0).all())
