"""Pairing of precisely timed fixes, run on space-time parts so its cost follows the data.

:func:`~truceline.core.fusion.link.pair_by_arrival_order` searches every pair of fixes
within a weapon's reach in the plane, whatever their times: over a month of a dense line that
is every fix near a place against every other one ever made there, so its memory grew with
the square of the store (4 GB at 282k observations, 17.6 GB at 639k). A pair can only be a
candidate when the later fix follows the earlier within a flight time, so fixes that no chain
of such near neighbours joins in space and time never meet: :func:`pair_by_arrival_order_parts`
splits them into those connected parts (a superset of the candidate links, so no candidate is
lost) and runs the same function on a few parts at a time. Each fix's candidates are the same
as in one run, and so are the pairs.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from truceline.core.fusion.link import LinkParams, pair_by_arrival_order

__all__ = ["pair_by_arrival_order_parts"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

#: Fixes per call: parts are gathered, in time order, until a call holds this many.
PART_ROWS = 2_000


def pair_by_arrival_order_parts(
    x: F64, y: F64, cov: F64, t0: F64, t_sd: F64, can_origin: NDArray[np.bool_],
    can_impact: NDArray[np.bool_], side: I64, params: LinkParams | None = None,
    part_rows: int = PART_ROWS,
) -> tuple[I64, I64]:
    """:func:`~truceline.core.fusion.link.pair_by_arrival_order`, the same pairs (sorted by
    origin), computed on connected space-time parts of the fixes it could pair."""
    p = params or LinkParams()
    empty = np.zeros(0, np.int64)
    sig = np.sqrt(np.trace(cov, axis1=1, axis2=2)) if len(x) else np.zeros(0)
    ok = (np.isfinite(x) & np.isfinite(y) & np.isfinite(t0) & (t_sd <= p.timed_sd_s)
          & (side >= 0) & (sig <= p.max_sigma_m))
    idx = np.flatnonzero(ok)
    if len(idx) < 2:
        return empty, empty
    # a candidate lies within ``reach`` in the plane and follows within a flight time to
    # ``reach`` (plus both fixes' spread) at the slowest speed, plus the timing allowance
    s_max = 2.5 * np.sqrt(2) * p.max_sigma_m
    reach = max(p.max_range_m.values()) + s_max
    v_min = min(v for _, v, _ in p.windows())
    span = ((reach + s_max) / v_min + 3.0 * np.sqrt(2) * p.timed_sd_s) * 1.01 + 1.0
    k = reach / span  # a Chebyshev ball of ``reach`` bounds the plane and the time together
    pts = np.column_stack([x[idx], y[idx], t0[idx] * k])
    pr = cKDTree(pts).query_pairs(reach * 1.001 + 1.0, p=np.inf, output_type="ndarray")
    m = len(idx)
    graph = coo_matrix((np.ones(len(pr)), (pr[:, 0], pr[:, 1])), shape=(m, m)) if len(pr) \
        else coo_matrix((m, m))
    _, comp = connected_components(graph, directed=False)
    # parts in order of their first time, gathered into calls of about ``part_rows`` fixes
    first = np.full(int(comp.max()) + 1, np.inf)
    np.minimum.at(first, comp, t0[idx])
    rank = np.argsort(np.argsort(first, kind="stable"), kind="stable")
    order = np.lexsort((np.arange(m), rank[comp]))
    size = np.bincount(comp)
    ends = np.cumsum(size[np.argsort(first, kind="stable")])  # where each part ends in order
    outs_o, outs_i = [], []
    start = 0
    while start < m:
        stop = int(ends[np.searchsorted(ends, start + part_rows, side="left")
                        if ends[-1] > start + part_rows else len(ends) - 1])
        rows = idx[order[start:stop]]
        if len(rows) >= 2:
            o, i = pair_by_arrival_order(x[rows], y[rows], cov[rows], t0[rows], t_sd[rows],
                                         can_origin[rows], can_impact[rows], side[rows], p)
            outs_o.append(rows[o])
            outs_i.append(rows[i])
        start = stop
    if not outs_o:
        return empty, empty
    o_all, i_all = np.concatenate(outs_o), np.concatenate(outs_i)
    s = np.argsort(o_all, kind="stable")
    return o_all[s].astype(np.int64), i_all[s].astype(np.int64)
