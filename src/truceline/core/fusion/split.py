"""The split step: cut a linked component into groups in which every pair passes every gate.

Connected components of the gated graph can chain separate events (A near B near C); complete
linkage cut at the gate keeps only groups whose *every* pair is compatible. Small components are
cut in :func:`.kernels.split_small`; this module cuts the large ones (bursts), slicing them by
time first so that no linkage matrix grows past ``max_component`` squared.
"""

from __future__ import annotations

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
