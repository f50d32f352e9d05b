"""Labels from pairs: connected components by union-find, and labels renumbered (compiled).

Used by grouping's steps (:mod:`.kernels` names them too) and by the pipeline; the forest is
its own step (:func:`union`) so that pairs found in parts, some in another thread
(:mod:`.report_pairs`), are joined as they come.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numpy.typing import NDArray

__all__ = ["component_labels", "components", "dense_labels", "first_seen", "union"]

I64 = NDArray[np.int64]


@njit(cache=True, error_model="numpy")
def dense_labels(comp: I64, sub: I64, ncomp: int) -> I64:
    """Labels 0.. of the ``(component, sub-label)`` pairs, in order of component then
    sub-label."""
    m = len(comp)
    width = np.zeros(ncomp + 1, np.int64)
    for u in range(m):
        width[comp[u] + 1] = max(width[comp[u] + 1], sub[u] + 1)
    start = np.cumsum(width)
    used = np.zeros(start[-1] + 1, np.int64)
    for u in range(m):
        used[start[comp[u]] + sub[u] + 1] = 1
    rank = np.cumsum(used)
    out = np.empty(m, np.int64)
    for u in range(m):
        out[u] = rank[start[comp[u]] + sub[u] + 1] - 1
    return out


@njit(cache=True, error_model="numpy")
def first_seen(label: I64) -> I64:
    """``label`` (non-negative) renumbered 0.. in order of first appearance."""
    rank = np.full(label.max() + 1 if len(label) else 0, -1, np.int64)
    out = np.empty(len(label), np.int64)
    n = 0
    for r in range(len(label)):
        g = label[r]
        if rank[g] < 0:
            rank[g] = n
            n += 1
        out[r] = rank[g]
    return out


@njit(cache=True, error_model="numpy")
def components(m: int, ei: I64, ej: I64) -> tuple[int, I64]:
    """Connected components (labels 0.. in order of first member) by union-find."""
    parent = np.arange(m)
    union(parent, ei, ej)
    return component_labels(parent)


@njit(cache=True, nogil=True, error_model="numpy")
def union(parent: I64, ei: I64, ej: I64) -> None:
    """Union-find's forest ``parent`` (a root is its own parent; each tree's root its
    smallest member) with the pairs ``(ei, ej)`` joined, in place: pairs can be joined in
    parts, and the last part's forest is the one all of them at once gives."""
    for k in range(len(ei)):
        a, b = ei[k], ej[k]
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        while parent[b] != b:
            parent[b] = parent[parent[b]]
            b = parent[b]
        if a != b:
            if a < b:
                parent[b] = a
            else:
                parent[a] = b


@njit(cache=True, error_model="numpy")
def component_labels(parent: I64) -> tuple[int, I64]:
    """The trees of the forest ``parent`` (:func:`union`) labelled 0.. in order of first
    member, and their number."""
    m = len(parent)
    label = np.full(m, -1, np.int64)
    n = 0
    for u in range(m):
        r = u
        while parent[r] != r:
            r = parent[r]
        if label[r] < 0:
            label[r] = n
            n += 1
        label[u] = label[r]
    return n, label
