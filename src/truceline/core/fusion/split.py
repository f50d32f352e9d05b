"""The split step: cut a linked component into groups in which every pair passes every gate.

Connected components of the gated graph can chain separate events (A near B near C); complete
linkage cut at the gate keeps only groups whose *every* pair is compatible.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.cluster.hierarchy import fcluster, linkage

from truceline.core.fusion.batch import GroupingParams

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
Dist = Callable[[I64, I64], F64]

#: Components up to this size are split together, padded to a few common sizes, in numpy;
#: larger ones (rare: bursts) go through scipy's linkage one by one.
SMALL = 48
_PAD = (4, 8, 16, 32, SMALL)


def _split(dist: Any, p: GroupingParams, tm: F64, rows: I64) -> I64:
    """Complete-linkage labels (0..) for one component, cut where a gate fails."""
    m = len(rows)
    if m > p.max_component:  # cut by time first; a slice is still far larger than an event
        order = np.argsort(tm[rows], kind="stable")
        out = np.empty(m, np.int64)
        nxt = 0
        for s in range(0, m, p.max_component):
            part = order[s:s + p.max_component]
            lab = _split(dist, p, tm, rows[part])
            out[part] = lab + nxt
            nxt += int(lab.max()) + 1
        return out
    iu, ju = np.triu_indices(m, 1)
    d = dist(rows[iu], rows[ju])
    if (d <= 1.0).all():
        return np.zeros(m, np.int64)
    if m > 48:
        z = linkage(d, method="complete")
        return np.asarray(fcluster(z, t=1.0, criterion="distance"), np.int64) - 1
    return _complete_linkage_small(d, m)


def _complete_linkage_small(d: F64, m: int) -> I64:
    """Complete linkage cut at 1 for a few points (no validation overhead per component)."""
    full = np.full((m, m), np.inf)
    iu, ju = np.triu_indices(m, 1)
    full[iu, ju] = full[ju, iu] = d
    label = np.arange(m)
    while True:
        k = int(np.argmin(full))
        i, j = divmod(k, m)
        if not full[i, j] <= 1.0:
            break
        merged = np.maximum(full[i], full[j])  # complete: the farther of the two
        full[i], full[:, i] = merged, merged
        full[i, i] = np.inf
        full[j], full[:, j] = np.inf, np.inf
        label[label == j] = i
    return np.asarray(np.unique(label, return_inverse=True)[1], np.int64)


def split_components(comp: I64, ncomp: int, ei: I64, dist: Dist, p: GroupingParams,
                     tm: F64) -> I64:
    """Sub-label (unique within its component) of every point, so that every pair of a final
    group passes the gate.

    ``comp`` are the connected components of the gated edges ``ei`` (their first ends, each
    edge once). A component whose edge count makes it a clique is whole; the others get all
    their pairs gated in one call per padded size, and those that are not cliques of the gate
    are cut by complete linkage all at once (:func:`_complete_linkage_batch`), which is what a
    loop over thousands of tiny components spent its time on.
    """
    m = len(comp)
    size = np.bincount(comp, minlength=ncomp)
    edges = np.bincount(comp[ei], minlength=ncomp)
    bad = edges != size * (size - 1) // 2  # not a clique of the candidate graph
    sub = np.zeros(m, np.int64)
    if not bad.any():
        return sub
    order = np.argsort(comp, kind="stable")
    starts = np.searchsorted(comp[order], np.arange(ncomp + 1))
    lo_s = 0
    for S in _PAD:
        cs = np.flatnonzero(bad & (size > lo_s) & (size <= S))
        lo_s = S
        if not len(cs):
            continue
        pos = np.arange(S)
        valid = pos[None, :] < size[cs][:, None]
        mem = np.where(valid, order[np.minimum(starts[cs][:, None] + pos, m - 1)], -1)
        iu, ju = np.triu_indices(S, 1)
        pv = valid[:, iu] & valid[:, ju]
        D = np.full((len(cs), S, S), np.inf)
        c_idx = np.nonzero(pv)[0]
        a, b = iu[np.nonzero(pv)[1]], ju[np.nonzero(pv)[1]]
        d = dist(mem[c_idx, a], mem[c_idx, b])
        D[c_idx, a, b] = D[c_idx, b, a] = d
        split = np.flatnonzero(~np.all(np.where(pv, D[:, iu, ju] <= 1.0, True), axis=1))
        if len(split):  # a true clique of the gate needs no split
            lab = _complete_linkage_batch(D[split])
            rows = mem[split]
            sub[rows[rows >= 0]] = lab[rows >= 0]
    for cix in np.flatnonzero(bad & (size > SMALL)):
        members = order[starts[cix]:starts[cix + 1]]
        sub[members] = _split(dist, p, tm, members)
    return sub


def _complete_linkage_batch(D: F64) -> I64:
    """Complete linkage cut at 1 on a stack of padded distance matrices (``inf`` padding).

    Step for step the same merges as :func:`_complete_linkage_small` (row-major argmin, so the
    same ties), for all matrices at once; a matrix leaves the loop when its closest pair is
    over the cut. Labels are point indices, unique within each matrix but not dense.
    """
    C, S, _ = D.shape
    label = np.tile(np.arange(S), (C, 1))
    idx = np.arange(C)  # the matrices still merging, and their working copies
    Dw, Lw = D.copy(), label.copy()
    while len(idx):
        n = len(idx)
        flat = Dw.reshape(n, S * S)
        k = flat.argmin(axis=1)
        go = flat[np.arange(n), k] <= 1.0
        if not go.all():  # done: keep their labels, drop them from the stack
            label[idx[~go]] = Lw[~go]
            idx, Dw, Lw, k = idx[go], Dw[go], Lw[go], k[go]
            n = len(idx)
            if not n:
                break
        ar = np.arange(n)
        i, j = np.divmod(k, S)
        merged = np.maximum(Dw[ar, i], Dw[ar, j])  # complete: the farther of the two
        merged[ar, i] = np.inf
        Dw[ar, i, :] = merged
        Dw[ar, :, i] = merged
        Dw[ar, j, :] = np.inf
        Dw[ar, :, j] = np.inf
        Lw = np.where(Lw == j[:, None], i[:, None], Lw)
    return label
