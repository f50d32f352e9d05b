"""The units grouping links, and the bounded candidate graph for dense bursts.

Linking works on *units*: single reports, and arrival groups already located as one, stored
as the gate's packed rows (:mod:`.kernels`). A pair of units is linked only when it passes
every gate (:func:`.kernels.gate`); the sweep finds every such pair near each unit. Where a
burst would make that too much work, :func:`candidate_edges` bounds it to each unit's nearest
neighbours in a normalised space-time, so memory stays linear.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from numba import njit
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from truceline.core.fusion import kernels
from truceline.core.fusion.batch import Candidates, FireBatch

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
Dist = Callable[[I64, I64], F64]


_COLS = ("mx", "my", "sxx", "sxy", "syy", "t_lo", "t_hi", "arr", "ox", "oy", "c")
_COL = dict(zip(_COLS, (kernels.F_MX, kernels.F_MY, kernels.F_SXX, kernels.F_SXY, kernels.F_SYY,
                        kernels.F_TLO, kernels.F_THI, kernels.F_ARR, kernels.F_OX, kernels.F_OY,
                        kernels.F_C), strict=True))


@dataclass(frozen=True)
class _Units:
    """What grouping links: single reports, and arrival groups already located as one.

    Stored as the gate's view (:mod:`.kernels`): one float row per unit (candidate mean and
    covariance, time window, arrival time, observer, sound speed), roles, and sources
    (``-1`` padded: two units sharing one cannot link). ``arr`` is the arrival time of a
    single report (NaN for arrival groups, whose times are already reconciled by their fix).

    ``head``: where given, the first ``len(head)`` units' one source each, and ``src`` the
    sources of the units after them only; :attr:`sources` pads them into one array when a
    gate reads a report's (the sweep's thread holds the reports' own): ~11 MB not written.
    """

    F: F64  # (U, kernels.N_F)
    role: NDArray[np.int8]
    src: I64  # (U, W), or (U - len(head), W)
    head: I64 | None = None

    @classmethod
    def of(cls, mx: F64, my: F64, sxx: F64, sxy: F64, syy: F64, t_lo: F64, t_hi: F64,
           role: NDArray[np.int8], src: I64, arr: F64, ox: F64, oy: F64, c: F64) -> _Units:
        F = np.empty((len(mx), kernels.N_F))
        for name, col in zip(_COLS, (mx, my, sxx, sxy, syy, t_lo, t_hi, arr, ox, oy, c),
                             strict=True):
            F[:, _COL[name]] = col
        return cls(F, np.ascontiguousarray(role, np.int8), np.ascontiguousarray(src, np.int64))

    def __len__(self) -> int:
        return len(self.F)

    def _col(self, name: str) -> F64:
        return self.F[:, _COL[name]]

    mx = property(lambda self: self._col("mx"))
    my = property(lambda self: self._col("my"))
    sxx = property(lambda self: self._col("sxx"))
    sxy = property(lambda self: self._col("sxy"))
    syy = property(lambda self: self._col("syy"))
    t_lo = property(lambda self: self._col("t_lo"))
    t_hi = property(lambda self: self._col("t_hi"))
    arr = property(lambda self: self._col("arr"))
    ox = property(lambda self: self._col("ox"))
    oy = property(lambda self: self._col("oy"))
    c = property(lambda self: self._col("c"))

    @cached_property
    def sources(self) -> I64:
        """Every unit's sources, ``-1`` padded (``src`` itself where there is no ``head``)."""
        if self.head is None:
            return self.src
        H = len(self.head)
        out = np.full((H + len(self.src), self.src.shape[1]), -1, np.int64)
        out[:H, 0] = self.head
        out[H:] = self.src
        return out

    def tail(self, start: int) -> I64:
        """The sources of the units from ``start`` on."""
        if self.head is not None and len(self.head) == start:
            return self.src
        return self.sources[start:]

    @property
    def packed(self) -> tuple[F64, NDArray[np.int8], I64]:
        """The gate's view: the float rows, roles, sources."""
        return self.F, self.role, self.sources


def report_columns(b: FireBatch, cd: Candidates) -> tuple[F64, ...]:
    """The reports' columns the gate's float rows hold, in ``kernels.F_*`` order."""
    return cd.mx, cd.my, cd.sxx, cd.sxy, cd.syy, b.t_lo, b.t_hi, b.arr, b.ox, b.oy, b.c


def _units_of_reports(b: FireBatch, cd: Candidates, rows: I64, *after: _Units, room: int = 0,
                      fill: bool = True, reports: _Units | None = None) -> _Units:
    """The units of reports ``rows``, followed by the units ``after``: one allocation, the
    reports packed straight into it (sources padded to the widest).

    ``room``: rows left free after these in the float rows and roles, so that a later call
    can take this one's units as ``reports`` (the same ``rows``): the units ``after`` are
    then written into that room and the reports' rows are not packed again. ``fill=False``
    leaves the reports' float rows to the caller (:func:`.report_pairs.start` fills them in
    its thread).
    """
    rows = np.asarray(rows, np.int64)
    R = len(rows)
    m = R + sum(len(u) for u in after)
    w = max([1, *(u.src.shape[1] for u in after)])
    Fb = None if reports is None else reports.F.base
    rb = None if reports is None else reports.role.base
    if (reports is not None and isinstance(Fb, np.ndarray) and isinstance(rb, np.ndarray)
            and len(reports) == R and len(Fb) >= m and len(rb) >= m
            and reports.F.ctypes.data == Fb.ctypes.data
            and reports.role.ctypes.data == rb.ctypes.data):
        F, role = Fb[:m], rb[:m]  # the reports' rows are there already
        reused = True
    else:
        reused = False
        F = np.empty((m + room, kernels.N_F))[:m]
        role = np.empty(m + room, np.int8)[:m]
        if fill:
            with kernels.PARALLEL:
                kernels.pack_rows(rows, cd.mx, cd.my, cd.sxx, cd.sxy, cd.syy, b.t_lo, b.t_hi,
                                  b.arr, b.ox, b.oy, b.c, F[:R])
        role[:R] = b.role[rows]
    head = None
    if reused and reports is not None and reports.src.shape[1] == 1:
        # the reports' sources are theirs: only the units after them are written here
        head, src, at = reports.src[:, 0], np.full((m - R, w), -1, np.int64), -R
    else:
        src, at = np.full((m, w), -1, np.int64), 0
        src[:R, 0] = b.source[rows]
    k = R
    for u in after:
        F[k:k + len(u)] = u.F
        role[k:k + len(u)] = u.role
        src[k + at:k + at + len(u), :u.src.shape[1]] = u.sources
        k += len(u)
    return _Units(F, role, src, head)


def _take_units(u: _Units, idx: I64) -> _Units:
    return _Units(u.F[idx], u.role[idx], u.sources[idx])


def candidate_edges(z: F64, dist: Dist, k_nb: int, radius: float,
                    knn_radius: float) -> tuple[I64, I64, F64]:
    """Gated edges ``(i, j)``, ``i < j``, each once, among near points of the normalised
    space-time ``z``, with their gated distances.

    All pairs within ``radius`` (cKDTree ``query_pairs``: no per-point heap, several times
    faster than a kNN query), and for each point with fewer than ``k_nb`` of those, its
    ``k_nb`` nearest neighbours out to ``knn_radius``: in sparse places an event's reports can
    sit farther apart in these units (wide time windows, long bands), and there they are few.
    This holds every pair a kNN graph would. In a burst, where all pairs would grow as
    ``n**2`` (a grid count tells), only the kNN graph is built, so memory stays ``n * k_nb``.
    """
    m = len(z)
    if m < 2:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    cell = np.floor((z - z.min(axis=0)) / radius).astype(np.int64)
    span = cell.max(axis=0) + 1
    key = (cell[:, 0] * span[1] + cell[:, 1]) * span[2] + cell[:, 2]
    per_cell = (np.bincount(key) if int(span.prod()) <= 50 * m + 1_000_000
                else np.unique(key, return_counts=True)[1])
    if int((per_cell.astype(np.int64) ** 2).sum()) > 4 * k_nb * m:
        i, j = _knn_pairs(z, k_nb, knn_radius)
    else:
        tree = cKDTree(z)
        pairs = tree.query_pairs(radius, output_type="ndarray").astype(np.int64)
        i, j = pairs[:, 0], pairs[:, 1]
        few = np.flatnonzero(np.bincount(pairs.ravel(), minlength=m) < k_nb)
        if len(few) and knn_radius > radius:
            k = min(k_nb + 1, m)
            d, nb = tree.query(z[few], k=k, distance_upper_bound=knn_radius, workers=-1)
            src = np.repeat(few, k)
            nb = np.asarray(nb, np.int64).reshape(len(few), k)
            dst = nb.ravel()
            far = (dst < m) & (np.asarray(d).ravel() > radius)  # the rest are in ``pairs``
            src, dst = src[far], dst[far]
            # a pair both of whose ends searched is kept from the smaller end only
            row = np.full(m, -1, np.int64)
            row[few] = np.arange(len(few))
            twice = np.flatnonzero((src > dst) & (row[dst] >= 0))
            seen = np.zeros(len(src), bool)
            seen[twice] = (nb[row[dst[twice]]] == src[twice][:, None]).any(axis=1)
            src, dst = src[~seen], dst[~seen]
            i = np.concatenate([i, np.minimum(src, dst)])
            j = np.concatenate([j, np.maximum(src, dst)])
    d = dist(i, j)
    good = d <= 1.0
    return i[good], j[good], d[good]


def _knn_pairs(z: F64, k_nb: int, radius: float) -> tuple[I64, I64]:
    """Each pair once among every point's ``k_nb`` nearest neighbours within ``radius``.

    A pair seen from both ends is kept from the smaller end, which a comparison with the
    other end's neighbour row finds without sorting millions of keys.
    """
    m = len(z)
    k = min(k_nb + 1, m)
    _, nb = cKDTree(z).query(z, k=k, distance_upper_bound=radius, workers=-1)
    nb = np.asarray(nb, np.int64).reshape(m, k)
    src = np.repeat(np.arange(m, dtype=np.int64), k)
    dst = nb.ravel()
    keep = (dst < m) & (src != dst)
    src, dst = src[keep], dst[keep]
    rev = src > dst
    seen = np.zeros(len(src), bool)
    seen[rev] = (nb[dst[rev]] == src[rev][:, None]).any(axis=1)
    src, dst = src[~seen], dst[~seen]
    return np.minimum(src, dst), np.maximum(src, dst)


@njit(cache=True, error_model="numpy")
def near_pairs(g: I64, x: F64, y: F64, r: float) -> tuple[I64, I64]:
    """Each pair ``(i, j)``, ``i < j``, of points of one group ``g`` within ``r`` of each other
    (as cKDTree's ``query_pairs`` tests it: ``dx**2 + dy**2 <= r**2``). Groups are a handful of
    points each, so every pair within one is tested: no tree to build."""
    order = np.argsort(g, kind="mergesort")
    n = len(g)
    total = 0
    s = 0
    while s < n:
        e = s + 1
        while e < n and g[order[e]] == g[order[s]]:
            e += 1
        total += (e - s) * (e - s - 1) // 2
        s = e
    ei = np.empty(total, np.int64)
    ej = np.empty(total, np.int64)
    r2 = r * r
    k = 0
    s = 0
    while s < n:
        e = s + 1
        while e < n and g[order[e]] == g[order[s]]:
            e += 1
        for a in range(s, e):
            i = order[a]
            for q in range(a + 1, e):
                j = order[q]
                dx, dy = x[i] - x[j], y[i] - y[j]
                if dx * dx + dy * dy <= r2:
                    ei[k], ej[k] = min(i, j), max(i, j)
                    k += 1
        s = e
    return ei[:k], ej[:k]


@njit(cache=True, error_model="numpy")
def split_queries(i: I64, j: I64, d: F64, nm: int) -> tuple[I64, I64, F64, I64, I64]:
    """The sweep's pairs ``(i, j)``, ``i < j``, parted in one pass, each part in its order:
    those between main units (``j < nm``) with their distances, and the query pairs as
    ``(query - nm, main unit)``."""
    n = len(i)
    nq = 0
    for k in range(n):
        nq += j[k] >= nm
    mi, mj, md = np.empty(n - nq, np.int64), np.empty(n - nq, np.int64), np.empty(n - nq)
    qi, qj = np.empty(nq, np.int64), np.empty(nq, np.int64)
    a = b = 0
    for k in range(n):
        if j[k] >= nm:
            qi[b], qj[b] = j[k] - nm, i[k]
            b += 1
        else:
            mi[a], mj[a], md[a] = i[k], j[k], d[k]
            a += 1
    return mi, mj, md, qi, qj
