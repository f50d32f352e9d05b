"""The split step: cut a linked component into groups in which every pair passes every gate.

Connected components of the gated graph can chain separate events (A near B near C); complete
linkage cut at the gate keeps only groups whose *every* pair is compatible. Small components are
cut in :func:`.kernels.split_small`; this module cuts the large ones (bursts): from their gated
edges where the sweep found every one (:func:`split_edges`: memory follows the edges), else
through scipy's linkage, slicing them by time first so that no linkage matrix grows past
``max_component`` squared.

Why from the edges: a burst at 20x density chains into components hours long (4,903 units
from 21:50 to 05:00 on the 907k month's 29 March), and slices of ``max_component`` units
counted from the component's first cut it where its first unit puts them. A fusion of the
days from 29 March (a check by day parts, an incremental check) holds the component from
its halo on, cut elsewhere, so 12 incidents of 02:40-03:15 were 21 others (BENCHMARKS.md,
session 26, hA). Linkage over the whole component has no such cut.
"""

from __future__ import annotations

import heapq

import numpy as np
from numpy.typing import NDArray
from scipy.cluster.hierarchy import fcluster, linkage

from truceline.core.fusion.batch import GroupingParams
from truceline.core.fusion.graph import Dist

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

#: Components up to this size are split in the compiled loop (:func:`.kernels.split_small`);
#: larger ones (rare: bursts) go through scipy's linkage one by one.
SMALL = 512


def split_edges(m: int, a: I64, b: I64, d: F64) -> I64:
    """Complete-linkage labels of ``m`` points cut at 1 (each point's representative: the
    lowest of its group), from every pair at most 1 apart (``a``, ``b``: places ``0..m-1``,
    ``d``: their distances; the pairs left out are farther). As
    :func:`.kernels.split_small` cuts: the closest pair merges first (the lower places first
    on ties) and a merged group is as far from another as the farther of its two parts, so
    a pair left out stays apart (the groups are those of the dense matrix).
    """
    near: list[dict[int, float]] = [{} for _ in range(m)]
    heap = []
    for x, y, v in zip(a.tolist(), b.tolist(), d.tolist(), strict=True):
        if v <= 1.0 and x != y:
            lo, hi = (x, y) if x < y else (y, x)
            near[lo][hi] = v
            near[hi][lo] = v
            heap.append((v, lo, hi))
    heapq.heapify(heap)
    rep = np.arange(m, dtype=np.int64)
    while heap:
        v, x, y = heapq.heappop(heap)
        if near[x].get(y) != v:  # merged away, or farther since
            continue
        nx, ny = near[x], near[y]
        del nx[y], ny[x]
        both: dict[int, float] = {}
        for k, dx in nx.items():
            nk = near[k]
            dy = ny.get(k)
            if dy is None:  # one part is farther than 1 from k: so is the group
                del nk[x]
                continue
            w = dx if dx > dy else dy
            both[k] = w
            nk[x] = w
            del nk[y]
            heapq.heappush(heap, (w, x, k) if x < k else (w, k, x))
        for k in ny:
            if k not in nx:
                del near[k][y]
        near[x], near[y] = both, {}
        rep[y] = x
    for k in range(m):  # merges run lower into lower: each place's chain ends at its group's
        rep[k] = rep[rep[k]]
    return rep


def split_large(dist: Dist, p: GroupingParams, tm: F64, rows: I64) -> I64:
    """Complete-linkage labels (0..) for one large component, cut where a gate fails."""
    m = len(rows)
    if m > p.max_component:  # cut by time first; a slice is still far larger than an event
        order = np.argsort(tm[rows], kind="stable")
        out = np.empty(m, np.int64)
        nxt = 0
        for s in range(0, m, p.max_component):
            part = order[s:s + p.max_component]
            lab = split_large(dist, p, tm, rows[part])
            out[part] = lab + nxt
            nxt += int(lab.max()) + 1
        return out
    iu, ju = np.triu_indices(m, 1)
    d = dist(rows[iu], rows[ju])
    if (d <= 1.0).all():
        return np.zeros(m, np.int64)
    z = linkage(d, method="complete")
    return np.asarray(fcluster(z, t=1.0, criterion="distance"), np.int64) - 1
