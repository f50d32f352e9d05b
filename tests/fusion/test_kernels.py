"""The compiled grouping loops against plain references: every gated pair found, the same pairs
for any number of parallel chunks, complete linkage as scipy cuts it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial.distance import squareform
from sklearn.metrics import adjusted_rand_score

from tests.fusion.synth import Reports, bearing_report, posts_around
from truceline.core.fusion import kernels
from truceline.core.fusion.batch import GroupingParams, candidates
from truceline.core.fusion.graph import _units_of_reports


def _units(n_events: int, seed: int):  # type: ignore[no-untyped-def]
    """Bearing reports of ``n_events`` events crowded into 40 km and two hours; each event's
    reports say outgoing, impact or undetermined (the sweep keeps a grid per role)."""
    rng = np.random.default_rng(seed)
    r = Reports()
    for e in range(n_events):
        target = (37.0 + rng.uniform(0, 0.5), 48.0 + rng.uniform(0, 0.3))
        t = rng.uniform(0, 7_200)
        kind = str(rng.choice(["outgoing", "impact", "undetermined"], p=[0.45, 0.45, 0.1]))
        for k, post in enumerate(posts_around(target, int(rng.integers(1, 5)), rng)):
            bearing_report(r, e, post, target, t + rng.uniform(0, 90), 3.0, rng,
                           source=f"e{e}m{k}", band=(2_000, 10_000), explosion_type=kind)
    b = r.batch()
    p = GroupingParams()
    cd = candidates(b, p)
    return _units_of_reports(b, cd, np.flatnonzero(cd.ok)), p


def _reach2(u, p):  # type: ignore[no-untyped-def]
    half = (u.sxx + u.syy) / 2.0
    return p.gate_chi2 * (half + np.sqrt(((u.sxx - u.syy) / 2.0) ** 2 + u.sxy**2))


def _sweep(u, p, chunks: int, budget: int = 10**9):  # type: ignore[no-untyped-def]
    F, role, src = u.packed
    query = np.zeros(len(u), bool)
    caps = np.full(chunks, 10 * len(u) // chunks, np.int64)
    i, j, d, _, ok = kernels.sweep(F, role, src, query, 0, p.gate_chi2, p.arrival_slack_s,
                                   p.array_span_m, _reach2(u, p), p.link_scale_m,
                                   p.link_scale_s, p.pair_radius, budget, caps,
                                   np.argsort(F[:, kernels.F_TLO], kind="stable"))
    return i, j, d, ok


def test_the_sweep_finds_every_gated_pair_within_the_radius_and_no_other():
    u, p = _units(400, 1)
    m = len(u)
    F, role, src = u.packed
    ii, jj = np.triu_indices(m, 1)
    tm = (u.t_lo + u.t_hi) / 2
    z2 = (((u.mx[ii] - u.mx[jj]) / p.link_scale_m) ** 2
          + ((u.my[ii] - u.my[jj]) / p.link_scale_m) ** 2
          + ((tm[ii] - tm[jj]) / p.link_scale_s) ** 2)
    d_all = kernels.gate_pairs(F, role, src, ii, jj, 0, p.gate_chi2, p.arrival_slack_s,
                               p.array_span_m)
    want = (d_all <= 1.0) & (z2 <= p.pair_radius**2)
    i, j, d, ok = _sweep(u, p, 1)
    assert ok and want.sum() > m // 2  # a crowded scene: many true pairs
    assert len(np.unique(role)) == 3  # all three roles, and pairs of the compatible ones:
    assert (role[ii[want]] != role[jj[want]]).any()  # "undetermined" links either role
    got = set(zip(i.tolist(), j.tolist(), strict=True))
    assert len(got) == len(i)  # each pair once
    assert got == set(zip(ii[want].tolist(), jj[want].tolist(), strict=True))
    np.testing.assert_allclose(np.sort(d), np.sort(d_all[want]))


def test_parallel_chunks_find_the_same_pairs_as_one():
    u, p = _units(600, 2)
    one = _sweep(u, p, 1)
    for chunks in (2, 3, 7):
        i, j, _, ok = _sweep(u, p, chunks)
        assert ok
        assert sorted(zip(i.tolist(), j.tolist(), strict=True)) == sorted(
            zip(one[0].tolist(), one[1].tolist(), strict=True))


def test_the_sweep_gives_up_past_its_budget():
    u, p = _units(300, 3)
    assert _sweep(u, p, 1)[3]
    assert not _sweep(u, p, 1, budget=10)[3]


def test_complete_linkage_cuts_as_scipy_does():
    rng = np.random.default_rng(4)
    for S in (2, 5, 17, 60, 200):
        for _ in range(5):
            pts = rng.uniform(0, 3, (S, 2))
            D = np.hypot(pts[:, None, 0] - pts[None, :, 0], pts[:, None, 1] - pts[None, :, 1])
            want = fcluster(linkage(squareform(D, checks=False), "complete"), t=1.0,
                            criterion="distance")
            W = D.copy()
            np.fill_diagonal(W, np.inf)
            lab = np.arange(S)
            kernels._complete_linkage(W, S, lab, np.empty(S), np.empty(S, np.int64),
                                      np.empty(S, np.int64))
            assert adjusted_rand_score(want, lab) == 1.0
            for g in np.unique(lab):  # every pair in a group within the cut
                assert D[np.ix_(lab == g, lab == g)].max() <= 1.0


def _linkage_by_rule(D: np.ndarray) -> np.ndarray:
    """Complete linkage as ``_complete_linkage`` states it, written out on the whole
    matrix: the closest pair of live rows merges (the first row, then the first column, on
    ties), the merged row the farther of the two; a point's label is its row's survivor."""
    D = D.copy()
    S = len(D)
    lab = np.arange(S)
    while True:
        a = int(np.argmin(D.min(axis=1)))  # argmin: the first on ties
        b = int(np.argmin(D[a]))
        if not D[a, b] <= 1.0:
            return lab
        D[a] = D[:, a] = np.maximum(D[a], D[b])
        D[a, a] = np.inf
        D[b] = D[:, b] = np.inf
        lab[lab == b] = a


def test_complete_linkage_takes_the_first_pair_on_ties_as_its_rule_says():
    """Distances on a coarse grid (many ties) and missing edges (``inf``): the same labels,
    element by element, as the rule applied to the whole matrix (the live rows it scans and
    the representatives it follows at the end change nothing)."""
    rng = np.random.default_rng(11)
    for S in (2, 3, 8, 30, 90):
        for _ in range(20):
            D = rng.choice([0.25, 0.5, 0.75, 1.0, 1.25, np.inf], (S, S))
            D = np.minimum(D, D.T)
            np.fill_diagonal(D, np.inf)
            lab = np.arange(S)
            kernels._complete_linkage(D.copy(), S, lab, np.empty(S), np.empty(S, np.int64),
                                      np.empty(S, np.int64))
            assert np.array_equal(lab, _linkage_by_rule(D))


def test_concurrent_callers_are_safe_under_numba_fallback_threading_layer():
    """Two threads grouping at once (two requests to a server) on numba's workqueue layer,
    which aborts the process on concurrent entry to parallel code unless calls are serialised,
    and the same labels in every thread."""
    script = """
import threading
import numpy as np
from tests.fusion.test_kernels import _units
from tests.fusion.synth import Reports, bearing_report, posts_around
from truceline.core.fusion.grouping import group

rng = np.random.default_rng(5)
r = Reports()
for e in range(1500):
    target = (37.0 + rng.uniform(0, 0.5), 48.0 + rng.uniform(0, 0.3))
    for k, post in enumerate(posts_around(target, 3, rng)):
        bearing_report(r, e, post, target, rng.uniform(0, 7_200), 3.0, rng,
                       source=f"e{e}m{k}", band=(2_000, 10_000))
b = r.batch()
out = []
threads = [threading.Thread(target=lambda: out.append(group(b))) for _ in range(3)]
[t.start() for t in threads]
[t.join() for t in threads]
assert len(out) == 3 and all((o == out[0]).all() for o in out)
import numba
print(numba.threading_layer())
"""
    env = {**os.environ, "NUMBA_THREADING_LAYER": "workqueue", "NUMBA_NUM_THREADS": "2"}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                          text=True, timeout=300, cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "workqueue"


def test_split_small_cuts_alike_from_the_sweeps_edges_and_by_gating_every_pair():
    """With the sweep's edges complete, a cut reads its distances from them; it must cut as
    gating every pair of the component does, and leave the components over ``max_size``."""
    u, p = _units(120, 2)  # components of every kind: cliques, cut, too large
    F, role, src = u.packed
    i, j, d, ok = _sweep(u, p, 2)
    ncomp, comp = kernels.components(len(u), i, j)
    size = np.bincount(comp)
    edges = np.bincount(comp[i], minlength=ncomp)
    cliques = edges == size * (size - 1) // 2
    max_size = 12
    assert ok and (~cliques & (size <= max_size)).sum() > 10 and (size > max_size).any()
    out = [kernels.split_small(F, role, src, 0, p.gate_chi2, p.arrival_slack_s,
                               p.array_span_m, comp, ncomp, i, j, d, complete, max_size, 2)
           for complete in (True, False)]
    (sub_e, left_e), (sub_g, left_g) = out
    np.testing.assert_array_equal(left_e, left_g)
    np.testing.assert_array_equal(left_e, ~cliques & (size > max_size))
    np.testing.assert_array_equal(sub_e, sub_g)
    assert (sub_e[~cliques[comp] & (size[comp] <= max_size)] > 0).any()  # some were cut
