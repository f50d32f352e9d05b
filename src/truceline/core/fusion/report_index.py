"""The reports filed by square and window start, and each arrival unit's pairs with them.

:mod:`.report_pairs` sweeps the reports' pairs among themselves in a thread; that thread also
files the reports here (:func:`index`), so that once the arrays' fixes are known each of
their units finds its pairs with the reports (:func:`cross_all`) as the one sweep
(:func:`.kernels.sweep`) would: the same squares, the same bounds, the gate called with the
later unit first. Apart from the sweeping thread's code: this is the look-up side.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange
from numpy.typing import NDArray

from truceline.core.fusion import kernels
from truceline.core.fusion.kernels import (
    F_ARR,
    F_C,
    F_MX,
    F_MY,
    F_OX,
    F_OY,
    F_SXX,
    F_SXY,
    F_SYY,
    F_THI,
    F_TLO,
    _roles_link,
    gate_values,
)

__all__ = ["cross_all", "index"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

#: Columns of a report in the index (:func:`index`): the gate's row (``F_*``), then these.
M_E, M_SRC, M_ROLE = kernels.N_F, kernels.N_F + 1, kernels.N_F + 2
N_MEM = kernels.N_F + 3


@njit(cache=True, nogil=True, error_model="numpy")
def index(Fs: F64, rs: NDArray[np.int8], ss: I64, es: F64, order: I64, cell: float
           ) -> tuple[I64, I64, I64, I64, I64, F64, I64]:
    """The reports (rows of ``Fs``, in window-start order) by square, as the sweep files them
    but with every role in one bucket (the arrival units that meet them may link with every
    role, so one look-up a square instead of three): each bucket's square (and role 0), an
    open-addressing table of them (:func:`_find`), and each bucket's members (``start``) in
    window-start order with what a scan and the gate read of them."""
    m = Fs.shape[0]
    T = 1024  # kept at most half full, so that it stays small and in cache
    kb = np.full(T, -1, np.int64)
    kx = np.empty(m, np.int64)  # each bucket's square and role
    ky = np.empty(m, np.int64)
    kr = np.empty(m, np.int64)
    bucket = np.full(m, -1, np.int64)
    start = np.zeros(m + 1, np.int64)  # each bucket's count, then where its members start
    nb = 0
    for u in range(m):
        x, y, lo = Fs[u, F_MX], Fs[u, F_MY], Fs[u, F_TLO]
        if not (math.isfinite(x) and math.isfinite(y) and math.isfinite(lo)):
            continue
        gx, gy, r = math.floor(x / cell), math.floor(y / cell), 0  # all roles: see below
        h = _find(kb, kx, ky, kr, gx, gy, r)
        b = kb[h]
        if b < 0:
            b = nb
            kx[nb], ky[nb], kr[nb] = gx, gy, r
            kb[h] = nb
            nb += 1
            if 2 * nb > T:
                T *= 2
                kb = np.full(T, -1, np.int64)
                for c in range(nb):
                    kb[_find(kb, kx, ky, kr, kx[c], ky[c], kr[c])] = c
        bucket[u] = b
        start[b + 1] += 1
    for b in range(nb):
        start[b + 1] += start[b]
    fill = start[:nb].copy()
    n = start[nb]
    # a member's gate row, reach, source and role, in bucket order: a scan and the gates it
    # calls read neighbouring rows, not rows all over the reports. Written in window-start
    # order, each to its bucket's next place: the rows are read in one stretch and each
    # bucket is written in one (a few hundred buckets); gathering them in bucket order read
    # every row from elsewhere (two cache lines each) and took twice as long (9.9 against
    # 4.3 ms on the bench's 200k slice)
    mem = np.empty((n, N_MEM))
    ix = np.empty(n, np.int64)
    for u in range(m):
        b = bucket[u]
        if b >= 0:
            q = fill[b]
            fill[b] += 1
            for col in range(Fs.shape[1]):
                mem[q, col] = Fs[u, col]
            mem[q, M_E], mem[q, M_SRC], mem[q, M_ROLE] = es[u], ss[u, 0], rs[u]
            ix[q] = order[u]
    return kx[:nb], ky[:nb], kr[:nb], kb, start[:nb + 1], mem, ix


@njit(cache=True, nogil=True, error_model="numpy")
def _cross_pairs(F: F64, role: NDArray[np.int8], src: I64, reach2: F64, R: int, order: I64,
                 o0: int, o1: int, kx: I64, ky: I64, kr: I64, kb: I64, start: I64, mem: F64,
                 ix: I64, max_w: float, bound: float, slack: float, span: float,
                 scale_m: float, scale_s: float, radius: float, budget: int, out_i: I64,
                 out_j: I64, out_d: F64) -> tuple[int, int]:
    """The pairs of each unit after the first ``R`` with the reports (the first ``R``; ``src``
    the sources of those after), as
    the one sweep finds them, for the ``o0 .. o1 - 1``-th of them by window start
    (``order``, less ``R``): the same squares (3 x 3 around the later unit's, of roles that
    link), the later unit's start before the earlier one's window closes, the same bounds,
    the gate with the later unit first (window start, ties in index order: a report is
    earlier than an arrival unit starting with it; ``reach2`` theirs, the reports' in
    ``mem``). Returns the number of pairs (written up to the buffers' length) and of pairs
    gated."""
    cell = radius * scale_m
    r2 = radius * radius
    inv_s = 1.0 / (2.0 * scale_s)
    inv_m2 = 1.0 / (scale_m * scale_m)
    cap = len(out_i)
    n_out = 0
    checked = 0
    # each bucket's first report starting after the unit at hand
    cur = start[:-1].copy()
    if o0 < o1 and o0 > 0:
        lo0 = F[R + order[o0], F_TLO]
        for b in range(len(cur)):
            k0, k1 = start[b], start[b + 1]
            while k0 < k1:
                mid = (k0 + k1) // 2
                if mem[mid, F_TLO] < lo0:
                    k0 = mid + 1
                else:
                    k1 = mid
            cur[b] = k0
    for o in range(o0, o1):
        a = R + order[o]
        lo_a, hi_a = F[a, F_TLO], F[a, F_THI]
        xa, ya, ea = F[a, F_MX], F[a, F_MY], reach2[a - R]
        if not (math.isfinite(xa) and math.isfinite(ya) and math.isfinite(lo_a)):
            continue
        cx, cy = math.floor(xa / cell), math.floor(ya / cell)
        tm_a = lo_a + hi_a
        # the gate given plain values, not the rows copied for the array gate (~15 % less)
        sxa, sya, ssa = F[a, F_SXX], F[a, F_SXY], F[a, F_SYY]
        ara, oxa, oya, ca, s0 = F[a, F_ARR], F[a, F_OX], F[a, F_OY], F[a, F_C], src[a - R, 0]
        # a report whose window is open at ``lo_a`` started within the widest window before
        back = lo_a - (max_w + 1e-9 * (abs(lo_a) + max_w) + 1e-9)
        ra = role[a]
        for gx in range(cx - 1, cx + 2):
            for gy in range(cy - 1, cy + 2):
                b = kb[_find(kb, kx, ky, kr, gx, gy, 0)]
                if b < 0:
                    continue
                s, e = start[b], start[b + 1]
                # the reports starting no later than this unit: earlier in the sweep
                k0 = cur[b]
                while k0 < e and mem[k0, F_TLO] <= lo_a:
                    k0 += 1
                cur[b] = k0
                for k in range(k0 - 1, s - 1, -1):  # earlier: open at this one's start?
                    if mem[k, F_TLO] < back:
                        break  # closed before (the widest window, with room)
                    if mem[k, F_THI] < lo_a or not _roles_link(ra, int(mem[k, M_ROLE])):
                        continue
                    dx, dy = mem[k, F_MX] - xa, mem[k, F_MY] - ya
                    d2 = dx * dx + dy * dy
                    dt = ((mem[k, F_TLO] + mem[k, F_THI]) - tm_a) * inv_s
                    if d2 <= ea + mem[k, M_E] and d2 * inv_m2 + dt * dt <= r2:
                        checked += 1
                        d = gate_values(
                            0, ra, xa, ya, sxa, sya, ssa, lo_a, hi_a, ara, oxa, oya, ca, s0,
                            int(mem[k, M_ROLE]), mem[k, F_MX], mem[k, F_MY], mem[k, F_SXX],
                            mem[k, F_SXY], mem[k, F_SYY], mem[k, F_TLO], mem[k, F_THI],
                            mem[k, F_ARR], mem[k, F_OX], mem[k, F_OY], mem[k, F_C],
                            int(mem[k, M_SRC]), bound, slack, span)
                        if d < kernels.BIG and _holds(src, a - R, int(mem[k, M_SRC])):
                            d = kernels.BIG
                        v = ix[k]
                        if d <= 1.0:
                            if n_out < cap:
                                out_i[n_out], out_j[n_out] = min(a, v), max(a, v)
                                out_d[n_out] = d
                            n_out += 1
                for k in range(k0, e):  # later: starts before this one's window closes?
                    if hi_a < mem[k, F_TLO]:
                        break
                    if not _roles_link(ra, int(mem[k, M_ROLE])):
                        continue
                    dx, dy = xa - mem[k, F_MX], ya - mem[k, F_MY]
                    d2 = dx * dx + dy * dy
                    dt = (tm_a - (mem[k, F_TLO] + mem[k, F_THI])) * inv_s
                    if d2 <= mem[k, M_E] + ea and d2 * inv_m2 + dt * dt <= r2:
                        checked += 1
                        d = gate_values(
                            0, int(mem[k, M_ROLE]), mem[k, F_MX], mem[k, F_MY], mem[k, F_SXX],
                            mem[k, F_SXY], mem[k, F_SYY], mem[k, F_TLO], mem[k, F_THI],
                            mem[k, F_ARR], mem[k, F_OX], mem[k, F_OY], mem[k, F_C],
                            int(mem[k, M_SRC]), ra, xa, ya, sxa, sya, ssa, lo_a, hi_a, ara,
                            oxa, oya, ca, s0, bound, slack, span)
                        if d < kernels.BIG and _holds(src, a - R, int(mem[k, M_SRC])):
                            d = kernels.BIG
                        v = ix[k]
                        if d <= 1.0:
                            if n_out < cap:
                                out_i[n_out], out_j[n_out] = min(a, v), max(a, v)
                                out_d[n_out] = d
                            n_out += 1
                if checked > budget:
                    return n_out, checked
    return n_out, checked


@njit(cache=True, error_model="numpy", parallel=True)
def cross_all(F: F64, role: NDArray[np.int8], src: I64, reach2: F64, R: int, order: I64,
               kx: I64, ky: I64, kr: I64, kb: I64, start: I64, mem: F64, ix: I64,
               max_w: float, bound: float, slack: float, span: float, scale_m: float,
               scale_s: float, radius: float, budget: int, caps: I64
               ) -> tuple[I64, I64, F64, I64, int]:
    """:func:`_cross_pairs` of all the units after the first ``R``, their window-start order
    cut into ``len(caps)`` chunks run in parallel (the pairs the same for any number):
    the pairs (where every chunk had room), each chunk's count and the pairs gated."""
    P, n = len(caps), len(order)
    offs = np.zeros(P + 1, np.int64)
    for c in range(P):
        offs[c + 1] = offs[c] + caps[c]
    out_i = np.empty(offs[P], np.int64)
    out_j = np.empty(offs[P], np.int64)
    out_d = np.empty(offs[P])
    counts = np.zeros(P, np.int64)
    checked = np.zeros(P, np.int64)
    for c in prange(P):
        counts[c], checked[c] = _cross_pairs(
            F, role, src, reach2, R, order, c * n // P, (c + 1) * n // P, kx, ky, kr, kb,
            start, mem, ix, max_w, bound, slack, span, scale_m, scale_s, radius, budget,
            out_i[offs[c]:offs[c + 1]], out_j[offs[c]:offs[c + 1]], out_d[offs[c]:offs[c + 1]])
    k = 0
    for c in range(P):
        for q in range(offs[c], offs[c] + min(counts[c], caps[c])):
            out_i[k], out_j[k], out_d[k] = out_i[q], out_j[q], out_d[q]
            k += 1
    return out_i[:k], out_j[:k], out_d[:k], counts, int(checked.sum())


@njit(cache=True, inline="always", error_model="numpy")
def _find(kb: I64, kx: I64, ky: I64, kr: I64, gx: int, gy: int, r: int) -> int:
    """The slot of square ``(gx, gy)`` of role ``r`` in the table ``kb`` (bucket ids, ``-1``
    empty; the buckets' keys in ``kx``, ``ky``, ``kr``): its own, or the empty one it
    would take."""
    T = len(kb)
    h = kernels._slot(gx, gy, r, T)
    while kb[h] >= 0:
        c = kb[h]
        if kx[c] == gx and ky[c] == gy and kr[c] == r:
            return h
        h = (h + 1) & (T - 1)
    return h


@njit(cache=True, inline="always", error_model="numpy")
def _holds(src: I64, a: int, s: int) -> bool:
    """Whether row ``a`` of ``src`` holds source ``s``: :func:`.kernels.gate`'s cannot-link."""
    for p in range(src.shape[1]):
        v = src[a, p]
        if v < 0:
            break
        if v == s:
            return True
    return False
