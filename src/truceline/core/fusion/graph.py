"""The candidate graph: which reports (or located arrival groups) may describe one event.

Linking works on *units*: single reports, and arrival groups already located as one. A pair of
units is linked only when it passes every gate (compatible roles, overlapping time windows, the
Mahalanobis distance of both covariances, the TDOA limit, cannot-link per source), and pairs
are only looked for among near neighbours in a normalised space-time, so memory stays linear.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from truceline.core.fusion.batch import ROLE_ANY, Candidates, FireBatch, GroupingParams

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
Dist = Callable[[I64, I64], F64]

_BIG = 1.0e6  # "never link" in the linkage matrix (scipy needs finite values)


@dataclass(frozen=True)
class _Units:
    """What grouping links: single reports, and arrival groups already located as one.

    ``src`` holds each unit's sources (``-1`` padded): two units sharing one cannot link.
    ``arr`` is the arrival time of a single report (NaN for arrival groups, whose times are
    already reconciled by their fix).
    """

    mx: F64
    my: F64
    sxx: F64
    sxy: F64
    syy: F64
    t_lo: F64
    t_hi: F64
    role: NDArray[np.int8]
    src: I64  # (U, W)
    arr: F64
    ox: F64
    oy: F64
    c: F64

    def __len__(self) -> int:
        return len(self.mx)

    @cached_property
    def src0(self) -> I64:
        """First source of each unit (contiguous: read once per gate call, many calls)."""
        return np.ascontiguousarray(self.src[:, 0])

    @cached_property
    def wide(self) -> NDArray[np.bool_]:
        """Units holding more than one source (located arrival groups)."""
        return self.src[:, 1] >= 0 if self.src.shape[1] > 1 else np.zeros(len(self), bool)


def _units_of_reports(b: FireBatch, cd: Candidates, rows: I64) -> _Units:
    return _Units(cd.mx[rows], cd.my[rows], cd.sxx[rows], cd.sxy[rows], cd.syy[rows],
                  b.t_lo[rows], b.t_hi[rows], b.role[rows], b.source[rows][:, None],
                  b.arr[rows], b.ox[rows], b.oy[rows], b.c[rows])


def _concat(a: _Units, b: _Units) -> _Units:
    w = max(a.src.shape[1], b.src.shape[1])

    def pad(s: I64) -> I64:
        return np.pad(s, ((0, 0), (0, w - s.shape[1])), constant_values=-1)

    kw = {f: np.concatenate([getattr(a, f), getattr(b, f)]) for f in a.__dataclass_fields__
          if f != "src"}
    return _Units(src=np.concatenate([pad(a.src), pad(b.src)]), **kw)


def _shares_source(u: _Units, i: I64, j: I64) -> NDArray[np.bool_]:
    s0 = u.src0
    out = s0[i] == s0[j]
    if u.src.shape[1] == 1:
        return np.asarray(out)
    wi, wj = u.wide[i], u.wide[j]  # arrival groups hold several sources; groups are small
    one = np.flatnonzero(wi ^ wj)  # a group and a single report: is its source in the row?
    g, r = np.where(wi[one], i[one], j[one]), np.where(wi[one], j[one], i[one])
    out[one] = (u.src[g] == s0[r][:, None]).any(axis=1)
    two = np.flatnonzero(wi & wj)
    W = u.src.shape[1]
    chunk = max(1, 4_000_000 // (W * W))
    for k0 in range(0, len(two), chunk):  # two groups: compare all source pairs
        mk = two[k0:k0 + chunk]
        a, c = u.src[i[mk]], u.src[j[mk]]
        out[mk] = ((a[:, :, None] == c[:, None, :]) & (a >= 0)[:, :, None]).any(axis=(1, 2))
    return np.asarray(out)


def _pair_distance(u: _Units, p: GroupingParams, i: I64, j: I64) -> F64:
    """Gated distance of unit pairs: ``<= 1`` passes every gate, ``_BIG`` fails one.

    The gates run cheapest first, each on the pairs the previous ones let through (most
    candidate pairs fail on role or time, and gathers dominate the cost).
    """
    out = np.full(len(i), _BIG)
    ri, rj = u.role[i], u.role[j]
    tli, thi, tlj, thj = u.t_lo[i], u.t_hi[i], u.t_lo[j], u.t_hi[j]
    keep = np.flatnonzero(((ri == rj) | (ri == ROLE_ANY) | (rj == ROLE_ANY))
                          & (tli <= thj) & (tlj <= thi))
    i, j = i[keep], j[keep]
    tli, thi, tlj, thj = tli[keep], thi[keep], tlj[keep], thj[keep]
    dx, dy = u.mx[i] - u.mx[j], u.my[i] - u.my[j]
    a, bb, c = u.sxx[i] + u.sxx[j], u.sxy[i] + u.sxy[j], u.syy[i] + u.syy[j]
    m2 = (c * dx * dx - 2 * bb * dx * dy + a * dy * dy) / (a * c - bb * bb)
    near = np.flatnonzero(m2 <= p.gate_chi2)
    keep, i, j, m2 = keep[near], i[near], j[near], m2[near]
    tli, thi, tlj, thj = tli[near], thi[near], tlj[near], thj[near]
    ok = ~_shares_source(u, i, j)  # cannot-link: one source, one report per event
    ai, aj = u.arr[i], u.arr[j]
    both = np.isfinite(ai) & np.isfinite(aj)
    if both.any():
        base = np.hypot(u.ox[i] - u.ox[j], u.oy[i] - u.oy[j]) / np.minimum(u.c[i], u.c[j])
        ok &= ~both | (np.abs(ai - aj) <= 1.02 * base + p.arrival_slack_s)
    half = (thi - tli + thj - tlj) / 2 + 1e-9
    dt = np.abs((tli + thi) / 2 - (tlj + thj) / 2) / half
    d = np.sqrt(0.5 * (m2 / p.gate_chi2 + dt * dt))
    out[keep] = np.where(ok, d, _BIG)
    return out


def _tdoa_distance(b: FireBatch, p: GroupingParams, i: I64, j: I64) -> F64:
    """Gated distance of two bare arrival times: the TDOA limit and cannot-link only."""
    sep = np.hypot(b.ox[i] - b.ox[j], b.oy[i] - b.oy[j])
    lim = 1.03 * sep / np.minimum(b.c[i], b.c[j]) + p.tdoa_slack_s
    dt = np.abs(b.arr[i] - b.arr[j])
    ok = (dt <= lim) & (b.source[i] != b.source[j]) & (sep <= p.array_span_m)
    return np.where(ok, dt / lim, _BIG)


def _take_units(u: _Units, idx: I64) -> _Units:
    return _Units(**{f: getattr(u, f)[idx] for f in u.__dataclass_fields__})


def candidate_edges(z: F64, dist: Dist, k_nb: int, radius: float,
                    knn_radius: float) -> tuple[I64, I64]:
    """Gated edges ``(i, j)``, ``i < j``, each once, among near points of the normalised
    space-time ``z``.

    All pairs within ``radius`` (cKDTree ``query_pairs``: no per-point heap, several times
    faster than a kNN query), and for each point with fewer than ``k_nb`` of those, its
    ``k_nb`` nearest neighbours out to ``knn_radius``: in sparse places an event's reports can
    sit farther apart in these units (wide time windows, long bands), and there they are few.
    This holds every pair a kNN graph would. In a burst, where all pairs would grow as
    ``n**2`` (a grid count tells), only the kNN graph is built, so memory stays ``n * k_nb``.
    """
    m = len(z)
    if m < 2:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
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
    good = dist(i, j) <= 1.0
    return i[good], j[good]


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
