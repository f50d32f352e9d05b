"""Compiled loops of grouping: the pair gates, the gated candidate sweep and complete linkage
of small components (connected components and labels are in :mod:`.labels`, named here too).

These are the loops numpy cannot express without gathering every candidate pair into
temporaries (which is what bounded grouping at a million reports); numba compiles them once
(cached on disk). Every gate is written here once and used by the sweep, the split and the
callers in :mod:`.graph`.

A unit's gate data is one row of a packed float matrix (columns ``F_*``) plus its role and
its sources (``-1`` padded). ``mode`` 0 gates located units, ``mode`` 1 two bare arrival times.
"""

from __future__ import annotations

import math

import numpy as np
from numba import get_num_threads, njit, prange
from numpy.typing import NDArray

from truceline.core.fusion.batch import ROLE_ANY
from truceline.core.fusion.labels import (
    component_labels,
    components,
    dense_labels,
    first_seen,
    union,
)
from truceline.core.fusion.parallel import PARALLEL

__all__ = ["PARALLEL", "component_labels", "components", "dense_labels", "first_seen", "gate",
           "gate_pairs", "pack_rows", "reach2", "split_small", "sweep", "threads", "union"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


def threads() -> int:
    """How many chunks the parallel loops cut their work into (numba's thread count)."""
    return int(get_num_threads())


F_MX, F_MY, F_SXX, F_SXY, F_SYY, F_TLO, F_THI, F_ARR, F_OX, F_OY, F_C = range(11)
N_F = 11
BIG = 1.0e6  # "never link" (scipy's linkage needs finite values)


@njit(cache=True, inline="always", error_model="numpy")
def _shares(src: I64, i: int, j: int) -> bool:
    W = src.shape[1]
    for p in range(W):
        a = src[i, p]
        if a < 0:
            break
        for q in range(W):
            c = src[j, q]
            if c < 0:
                break
            if a == c:
                return True
    return False


@njit(cache=True, inline="always", error_model="numpy")
def _roles_link(a: int, b: int) -> bool:
    """Whether reports of roles ``a`` and ``b`` may describe one event: the same role, or
    either undetermined (an origin's and an impact's reports are different places)."""
    return (a == b) | (a == ROLE_ANY) | (b == ROLE_ANY)


@njit(cache=True, inline="always", error_model="numpy")
def gate(F: F64, role: NDArray[np.int8], src: I64, i: int, j: int, mode: int,
         bound: float, slack: float, span: float) -> float:
    """Gated distance of units ``i`` and ``j``: ``<= 1`` passes every gate, ``BIG`` fails one.

    :func:`gate_values` of the two rows, then mode 0's cannot-link rule per source.
    """
    d = gate_values(mode, role[i], F[i, F_MX], F[i, F_MY], F[i, F_SXX], F[i, F_SXY], F[i, F_SYY],
                    F[i, F_TLO], F[i, F_THI], F[i, F_ARR], F[i, F_OX], F[i, F_OY], F[i, F_C],
                    src[i, 0], role[j], F[j, F_MX], F[j, F_MY], F[j, F_SXX], F[j, F_SXY],
                    F[j, F_SYY], F[j, F_TLO], F[j, F_THI], F[j, F_ARR], F[j, F_OX],
                    F[j, F_OY], F[j, F_C], src[j, 0], bound, slack, span)
    if mode == 0 and d < BIG and _shares(src, i, j):  # cannot-link: one report per event
        return BIG
    return d


@njit(cache=True, inline="always", error_model="numpy")
def gate_values(mode: int, ri: int, mxi: float, myi: float, sxxi: float, sxyi: float,
                syyi: float, tli: float, thi: float, ai: float, oxi: float, oyi: float,
                ci: float, si: int, rj: int, mxj: float, myj: float, sxxj: float,
                sxyj: float, syyj: float, tlj: float, thj: float, aj: float, oxj: float,
                oyj: float, cj: float, sj: int, bound: float, slack: float, span: float
                ) -> float:
    """:func:`gate` of two units given as plain values (role, ``F_*`` columns, first source)
    but for mode 0's cannot-link rule, which the caller tests where this passes (a failed
    test gives ``BIG``: the order makes no difference). A loop over many pairs reads its
    arrays and calls this: the gate's array arguments, inlined, cost more than its work.

    Mode 1 (two bare arrival times): the TDOA limit ``|a_i - a_j| <= 1.03 |s_i - s_j| / c``
    plus ``slack``, sensors within ``span``, two sources. A pair of one array ranks in
    ``[0, 0.5]``, one across arrays in ``[0.5, 1]``, so that complete linkage gathers each
    array's arrivals of one sound first: the limit between arrays 14 km apart is 40 s, which
    the launch at one and the burst at the other pass closer (in ``dt / limit``) than two
    sensors of one array pass for one sound, and an array's arrival merged first with the
    other array's other sound was left out of its own array's group. Mode 0: compatible roles,
    overlapping time windows, the Mahalanobis distance of both covariances under ``bound``,
    the TDOA limit where both carry an arrival time; the distance mixes the Mahalanobis and
    the time-window terms.
    """
    if mode == 1:
        sep = math.hypot(oxi - oxj, oyi - oyj)
        lim = 1.03 * sep / min(ci, cj) + slack
        dt = abs(ai - aj)
        if dt <= lim and si != sj and sep <= span:
            return 0.5 * dt / lim + (0.0 if sep <= bound else 0.5)
        return BIG
    if not _roles_link(ri, rj):
        return BIG
    if not (tli <= thj and tlj <= thi):
        return BIG
    dx, dy = mxi - mxj, myi - myj
    a = sxxi + sxxj
    b = sxyi + sxyj
    c = syyi + syyj
    m2 = (c * dx * dx - 2.0 * b * dx * dy + a * dy * dy) / (a * c - b * b)
    if not m2 <= bound:
        return BIG
    if math.isfinite(ai) and math.isfinite(aj):
        base = math.hypot(oxi - oxj, oyi - oyj) / min(ci, cj)
        if abs(ai - aj) > 1.02 * base + slack:
            return BIG
    half = (thi - tli + thj - tlj) / 2.0 + 1e-9
    dt = abs((tli + thi) / 2.0 - (tlj + thj) / 2.0) / half
    return math.sqrt(0.5 * (m2 / bound + dt * dt))


@njit(cache=True, error_model="numpy", parallel=True)
def pack_rows(rows: I64, mx: F64, my: F64, sxx: F64, sxy: F64, syy: F64, t_lo: F64,
              t_hi: F64, arr: F64, ox: F64, oy: F64, c: F64, F: F64) -> F64:
    """The gate's float rows (columns ``F_*``) of reports ``rows``, gathered in one pass into
    ``F`` (``len(rows)`` by ``N_F``, allocated by the caller: see :func:`sweep`)."""
    for k in prange(len(rows)):
        pack_row(F, k, rows[k], mx, my, sxx, sxy, syy, t_lo, t_hi, arr, ox, oy, c)
    return F


@njit(cache=True, inline="always", error_model="numpy")
def pack_row(F: F64, k: int, r: int, mx: F64, my: F64, sxx: F64, sxy: F64, syy: F64,
             t_lo: F64, t_hi: F64, arr: F64, ox: F64, oy: F64, c: F64) -> None:
    """Row ``k`` of ``F``: report ``r``'s (:func:`pack_rows`)."""
    F[k, F_MX], F[k, F_MY] = mx[r], my[r]
    F[k, F_SXX], F[k, F_SXY], F[k, F_SYY] = sxx[r], sxy[r], syy[r]
    F[k, F_TLO], F[k, F_THI], F[k, F_ARR] = t_lo[r], t_hi[r], arr[r]
    F[k, F_OX], F[k, F_OY], F[k, F_C] = ox[r], oy[r], c[r]


@njit(cache=True, error_model="numpy")
def gate_pairs(F: F64, role: NDArray[np.int8], src: I64, ei: I64, ej: I64, mode: int,
               bound: float, slack: float, span: float) -> F64:
    """:func:`gate` for many pairs."""
    out = np.empty(len(ei))
    for k in range(len(ei)):
        out[k] = gate(F, role, src, ei[k], ej[k], mode, bound, slack, span)
    return out


@njit(cache=True, error_model="numpy", parallel=True)
def reach2(F: F64, gate_chi2: float) -> F64:
    """How far (squared) a unit's Mahalanobis gate reaches: ``gate_chi2`` times its
    covariance's largest eigenvalue (``inf`` where that is not finite). Two units whose
    centres are farther apart than ``sqrt(reach2_i + reach2_j)`` fail the gate."""
    out = np.empty(F.shape[0])
    for u in prange(F.shape[0]):
        out[u] = reach2_of(F, u, gate_chi2)
    return out


@njit(cache=True, inline="always", error_model="numpy")
def reach2_of(F: F64, u: int, gate_chi2: float) -> float:
    """:func:`reach2` of unit ``u``."""
    a, b, c = F[u, F_SXX], F[u, F_SXY], F[u, F_SYY]
    e = gate_chi2 * ((a + c) / 2.0 + math.sqrt(((a - c) / 2.0) ** 2 + b * b))
    return e if math.isfinite(e) else np.inf


def sweep(F: F64, role: NDArray[np.int8], src: I64, query: NDArray[np.bool_], mode: int,
          bound: float, slack: float, span: float, reach2: F64, scale_m: float,
          scale_s: float, radius: float, budget: int, caps: I64, order: I64
          ) -> tuple[I64, I64, F64, I64, bool]:
    """Every pair of units that passes :func:`gate` and lies within ``radius`` of each other
    in the normalised space-time ``(x/scale_m, y/scale_m, t/scale_s)``, each once as
    ``(i, j)``, ``i < j``, with its gated distance. Two ``query`` units are never paired
    (they only look for the others). ``order`` sorts the units by window start, ties kept in
    index order (numpy's stable sort, adaptive on the nearly sorted input batches are).

    A sweep in order of window start keeps the units whose window is still open in a hashed
    grid of squares (:func:`_sweep_chunk`). The time order is cut into ``len(caps)`` chunks
    run in parallel, each first filling its grid with the earlier units still open at its
    start: the pairs are the same for any number of chunks. Returns ``False`` (and no pairs)
    when more than ``budget`` pairs in all would need gating (a total, so the decision does
    not depend on the chunks either): the caller then bounds the work another way (a dense
    burst). Chunk ``c``'s pairs go into ``caps[c]`` rows; the counts returned are what each
    chunk needed, and where one is larger than its room the caller runs again with those
    counts as ``caps`` (growing arrays inside the loop would cost more than the sweep).
    """
    m, P = F.shape[0], len(caps)
    # the large arrays come from numpy, which asks the kernel for huge pages: allocated in
    # compiled code, each 4 KiB page would fault on first touch (thousands per call)
    return _sweep(F, role, src, query, mode, bound, slack, span, reach2, scale_m, scale_s,
                  radius, budget, np.asarray(caps, np.int64), order, np.empty((m, F.shape[1])),
                  np.empty((m, src.shape[1]), np.int64), np.empty(int(np.sum(caps)), np.int64),
                  np.empty(int(np.sum(caps)), np.int64), np.empty(int(np.sum(caps))),
                  np.empty((P, 4, m)), np.empty((P, 2, m), np.int64))


@njit(cache=True, nogil=True, error_model="numpy")
def sweep_shape(F: F64, role: NDArray[np.int8]) -> tuple[int, float, int]:
    """The sweep's roles present (bit r: some unit has role r), widest window and hash size:
    the table needs room for the open units only; small, it stays in cache (the units come
    in time order from all over the line, so a large table misses on every lookup)."""
    lo_t, hi_t, open_s, max_w = np.inf, -np.inf, 0.0, 0.0
    roles = 0
    for u in range(F.shape[0]):
        roles |= 1 << role[u]
        w = F[u, F_THI] - F[u, F_TLO]
        if math.isfinite(w):
            lo_t, hi_t = min(lo_t, F[u, F_TLO]), max(hi_t, F[u, F_THI])
            open_s, max_w = open_s + w, max(max_w, w)
    H = 1024
    while 32.0 * open_s / max(hi_t - lo_t, 1.0) > H and H < (1 << 20):
        H *= 2
    return roles, max_w, H


@njit(cache=True, error_model="numpy", parallel=True)
def _sweep(F: F64, role: NDArray[np.int8], src: I64, query: NDArray[np.bool_], mode: int,
           bound: float, slack: float, span: float, reach2: F64, scale_m: float,
           scale_s: float, radius: float, budget: int, caps: I64, order: I64, Fs: F64, ss: I64,
           out_i: I64, out_j: I64, out_d: F64, scratch_f: F64, scratch_i: I64
           ) -> tuple[I64, I64, F64, I64, bool]:
    """:func:`sweep` into buffers: ``Fs`` and ``ss`` for the units in window-start order,
    ``out_*`` with room for ``caps``, each chunk's grid in ``scratch_*[chunk]``."""
    m = F.shape[0]
    P = len(caps)
    offs = np.zeros(P + 1, np.int64)
    for c in range(P):
        offs[c + 1] = offs[c] + caps[c]
    counts = np.zeros(P, np.int64)
    if m < 2:
        return out_i[:0], out_j[:0], out_d[:0], counts, True
    roles, max_w, H = sweep_shape(F, role)
    # work on a copy in window-start order: the open units are then a recent, contiguous
    # stretch of rows that stays in cache, where random rows of ``F`` would each miss
    rs = np.empty(m, np.int8)
    es = np.empty(m)
    qs = np.empty(m, np.bool_)
    for r in prange(m):
        u = order[r]
        qs[r] = query[u]
        rs[r] = role[u]
        es[r] = reach2[u]
        for col in range(F.shape[1]):
            Fs[r, col] = F[u, col]
        for col in range(src.shape[1]):
            ss[r, col] = src[u, col]
    checked = np.zeros(P, np.int64)
    for c in prange(P):
        lo, hi = c * m // P, (c + 1) * m // P
        counts[c], checked[c] = _sweep_chunk(
            Fs, rs, ss, es, qs, order, lo, hi, max_w, H, roles, mode, bound, slack, span,
            scale_m, scale_s, radius, budget, out_i[offs[c]:offs[c + 1]],
            out_j[offs[c]:offs[c + 1]], out_d[offs[c]:offs[c + 1]], scratch_f[c], scratch_i[c])
    if checked.sum() > budget:
        return out_i[:0], out_j[:0], out_d[:0], counts, False
    for c in range(P):
        if counts[c] > caps[c]:
            return out_i[:0], out_j[:0], out_d[:0], counts, True
    k = counts[0]  # close the gaps between the chunks' rows, in place (no second copy)
    for c in range(1, P):
        for q in range(offs[c], offs[c] + counts[c]):
            out_i[k], out_j[k], out_d[k] = out_i[q], out_j[q], out_d[q]
            k += 1
    return out_i[:k], out_j[:k], out_d[:k], counts, True


@njit(cache=True, inline="always", error_model="numpy")
def _slot(gx: int, gy: int, r: int, H: int) -> int:
    """The hash slot of square ``(gx, gy)`` in role ``r``'s grid (``H`` a power of two)."""
    return ((gx * 73856093) ^ (gy * 19349663) ^ (r * 83492791)) & (H - 1)


@njit(cache=True, inline="always", error_model="numpy")
def _square(gx: int, gy: int, r: int) -> int:
    """A key that tells square ``(gx, gy)`` of role ``r`` from others sharing its slot."""
    return (((gx << 32) ^ (gy & 0xFFFFFFFF)) << 2) + r


@njit(cache=True, error_model="numpy")
def _sweep_chunk(Fs: F64, rs: NDArray[np.int8], ss: I64, es: F64, qs: NDArray[np.bool_],
                 order: I64, lo: int, hi: int, max_w: float, H: int, roles: int, mode: int,
                 bound: float, slack: float, span: float, scale_m: float, scale_s: float,
                 radius: float, budget: int, out_i: I64, out_j: I64, out_d: F64,
                 scratch_f: F64, scratch_i: I64) -> tuple[int, int]:
    """The pairs whose later unit (in window-start order) is one of ``lo .. hi - 1``.

    Units whose window is still open sit in a hashed grid of squares of side
    ``radius * scale_m``, one grid per role (``roles`` says which occur); each unit looks only
    in the 3 x 3 squares around its own of the roles it may link with (an origin never links
    an impact: the gate's first test), drops the units whose window closed (they can overlap
    no later one) and gates the rest whose centres are within the
    Mahalanobis bound ``chi2 * (l_i + l_j)`` (``es`` holds each covariance's largest
    eigenvalue ``l`` times the gate's ``chi2``). Work is the number of near pairs, not of all pairs.
    Returns the number of pairs (written up to the buffers' length) and of pairs gated,
    stopping once that passes ``budget``.
    """
    cap = len(out_i)
    cell = radius * scale_m  # no pair is farther apart than one square
    head = np.full(H, -1, np.int64)
    # what a scan reads of an open unit, in arrays of their own (a row of ``Fs`` spans two
    # cache lines, and most units a scan meets fail on these four numbers)
    nxt, key = scratch_i[0], scratch_i[1]
    ths, xs, ys, tms = scratch_f[0], scratch_f[1], scratch_f[2], scratch_f[3]
    r2 = radius * radius
    inv_s = 1.0 / (2.0 * scale_s)
    inv_m2 = 1.0 / (scale_m * scale_m)
    first = lo
    if lo > 0:  # the earlier units still open at this chunk's first start
        t_first = Fs[lo, F_TLO]
        while first > 0 and Fs[first - 1, F_TLO] >= t_first - max_w:
            first -= 1
    n_out = 0
    checked = 0
    for u in range(first, hi):
        lo_u, hi_u = Fs[u, F_TLO], Fs[u, F_THI]
        xu, yu, eu, qu = Fs[u, F_MX], Fs[u, F_MY], es[u], qs[u]
        if not (math.isfinite(xu) and math.isfinite(yu) and math.isfinite(lo_u)):
            continue
        cx, cy = math.floor(xu / cell), math.floor(yu / cell)
        tm_u = lo_u + hi_u
        if u >= lo:
            ru = rs[u]
            for rr in range(ROLE_ANY + 1):  # the roles' grids this unit may link with
                if not (roles >> rr) & 1 or not _roles_link(ru, rr):
                    continue
                for gx in range(cx - 1, cx + 2):
                    for gy in range(cy - 1, cy + 2):
                        h = _slot(gx, gy, rr, H)
                        kk = _square(gx, gy, rr)
                        prev = -1
                        v = head[h]
                        while v >= 0:
                            nv = nxt[v]
                            if ths[v] < lo_u:  # closed: unlink for good
                                if prev < 0:
                                    head[h] = nv
                                else:
                                    nxt[prev] = nv
                                v = nv
                                continue
                            prev = v
                            if key[v] == kk:  # not another square sharing this slot
                                dx, dy = xs[v] - xu, ys[v] - yu
                                d2 = dx * dx + dy * dy
                                dt = (tms[v] - tm_u) * inv_s
                                if (d2 <= eu + es[v] and d2 * inv_m2 + dt * dt <= r2
                                        and not (qu and qs[v])):
                                    checked += 1
                                    d = gate(Fs, rs, ss, u, v, mode, bound, slack, span)
                                    if d <= 1.0:
                                        if n_out < cap:
                                            a, b = order[u], order[v]
                                            out_i[n_out], out_j[n_out] = min(a, b), max(a, b)
                                            out_d[n_out] = d
                                        n_out += 1
                            v = nv
            if checked > budget:  # the whole sweep is over budget: stop here
                return n_out, checked
        elif hi_u < Fs[lo, F_TLO]:
            continue  # closed before this chunk starts
        h = _slot(cx, cy, rs[u], H)
        key[u] = _square(cx, cy, rs[u])
        ths[u], xs[u], ys[u], tms[u] = hi_u, xu, yu, tm_u
        nxt[u] = head[h]
        head[h] = u
    return n_out, checked


@njit(cache=True, error_model="numpy", parallel=True)
def split_small(F: F64, role: NDArray[np.int8], src: I64, mode: int, bound: float,
                slack: float, span: float, comp: I64, ncomp: int, ei: I64, ej: I64, dist: F64,
                complete: bool, max_size: int, chunks: int) -> tuple[I64, NDArray[np.bool_]]:
    """Sub-labels (unique within a component) so that every pair of a group passes the gate.

    A component whose edges make it a clique stays whole. Any other of at most ``max_size``
    units gets complete linkage cut at 1 (:func:`_complete_linkage`). Where the edges are
    ``complete`` (every pair that passes is among them, with its distance ``dist``), the
    others fail and need no gating; otherwise every pair is gated here. Returns the
    sub-labels and which components are left to the caller (larger ones).
    """
    m = len(comp)
    size = np.zeros(ncomp, np.int64)
    edges = np.zeros(ncomp, np.int64)
    for u in range(m):
        size[comp[u]] += 1
    ce = np.empty(len(ei), np.int64)  # each edge's component, read again below
    for k in range(len(ei)):
        c = comp[ei[k]]
        ce[k] = c
        edges[c] += 1
    start = np.zeros(ncomp + 1, np.int64)
    for c in range(ncomp):
        start[c + 1] = start[c] + size[c]
    fill = start[:-1].copy()
    mem = np.empty(m, np.int64)
    pos = np.empty(m, np.int64)
    for u in range(m):
        c = comp[u]
        q = fill[c]
        mem[q], pos[u] = u, q - start[c]
        fill[c] = q + 1
    # the edges of the components to cut, by component: their ends' places in it and their
    # distance, contiguous (a cut then reads its edges in one stretch, not all over the list)
    cut = np.zeros(ncomp, np.bool_)
    for c in range(ncomp):
        cut[c] = complete and edges[c] != size[c] * (size[c] - 1) // 2 and size[c] <= max_size
    estart = np.zeros(ncomp + 1, np.int64)
    for c in range(ncomp):
        estart[c + 1] = estart[c] + (edges[c] if cut[c] else 0)
    efill = estart[:-1].copy()
    ea = np.empty(estart[-1], np.int64)
    eb = np.empty(estart[-1], np.int64)
    ed = np.empty(estart[-1])
    for k in range(len(ei)):
        c = ce[k]
        if cut[c]:
            q = efill[c]
            ea[q], eb[q], ed[q] = pos[ei[k]], pos[ej[k]], dist[k]
            efill[c] = q + 1
    sub = np.zeros(m, np.int64)
    left = np.zeros(ncomp, np.bool_)
    P = max(1, min(chunks, ncomp // 256 + 1))
    # the chunks' bounds by the work of their cuts (a cut is ~S^2), not by their count: the
    # components are in no order of size, and halves by count differed by a third
    bounds = np.full(P + 1, ncomp, np.int64)
    bounds[0] = 0
    work = np.ones(ncomp, np.int64)
    for c in range(ncomp):
        if edges[c] != size[c] * (size[c] - 1) // 2 and size[c] <= max_size:
            work[c] += size[c] * size[c]
    total = work.sum()
    acc, ch = 0, 1
    for c in range(ncomp):
        while ch < P and acc * P >= ch * total:
            bounds[ch] = c
            ch += 1
        acc += work[c]
    for ch in prange(P):  # components are independent: cut them on every core
        buf = np.empty(max_size * max_size)
        lab = np.empty(max_size, np.int64)
        best = np.empty(max_size)
        arg = np.empty(max_size, np.int64)
        act = np.empty(max_size, np.int64)
        for c in range(bounds[ch], bounds[ch + 1]):
            S = size[c]
            if edges[c] == S * (S - 1) // 2:
                continue
            if max_size < S:
                left[c] = True
                continue
            rows = mem[start[c]:start[c + 1]]
            D = buf[:S * S].reshape((S, S))  # compact: its columns are read on every merge
            if complete:
                buf[:S * S] = np.inf  # one flat fill (a loop over D's rows ran ~2x longer)
                for q in range(estart[c], estart[c + 1]):
                    a, b = ea[q], eb[q]
                    D[a, b] = ed[q]
                    D[b, a] = ed[q]
            else:
                clique = True
                for a in range(S):
                    D[a, a] = np.inf
                    lab[a] = a
                    for b in range(a + 1, S):
                        d = gate(F, role, src, rows[a], rows[b], mode, bound, slack, span)
                        D[a, b] = d
                        D[b, a] = d
                        if d > 1.0:
                            clique = False
                if clique:
                    continue
            _complete_linkage(D, S, lab, best, arg, act)
            for a in range(S):
                sub[rows[a]] = lab[a]
    return sub, left


@njit(cache=True, error_model="numpy")
def _row_min(D: F64, act: I64, na: int, a: int, best: F64, arg: I64) -> None:
    """Row ``a``'s nearest column among the live ``act[:na]`` (ascending: the first on ties)."""
    bv, bk = np.inf, -1
    for q in range(na):
        k = act[q]
        if D[a, k] < bv:
            bv, bk = D[a, k], k
    best[a], arg[a] = bv, bk


@njit(cache=True, error_model="numpy")
def _complete_linkage(D: F64, S: int, lab: I64, best: F64, arg: I64, act: I64) -> None:
    """Complete linkage of the symmetric ``D[:S, :S]`` (``inf`` diagonal) cut at 1, in place:
    ``lab`` ends as a representative per point.

    The closest pair merges first (row-major on ties); the merged row is the farther of the
    two. Each row caches its nearest column; a merge only raises distances, so only the rows
    whose nearest was one of the pair need a new scan: ``O(S^2)`` in practice, not ``O(S^3)``.
    Every pass reads the live rows and columns only (``act``, ascending: a merged-away row
    and column were ``inf`` and never picked, so the picks are those of a pass over all
    ``S``, and they need not be cleared), and a merged point's representative is followed at
    the end instead of relabelling on every merge.
    """
    bi, bv = -1, np.inf
    for a in range(S):
        act[a] = a
        lab[a] = a
    for a in range(S):
        _row_min(D, act, S, a, best, arg)
        if best[a] < bv:
            bv, bi = best[a], a
    na = S
    while bv <= 1.0:
        bj = arg[bi]
        # one pass: row and column bi the farther of the two (bj's are read no more), and
        # bj out of the live rows, their order kept
        w = 0
        for q in range(na):
            k = act[q]
            v = max(D[bi, k], D[bj, k])
            D[bi, k] = v
            D[k, bi] = v
            if k != bj:
                act[w] = k
                w += 1
        na = w
        D[bi, bi] = np.inf
        lab[bj] = bi
        best[bj], arg[bj] = np.inf, -1
        # the rows that were nearest to bi or bj scanned again, and the next closest pair
        bi0, bi, bv = bi, -1, np.inf
        for q in range(na):
            a = act[q]
            if a == bi0 or arg[a] == bi0 or arg[a] == bj:
                _row_min(D, act, na, a, best, arg)
            if best[a] < bv:
                bv, bi = best[a], a
    for a in range(S):  # each point's representative: the chain of merges to a live row
        r = a
        while lab[r] != r:
            r = lab[r]
        lab[a] = r
