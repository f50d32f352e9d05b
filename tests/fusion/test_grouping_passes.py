"""Grouping's fused passes give what the longer way gives, bit for bit: complete linkage with
its row, column, clearing and relabelling in one pass against the four passes it replaced;
the sweep's pairs parted into main and query pairs in one pass against boolean masks; the
arrival groups' ranks by a count against ``np.unique``; and the arrays' split keying each
array by its near-pairs component alone (a component never spans two groups)."""

from __future__ import annotations

import numpy as np

from truceline.core.fusion import kernels
from truceline.core.fusion.arrival_groups import rank
from truceline.core.fusion.graph import near_pairs, split_queries
from truceline.core.fusion.split import split_edges


def _linkage_by_passes(D: np.ndarray) -> np.ndarray:
    """Complete linkage cut at 1 as the kernel did it before (2026-12-04): closest pair first,
    row-major on ties, the merged row the farther of the two, in separate passes."""
    D = D.copy()
    S = len(D)
    lab = np.arange(S)
    best, arg = np.full(S, np.inf), np.full(S, -1)

    def row_min(a: int) -> None:
        bv, bk = np.inf, -1
        for k in range(S):
            if D[a, k] < bv:
                bv, bk = D[a, k], k
        best[a], arg[a] = bv, bk

    for a in range(S):
        row_min(a)
    while True:
        bi, bv = -1, np.inf
        for a in range(S):
            if best[a] < bv:
                bv, bi = best[a], a
        if not bv <= 1.0:
            return lab
        bj = arg[bi]
        for k in range(S):
            D[bi, k] = max(D[bi, k], D[bj, k])
            D[k, bi] = D[bi, k]
        D[bi, bi] = np.inf
        for k in range(S):
            D[bj, k] = np.inf
            D[k, bj] = np.inf
        best[bj] = np.inf
        lab[lab == bj] = bi
        for a in range(S):
            if a != bj and (a == bi or arg[a] == bi or arg[a] == bj):
                row_min(a)


def _gated_component(rng: np.random.Generator, max_size: int, keep_min: float,
                     levels: tuple[float, ...]
                     ) -> tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A random sparse gated graph of one component (a chain through it), its distances
    drawn from ``levels`` so that ties and exact zeros are common: its size, dense matrix,
    edges, their distances and the compiled cut's sub-labels of it."""
    S = int(rng.integers(3, max_size))
    keep = rng.random((S, S)) < rng.uniform(keep_min, 0.9)
    D = np.where(keep, rng.choice(list(levels), (S, S)), np.inf)
    D = np.minimum(D, D.T)
    np.fill_diagonal(D, np.inf)
    for a in range(S - 1):  # a chain: one connected component
        D[a, a + 1] = D[a + 1, a] = min(D[a, a + 1], 0.9)
    ei, ej = np.nonzero(np.triu(np.isfinite(D), 1))
    ei, ej = ei.astype(np.int64), ej.astype(np.int64)
    dist = D[ei, ej]
    F = np.zeros((S, kernels.N_F))
    sub, left = kernels.split_small(F, np.zeros(S, np.int8), np.zeros((S, 1), np.int64), 0,
                                    1.0, 0.0, 0.0, np.zeros(S, np.int64), 1, ei, ej, dist,
                                    True, 64, 1)
    assert not left.any()
    return S, D, ei, ej, dist, sub


def test_split_small_cuts_as_the_separate_passes_did():
    """Random sparse gated graphs, one component each, with distances from a short list so
    that ties (and exact zeros, as copies give) are common: the same sub-labels."""
    rng = np.random.default_rng(19)
    seen_cut = 0
    for _ in range(300):
        S, D, ei, _, _, sub = _gated_component(rng, 40, 0.2, (0.0, 0.25, 0.5, 0.5, 0.75, 1.0))
        want = _linkage_by_passes(D)
        if len(ei) < S * (S - 1) // 2:
            seen_cut += 1
            assert np.array_equal(sub, want)
    assert seen_cut > 250


def test_split_edges_cuts_as_split_small_does_with_ties_and_zeros():
    """A large component is cut from its edges (:func:`.split.split_edges`, no matrix): the
    same groups and representatives as the compiled cut of the dense matrix, ties (and exact
    zeros, as copies give) common, edges past 1 given too."""
    rng = np.random.default_rng(26)
    seen_cut = 0
    for _ in range(300):
        S, _, ei, ej, dist, sub = _gated_component(rng, 60, 0.1,
                                                   (0.0, 0.25, 0.5, 0.5, 0.75, 1.0, 1.5))
        order = rng.permutation(len(ei))  # the edges in any order, either way round
        flip = rng.random(len(ei)) < 0.5
        a = np.where(flip, ej, ei)[order]
        b = np.where(flip, ei, ej)[order]
        got = split_edges(S, a, b, dist[order])
        if len(ei) < S * (S - 1) // 2:
            seen_cut += 1
            assert np.array_equal(got, sub)
    assert seen_cut > 250


def test_split_queries_is_the_masks():
    rng = np.random.default_rng(7)
    for n, nm in ((0, 0), (50, 50), (400, 300), (400, 0)):
        i = rng.integers(0, 500, n)
        j = i + rng.integers(1, 100, n)
        d = rng.random(n)
        mi, mj, md, qi, qj = split_queries(i, j, d, nm)
        q = j >= nm
        assert np.array_equal(mi, i[~q]) and np.array_equal(mj, j[~q])
        assert md.tobytes() == d[~q].tobytes()
        assert np.array_equal(qi, j[q] - nm) and np.array_equal(qj, i[q])


def test_rank_is_numpys_inverse():
    rng = np.random.default_rng(11)
    for n, size in ((0, 1), (1, 1), (200, 30), (500, 5_000)):
        x = rng.integers(0, size, n)
        want = np.unique(x, return_inverse=True)[1]
        got = rank(x, size)
        assert got.dtype == np.int64 and np.array_equal(got, want)


def test_near_pairs_components_stay_within_a_group():
    """What lets the arrays' split key each array by its component alone: near pairs are
    only ever found within one group, so no component spans two, even where two groups'
    sensors sit at the same places."""
    rng = np.random.default_rng(23)
    g = rng.integers(0, 30, 600)
    x, y = rng.uniform(0, 30_000, 600), rng.uniform(0, 30_000, 600)
    x[300:], y[300:] = x[:300], y[:300]  # every place twice, in other groups mostly
    n, comp = kernels.components(600, *near_pairs(g, x, y, 5_000.0))
    groups_of = [set(g[comp == c].tolist()) for c in range(n)]
    assert all(len(s) == 1 for s in groups_of)
    assert n < 600  # the sensors did pair
