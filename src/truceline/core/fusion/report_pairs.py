"""The reports' pairs among themselves, swept on a core of their own while the arrivals are
grouped.

Grouping links the reports and the arrays' fixes in one sweep (:func:`.kernels.sweep`), but
the fixes are known only once the bare arrivals are grouped and located
(:func:`.grouping._arrival_units`: a third of grouping's time and nearly all of it serial
numpy). With two threads or more, the pairs among the reports (nine units in ten) are swept
meanwhile in a thread of their own, compiled without the GIL (:func:`start`), and the rest
once the fixes are known (:func:`finish`): the arrival units among themselves by the same
sweep, and each arrival unit against the reports through an index of the reports by square
and window start (:mod:`.report_index`). The thread also files the reports into that index
and joins their pairs' components (:func:`.labels.union`); the rest are joined to those.

The pairs are the one sweep's, each with the same gated distance (the gate called with the
same unit first: the later in window-start order) and the same count of gated pairs for the
budget; only their order differs, which nothing downstream reads (connected components, the
complete-linkage matrix, the sorted query pairs). ``tests/fusion/test_report_pairs.py``
holds both ways to one result.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
from numba import get_num_threads, njit, set_num_threads
from numpy.typing import NDArray

from truceline.core.fusion import kernels, report_index
from truceline.core.fusion.kernels import F_TLO

__all__ = ["MIN_REPORTS", "Ahead", "finish", "one_thread_less", "start"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

#: Fewer reports than this are swept with the rest: a thread costs more than it saves.
MIN_REPORTS = 20_000


@dataclass
class Ahead:
    """The reports' sweep under way: the first ``R`` units of the sweep to come, the sweep's
    result once the thread is joined."""

    R: int
    thread: threading.Thread
    out: dict[str, Any]

    def result(self) -> dict[str, Any]:
        self.thread.join()
        if "error" in self.out:
            raise self.out["error"]
        return self.out

    def rows(self, F: F64) -> None:
        """Fill the reports' float rows ``F[:R]`` (the thread packed them in window-start
        order only): for the paths that read them, a large component's split or a sweep over
        budget."""
        got = self.result()
        F[got["order"]] = got["rows"]


def start(rows: I64, cols: tuple[F64, ...], F: F64, role: NDArray[np.int8], src: I64,
          bound: float, slack: float, span: float, scale_m: float, scale_s: float,
          radius: float, budget: int) -> Ahead:
    """Start sweeping the reports' units (mode 0; ``bound`` the gate's chi-square; ``budget``
    at least the one sweep's) in a thread; :func:`finish` joins it.

    The thread packs their float rows (as :func:`.kernels.pack_rows` would: rows ``rows`` of
    the gate's columns ``cols``, in ``F_*`` order) in window-start order, and writes them
    into ``F`` only where :meth:`Ahead.rows` asks; ``role`` and ``src`` (one source each) as
    :func:`.kernels.sweep` takes them.
    """
    R = len(rows)

    def run(out: dict[str, Any]) -> None:
        try:
            # numpy's stable sort (timsort, without the GIL: ~3 ms here against numba's
            # mergesort's 5), then the rest in one compiled call: the caller's own compiled
            # loops hold the GIL for milliseconds at a time, so each return to Python
            # between steps could wait that long for it
            order = np.argsort(cols[kernels.F_TLO][rows], kind="stable")
            i, j, d, n, checked, max_w, idx, parent, Fs, far = _reports_ahead(
                rows, cols, F, role, src, order, bound, slack, span, scale_m, scale_s, radius,
                budget)
            out.update(i=i, j=j, d=d, n=n, checked=checked, index=idx, max_w=max_w,
                       parent=parent, rows=Fs, order=order, far=far)
        except BaseException as e:  # raised again in the caller's thread
            out["error"] = e

    out: dict[str, Any] = {}
    ahead = Ahead(R, threading.Thread(target=run, args=(out,), daemon=True), out)
    ahead.thread.start()
    return ahead


def finish(ahead: Ahead, F: F64, role: NDArray[np.int8], src: I64, nm: int, reach2: F64,
           bound: float, slack: float, span: float, scale_m: float, scale_s: float,
           radius: float, budget: int) -> tuple[I64, I64, F64, I64, I64, int, I64] | None:
    """The one sweep's pairs over all units (the reports first, ``ahead.R`` of them, as
    :func:`start` had them; those from ``nm`` on are queries; ``reach2`` and ``src`` of the
    units after the reports, :func:`.kernels.reach2`), as :func:`.grouping._cluster`
    takes them: the pairs among the first ``nm`` (``i < j``) and their distances, the query
    pairs ``(query - nm, unit)`` (:func:`.graph.split_queries`), and the components of the
    first ``nm`` (:func:`.kernels.components`); ``None`` beyond ``budget``."""
    R, m = ahead.R, len(F)
    # the arrival units among themselves, while the thread may still run (they need nothing
    # of it): the same sweep on their rows alone (their order in window start is the one
    # sweep's, restricted to them), within the whole budget: a sweep that stops past a
    # smaller one's would have been over budget with the reports' pairs all the same
    Fa = F[R:]
    order = np.argsort(Fa[:, F_TLO], kind="stable")
    ai, aj, ad, c_a, _, _, _, _, _ = _sweep_all(
        Fa, role[R:], src, np.arange(R, m) >= nm, reach2, order, bound, slack, span,
        scale_m, scale_s, radius, budget)
    got = ahead.result()
    checked = int(got["checked"]) + c_a
    if checked > budget:
        return None
    # each arrival unit against the reports
    chunks = max(1, min(kernels.threads(), (m - R) // 1_000 + 1))
    caps = np.full(chunks, (8 * (m - R) + 1_000) // chunks, np.int64)
    kx, ky, kr, kb, start, mem, ix = got["index"]
    while True:
        with kernels.PARALLEL:
            xi, xj, xd, counts, c_x = report_index.cross_all(
                F, role, src, reach2, R, order, kx, ky, kr, kb, start, mem, ix, got["max_w"],
                bound, slack, span, scale_m, scale_s, radius, budget - checked, caps)
        if c_x > budget - checked or (counts <= caps).all():
            break
        caps = counts
    if c_x > budget - checked:
        return None
    return _join(got["i"], got["j"], got["d"], got["n"], got["parent"], ai, aj, ad, xi, xj,
                 xd, R, nm)


@njit(cache=True, error_model="numpy")
def _join(ri: I64, rj: I64, rd: F64, nr: int, parent_r: I64, ai: I64, aj: I64, ad: F64,
          xi: I64, xj: I64, xd: F64, R: int, nm: int
          ) -> tuple[I64, I64, F64, I64, I64, int, I64]:
    """The reports' pairs (the first ``nr`` of ``r*``, with their forest ``parent_r``:
    :func:`.labels.union`), the arrival units' among themselves (``a*``, numbered from
    ``R``) and across (``x*``) as :func:`finish` returns them, in one pass: the one sweep's
    pairs in the order of the three parts, each part's order kept (after the reports' in
    their own buffers where these have room: ~8 MB not copied); its components continue
    the reports' forest."""
    nq = 0
    for k in range(len(aj)):
        nq += aj[k] + R >= nm
    for k in range(len(xj)):
        nq += xj[k] >= nm
    n = nr + len(ai) + len(xi) - nq
    if len(ri) >= n:
        mi, mj, md = ri[:n], rj[:n], rd[:n]
    else:
        mi, mj, md = np.empty(n, np.int64), np.empty(n, np.int64), np.empty(n)
        mi[:nr], mj[:nr], md[:nr] = ri[:nr], rj[:nr], rd[:nr]
    qi, qj = np.empty(nq, np.int64), np.empty(nq, np.int64)
    a, b = nr, 0
    for k in range(len(ai)):
        if aj[k] + R >= nm:
            qi[b], qj[b] = aj[k] + R - nm, ai[k] + R
            b += 1
        else:
            mi[a], mj[a], md[a] = ai[k] + R, aj[k] + R, ad[k]
            a += 1
    for k in range(len(xi)):
        if xj[k] >= nm:
            qi[b], qj[b] = xj[k] - nm, xi[k]
            b += 1
        else:
            mi[a], mj[a], md[a] = xi[k], xj[k], xd[k]
            a += 1
    parent = np.empty(nm, np.int64)
    parent[:R] = parent_r
    for u in range(R, nm):
        parent[u] = u
    kernels.union(parent, mi[nr:], mj[nr:])
    ncomp, comp = kernels.component_labels(parent)
    return mi, mj, md, qi, qj, ncomp, comp


@njit(cache=True, nogil=True, error_model="numpy")
def _reports_ahead(rows: I64, cols: tuple[F64, ...], F: F64, role: NDArray[np.int8], src: I64,
                   order: I64, bound: float, slack: float, span: float, scale_m: float,
                   scale_s: float, radius: float, budget: int
                   ) -> tuple[I64, I64, F64, int, int, float,
                              tuple[I64, I64, I64, I64, I64, F64, I64], I64, F64,
                              tuple[F64, F64, F64, NDArray[np.bool_]]]:
    """The thread's work on the reports' units in window-start ``order``: their float rows
    and reach, packed straight in that order (``F``'s rows are left to :meth:`Ahead.rows`:
    most calls never read them), their pairs (:func:`_sweep_sorted`, again with room for
    every pair where the first guess was short), the pairs gated, the widest window, and
    within ``budget`` their index (:func:`.report_index.index`) and forest
    (:func:`.labels.union`: the reports' components while the arrivals go on), and the rows
    in that order. The pairs are
    the first ``n`` of buffers with room after them, where :func:`_join` puts the rest. Last,
    :func:`.far_reach.reaches` of ``rows`` in their order, from the rows and reaches packed
    (the same expression, :func:`.kernels.reach2_of`: ``inf`` where it reads ``nan``, not
    finite alike), so that the caller does not compute them."""
    R = F.shape[0]
    mx, my, sxx, sxy, syy, t_lo, t_hi, arr, ox, oy, c = cols
    Fs = np.empty_like(F)
    ss = np.empty_like(src)
    rs = np.empty(R, np.int8)
    es = np.empty(R)
    reach, lo, hi, fine = np.empty(R), np.empty(R), np.empty(R), np.empty(R, np.bool_)
    for q in range(R):
        u = order[q]
        kernels.pack_row(Fs, q, rows[u], mx, my, sxx, sxy, syy, t_lo, t_hi, arr, ox, oy, c)
        e = kernels.reach2_of(Fs, q, bound)
        es[q] = reach[u] = e
        lo[u], hi[u] = Fs[q, F_TLO], Fs[q, kernels.F_THI]
        fine[u] = (math.isfinite(e) and math.isfinite(Fs[q, kernels.F_MX])
                   and math.isfinite(lo[u]) and math.isfinite(hi[u]))
        rs[q] = role[u]
        for col in range(src.shape[1]):
            ss[q, col] = src[u, col]
    qs = np.zeros(R, np.bool_)
    cap = 4 * R + 1_000
    while True:
        i, j, d, n, checked, max_w = _sweep_sorted(
            Fs, rs, ss, es, qs, order, bound, slack, span, scale_m, scale_s, radius, budget,
            cap)
        if checked > budget or n <= cap:
            break
        cap = n
    parent = np.arange(R)
    if checked > budget:  # the caller's sweep gives up: the rows alone are read
        idx = report_index.index(Fs[:0], rs[:0], ss[:0], es[:0], order[:0], 1.0)
        return i, j, d, n, checked, max_w, idx, parent, Fs, (reach, lo, hi, fine)
    kernels.union(parent, i[:n], j[:n])
    idx = report_index.index(Fs, rs, ss, es, order, radius * scale_m)
    return i, j, d, n, checked, max_w, idx, parent, Fs, (reach, lo, hi, fine)


def _sweep_all(F: F64, role: NDArray[np.int8], src: I64, query: NDArray[np.bool_],
               reach2: F64, order: I64, bound: float, slack: float, span: float,
               scale_m: float, scale_s: float, radius: float, budget: int
               ) -> tuple[I64, I64, F64, int, F64, NDArray[np.int8], I64, F64, float]:
    """:func:`.kernels.sweep` in one chunk, with the pairs gated (the total the budget
    counts) and the units in window-start order as it read them."""
    cap = 4 * len(F) + 1_000
    while True:
        i, j, d, n, checked, Fs, rs, ss, es, max_w = _one_sweep(
            F, role, src, query, reach2, order, bound, slack, span, scale_m, scale_s, radius,
            budget, cap)
        if checked > budget or n <= cap:
            k = min(n, cap)
            return i[:k], j[:k], d[:k], checked, Fs, rs, ss, es, max_w
        cap = n


@njit(cache=True, nogil=True, error_model="numpy")
def _one_sweep(F: F64, role: NDArray[np.int8], src: I64, query: NDArray[np.bool_],
               reach2: F64, order: I64, bound: float, slack: float, span: float,
               scale_m: float, scale_s: float, radius: float, budget: int, cap: int
               ) -> tuple[I64, I64, F64, int, int, F64, NDArray[np.int8], I64, F64, float]:
    """:func:`.kernels._sweep` in one chunk and serial (mode 0), as a thread runs it: the
    pairs' buffers (``cap`` long, the first ``min(n, cap)`` written), ``n``, ..."""
    m = F.shape[0]
    Fs = np.empty_like(F)
    ss = np.empty_like(src)
    rs = np.empty(m, np.int8)
    es = np.empty(m)
    qs = np.empty(m, np.bool_)
    for r in range(m):
        u = order[r]
        rs[r] = role[u]
        es[r] = reach2[u]
        qs[r] = query[u]
        for col in range(F.shape[1]):
            Fs[r, col] = F[u, col]
        for col in range(src.shape[1]):
            ss[r, col] = src[u, col]
    out_i, out_j, out_d, n, checked, max_w = _sweep_sorted(
        Fs, rs, ss, es, qs, order, bound, slack, span, scale_m, scale_s, radius, budget, cap)
    return out_i, out_j, out_d, n, checked, Fs, rs, ss, es, max_w


@njit(cache=True, nogil=True, error_model="numpy")
def _sweep_sorted(Fs: F64, rs: NDArray[np.int8], ss: I64, es: F64, qs: NDArray[np.bool_],
                  order: I64, bound: float, slack: float, span: float, scale_m: float,
                  scale_s: float, radius: float, budget: int, cap: int
                  ) -> tuple[I64, I64, F64, int, int, float]:
    """:func:`_one_sweep` of units already in window-start ``order`` (``Fs``, ``rs``, ...:
    row ``r`` is unit ``order[r]``'s)."""
    m = Fs.shape[0]
    roles, max_w, H = kernels.sweep_shape(Fs, rs)
    out_i = np.empty(cap, np.int64)
    out_j = np.empty(cap, np.int64)
    out_d = np.empty(cap)
    n, checked = kernels._sweep_chunk(
        Fs, rs, ss, es, qs, order, 0, m, max_w, H, roles, 0, bound, slack, span, scale_m,
        scale_s, radius, budget, out_i, out_j, out_d, np.empty((4, m)),
        np.empty((2, m), np.int64))
    return out_i, out_j, out_d, n, checked, max_w


@contextmanager
def one_thread_less(ahead: Ahead | None) -> Iterator[None]:
    """While ``ahead`` sweeps, this thread's compiled loops take one thread less (numba's
    count is per thread): a parallel loop waiting for a core the sweep holds would stall."""
    if ahead is None:
        yield
        return
    n = get_num_threads()
    set_num_threads(max(1, n - 1))
    try:
        yield
    finally:
        set_num_threads(n)
