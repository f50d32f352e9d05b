"""Groups joined into others: each group's emission window, and the numbering after a join.

Two stages join a group into another after locating (:mod:`.heard`'s unlocated arrivals
and :mod:`.same_shot`'s second fix of one shot); both renumber the groups in order of their
first report, so that a result does not depend on which stage ran, and read the same
emission windows to decide what may join, and the same facts of each group (its side, size,
sources and reports).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from truceline.core.fusion import kernels
from truceline.core.fusion.batch import ROLE_ANY, ROLE_ORIGIN, FireBatch
from truceline.core.fusion.locate import M_ARRIVAL, Fixes

__all__ = ["Sources", "emission_windows", "group_rows", "group_sides", "group_sizes",
           "group_sources", "joined_numbering"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
#: Each group's sources (:func:`group_sources`).
Sources = dict[int, set[int]]


def emission_windows(b: FireBatch, labels: I64, fixes: Fixes, G: int) -> tuple[F64, F64]:
    """Each group's emission-time window: where its reports' windows overlap (their hull
    where they do not), or the multilateration's emission time and its range uncertainty."""
    lo, hi = np.full(G, -np.inf), np.full(G, np.inf)
    np.maximum.at(lo, labels, b.t_lo)
    np.minimum.at(hi, labels, b.t_hi)
    hull_lo, hull_hi = np.full(G, np.inf), np.full(G, -np.inf)
    np.minimum.at(hull_lo, labels, b.t_lo)
    np.maximum.at(hull_hi, labels, b.t_hi)
    bad = ~(lo <= hi)
    lo, hi = np.where(bad, hull_lo, lo), np.where(bad, hull_hi, hi)
    by_t = fixes.located & (fixes.method & M_ARRIVAL > 0)
    spread = 2.0 + 3.0 * np.sqrt(np.nan_to_num(np.trace(fixes.cov, axis1=1, axis2=2))) / 330.0
    lo = np.where(by_t, fixes.t0 - spread, lo)
    hi = np.where(by_t, fixes.t0 + spread, hi)
    return lo, hi


def joined_numbering(labels: I64, u: I64, g: I64, G: int) -> tuple[I64, I64, I64]:
    """Each group ``u[i]`` joined into ``g[i]`` (no ``g`` itself joined): the reports' new
    labels (in order of each new group's first report), each old group's new number (-1 for
    a joined one) and, for each new group, the old group it keeps (``back``)."""
    to = np.arange(G)
    to[u] = g
    merged = to[labels]
    new = kernels.first_seen(merged)
    keep = np.ones(G, bool)
    keep[u] = False
    kept = np.flatnonzero(keep)
    first = np.full(G, len(labels), np.int64)
    first[merged[::-1]] = np.arange(len(labels) - 1, -1, -1)
    newg = np.full(G, -1, np.int64)
    newg[kept] = new[first[kept]]
    back = np.empty(len(kept), np.int64)
    back[newg[kept]] = kept
    return new, newg, back


def group_sides(prob: F64, own_side_max: float) -> I64:
    """Each group's party where its top probability reaches ``own_side_max``, else -1."""
    if not prob.shape[1]:
        return np.full(len(prob), -1, np.int64)
    return np.where(prob.max(axis=1) >= own_side_max, prob.argmax(axis=1), -1)


def group_sizes(labels: I64, partner: I64, G: int) -> tuple[I64, I64]:
    """``(size, own)``: each group's reports, and with its linked part's."""
    size = np.bincount(labels, minlength=G)
    return size, size + np.where(partner >= 0, size[np.maximum(partner, 0)], 0)


def group_sources(labels: I64, source: I64) -> Sources:
    """Each group's sources (a source in two fixes saw two events: they never join). A loop
    over the reports: the end joins (:mod:`.end_joins`) make it once and pass it on."""
    out: Sources = {}
    for g, s in zip(labels.tolist(), source.tolist(), strict=True):
        out.setdefault(g, set()).add(s)
    return out


def take_apart(taken: dict[int, set[int]], sources: Sources, u: int, g: int) -> bool:
    """Whether group ``u`` may join ``g``: no source of ``u`` in ``g`` nor in a group already
    joined to it (a source in both saw two events). If so, ``u``'s sources count as ``g``'s."""
    seen = taken.setdefault(g, set(sources[g]))
    if seen & sources[u]:
        return False
    seen |= sources[u]
    return True


def linked_target(u: int, g: int, partner: I64, role: NDArray[np.int8], gone: NDArray[np.bool_],
                  side: I64) -> bool:
    """Whether the lone group ``u`` may join ``g``: a typed part of a linked pair, not joined
    itself, and on ``u``'s side where ``u`` is an origin on one (the lone joins' common test)."""
    return not (partner[g] < 0 or role[g] == ROLE_ANY or gone[g]
                or (role[u] == ROLE_ORIGIN and side[u] >= 0 and side[g] != side[u]))


def group_rows(labels: I64, G: int) -> list[I64]:
    """Each group's reports (row indices)."""
    by = np.argsort(labels, kind="stable")
    return np.split(by, np.searchsorted(labels[by], np.arange(1, G)))
