"""Compiled loops of :mod:`.same_shot`: which more precise fixes each fix agrees with.

:func:`.same_shot.same_shots` tests each located fix against the fixes near it in time: a
dozen numpy temporaries per fix, for fixes that mostly have a handful of neighbours, was 8 %
of a dense check (the 3-day 20x store, session 38; half in the end joins, half in the
calibration passes' joins). One compiled loop per fix makes the same tests, value by value
in the same operations and order (the Mahalanobis distance as :func:`.same_shot._m2` writes
it, IEEE without contraction), so each answer is the listed one's. Each group's sources are
a sorted run of ``val`` from ``ptr`` (:func:`source_runs`).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit
from numpy.typing import NDArray

from truceline.core.fusion.batch import ROLE_ANY, ROLE_ORIGIN

__all__ = ["agree_sharper", "agree_typed", "source_runs"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
B = NDArray[np.bool_]


def source_runs(labels: I64, source: I64, G: int) -> tuple[I64, I64]:
    """``(ptr, val)``: group ``g``'s distinct sources, sorted, are ``val[ptr[g]:ptr[g + 1]]``
    (the sets of :func:`.group_join.group_sources`, as runs a kernel reads)."""
    o = np.lexsort((source, labels))
    lab, src = labels[o], source[o]
    keep = np.ones(len(o), bool)
    keep[1:] = (lab[1:] != lab[:-1]) | (src[1:] != src[:-1])
    lab, src = lab[keep], src[keep]
    ptr = np.searchsorted(lab, np.arange(G + 1)).astype(np.int64)
    return ptr, np.ascontiguousarray(src, np.int64)


@njit(cache=True, inline="always", error_model="numpy")
def _shares(ptr: I64, val: I64, u: int, g: int) -> bool:
    """Whether groups ``u`` and ``g`` share a source (two sorted runs merged)."""
    i, j, ie, je = ptr[u], ptr[g], ptr[u + 1], ptr[g + 1]
    while i < ie and j < je:
        if val[i] == val[j]:
            return True
        if val[i] < val[j]:
            i += 1
        else:
            j += 1
    return False


@njit(cache=True, inline="always", error_model="numpy")
def _m2(x: F64, y: F64, cov: F64, u: int, g: int) -> float:
    """:func:`.same_shot._m2` of one pair, the same operations in the same order."""
    d0, d1 = x[g] - x[u], y[g] - y[u]
    c00, c01 = cov[g, 0, 0] + cov[u, 0, 0], cov[g, 0, 1] + cov[u, 0, 1]
    c10, c11 = cov[g, 1, 0] + cov[u, 1, 0], cov[g, 1, 1] + cov[u, 1, 1]
    det = c00 * c11 - c01 * c10
    if det > 0:
        return (c11 * (d0 * d0) - 2.0 * c01 * d0 * d1 + c00 * (d1 * d1)) / det
    return math.inf


@njit(cache=True, error_model="numpy")
def agree_sharper(us: I64, ats: I64, tos: I64, order: I64, his: F64, lo: F64, hi: F64,
                  role: NDArray[np.int8], side: I64, unsure: B, reports: B, partner: I64,
                  tr: F64, own: I64, size: I64, x: F64, y: F64, cov: F64, ptr: I64, val: I64,
                  f: F64, linked: bool, sharper: bool) -> tuple[I64, I64]:
    """For each fix ``us[i]`` (its neighbours ``order[ats[i]:tos[i]]``): how many fixes it is
    taken as the same part of (0, 1 or 2 for more) and the first of them, by
    :func:`.same_shot.same_shots`' tests (a linked fix: into the one sharper fix of its part
    it agrees with, which holds ``linked_min_reports`` and is unlinked).
    ``f``: margin, gap_s, linked_gap_s, max_mahalanobis², lone_mahalanobis², lone_sharper²,
    lone_reach_m, lone_gap_s, linked_sharper², linked_min_reports."""
    margin, gap, lgap, m3, m5, ls2, reach, lone_gap, lk2, lmin = (
        f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8], f[9])
    n = len(us)
    count, first = np.zeros(n, np.int64), np.full(n, -1, np.int64)
    for i in range(n):
        u = us[i]
        ru, wide = role[u], lo[u] - margin
        into = partner[u] >= 0 and not linked
        if into and not (sharper and ru != ROLE_ANY):
            continue
        n3, g3, n5, g5, m_5 = 0, -1, 0, -1, 0.0
        for t in range(ats[i], tos[i]):
            if not his[t] >= wide:
                continue
            g = order[t]
            if g == u:
                continue
            if ru == ROLE_ANY:
                same = role[g] != ROLE_ANY and not unsure[g]
            elif unsure[u]:
                same = role[g] == ROLE_ORIGIN
            else:
                same = role[g] == ru and side[g] == side[u]
            if into:  # a linked fix: into a sharper one of its part (or an untyped one)
                if not ((same or (role[g] == ROLE_ANY and reports[g])) and tr[g] < tr[u]
                        and lo[g] <= hi[u] + lgap and hi[g] >= lo[u] - lgap):
                    continue
            elif not (same and tr[g] < tr[u] and own[g] > own[u]
                      and (partner[u] < 0 or partner[g] < 0)
                      and lo[g] <= hi[u] + gap and hi[g] >= lo[u] - gap):
                continue
            if _shares(ptr, val, u, g):
                continue
            m2 = _m2(x, y, cov, u, g)
            if m2 <= m3:
                n3 += 1
                if g3 < 0:
                    g3 = g
            if m2 <= m5:
                n5 += 1
                if g5 < 0:
                    g5, m_5 = g, m2
        if into:
            k, g = (n5, g5) if size[u] == 1 else (n3, g3)
            if k != 1 or partner[g] >= 0 or size[g] < lmin or tr[g] > lk2 * tr[u]:
                continue
            if size[u] == 1 and m_5 > m3 and (tr[g] > ls2 * tr[u] or math.hypot(
                    x[g] - x[u], y[g] - y[u]) > reach):
                continue
            count[i], first[i] = 1, g
        elif n3 == 0 and size[u] == 1 and partner[u] < 0:
            # the next ring, for one report's fix: every fix there is a rival, sharp or not
            if n5 == 1 and (tr[g5] > ls2 * tr[u] or math.hypot(x[g5] - x[u], y[g5] - y[u])
                            > reach or lo[g5] > hi[u] + lone_gap or hi[g5] < lo[u] - lone_gap):
                n5 = 0
            count[i], first[i] = min(n5, 2), g5
        else:
            count[i], first[i] = min(n3, 2), g3
    return count, first


@njit(cache=True, error_model="numpy")
def agree_typed(arrays: I64, typed: I64, lo: F64, hi: F64, gap: float, m3: float, x: F64,
                y: F64, cov: F64, ptr: I64, val: I64) -> tuple[I64, I64]:
    """For each fix ``arrays[i]``: how many of ``typed`` (windows within ``gap``, no common
    source) it agrees with within ``m3`` (0, 1 or 2 for more) and the first of them
    (:func:`.same_shot._into_looser`'s test)."""
    n = len(arrays)
    count, first = np.zeros(n, np.int64), np.full(n, -1, np.int64)
    for i in range(n):
        u = arrays[i]
        for g in typed:
            if not (lo[g] <= hi[u] + gap and hi[g] >= lo[u] - gap):
                continue
            if _m2(x, y, cov, u, g) <= m3 and not _shares(ptr, val, u, g):
                count[i] += 1
                if first[i] < 0:
                    first[i] = g
        count[i] = min(count[i], 2)
    return count, first
