"""Edge cases of the compiled grouping and locating kernels, through the public entry points.

Every assertion compares against a plain reference (all pairs gated one by one), an invariant
the docs promise (every pair in a group passes every gate; one source at most once per group;
the same answer for any thread count, so a replay re-derives identical findings), or simply
that odd input (empty, one unit, identical units, NaN/inf, huge or negative coordinates,
degenerate geometry) passes through without an exception.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numba
import numpy as np
import pytest
from scipy.spatial import cKDTree

from tests.fusion.synth import (
    EPOCH,
    Reports,
    arrival_report,
    bearing_report,
    offset,
    posts_around,
    projection,
)
from truceline.core.fusion import FireBatch, fuse_batch, kernels
from truceline.core.fusion.batch import ROLE_ANY, GroupingParams, candidates
from truceline.core.fusion.grouping import group
from truceline.core.fusion.locate import locate
from truceline.core.fusion.split import SMALL

P = GroupingParams()
TWO_THREADS = pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2,
                                 reason="needs numba to run with at least two threads")


@contextmanager
def _threads(n: int) -> Iterator[None]:
    before = numba.get_num_threads()
    numba.set_num_threads(n)
    try:
        yield
    finally:
        numba.set_num_threads(before)


# --------------------------------------------------------------------------- the sweep itself

def _packed(x, y, sxx, sxy, syy, t_lo, t_hi, arr, ox, oy, c):  # type: ignore[no-untyped-def]
    F = np.empty((len(x), kernels.N_F))
    for col, v in ((kernels.F_MX, x), (kernels.F_MY, y), (kernels.F_SXX, sxx),
                   (kernels.F_SXY, sxy), (kernels.F_SYY, syy), (kernels.F_TLO, t_lo),
                   (kernels.F_THI, t_hi), (kernels.F_ARR, arr), (kernels.F_OX, ox),
                   (kernels.F_OY, oy), (kernels.F_C, c)):
        F[:, col] = v
    return F


def _reach2(F):  # type: ignore[no-untyped-def]
    a, b, c = F[:, kernels.F_SXX], F[:, kernels.F_SXY], F[:, kernels.F_SYY]
    r = P.gate_chi2 * ((a + c) / 2 + np.sqrt(((a - c) / 2) ** 2 + b * b))
    return np.where(np.isfinite(r), r, np.inf)


def _located_scene(m: int, seed: int, off: tuple[float, float] = (0.0, 0.0)):  # type: ignore[no-untyped-def]
    """Units of mode 0 crowded around ``m // 8`` places, window starts on a 30 s grid (long runs
    of equal starts, so chunk boundaries fall inside them), mixed roles, two sources on some
    units, arrival times on some, a few query units and a few rows with NaN/inf in them."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(-60e3, 60e3, (max(m // 8, 1), 2))
    k = rng.integers(0, len(centres), m)
    lx, ly = centres[k, 0] + rng.normal(0, 900, m), centres[k, 1] + rng.normal(0, 900, m)
    s1, s2 = rng.uniform(150, 2_500, m), rng.uniform(150, 2_500, m)
    th = rng.uniform(0, np.pi, m)
    cs, sn = np.cos(th), np.sin(th)
    sxx, syy = s1**2 * cs**2 + s2**2 * sn**2, s1**2 * sn**2 + s2**2 * cs**2
    sxy = (s1**2 - s2**2) * cs * sn
    t_lo = rng.integers(0, 60, m) * 30.0
    t_hi = t_lo + rng.choice([60.0, 240.0, 900.0], m)
    arr = np.where(rng.random(m) < 0.2, t_lo + 20.0, np.nan)
    ox, oy = lx + rng.normal(0, 3_000, m), ly + rng.normal(0, 3_000, m)
    x, y = lx + off[0], ly + off[1]
    ox, oy = ox + off[0], oy + off[1]
    bad = rng.choice(m, 6, replace=False)
    x[bad[0]], y[bad[1]], t_lo[bad[2]] = np.nan, np.inf, np.nan
    x[bad[3]], sxx[bad[4]], t_hi[bad[5]] = -np.inf, np.nan, np.inf
    F = _packed(x, y, sxx, sxy, syy, t_lo, t_hi, arr, ox, oy, 330.0 + rng.uniform(0, 10, m))
    role = rng.integers(0, 3, m).astype(np.int8)
    src = np.full((m, 2), -1, np.int64)
    src[:, 0] = rng.integers(0, max(m // 3, 1), m)
    two = rng.random(m) < 0.2
    src[two, 1] = rng.integers(0, max(m // 3, 1), two.sum())
    query = rng.random(m) < 0.1
    local = np.column_stack([lx, ly])
    return F, role, src, query, local


def _sweep(F, role, src, query, mode=0, chunks=1, budget=10**12, cap=None,  # type: ignore[no-untyped-def]
           radius=P.pair_radius, scale_s=P.link_scale_s, reach2=None):
    """``kernels.sweep`` with ``cap`` rows shared evenly by ``chunks``; the count returned is
    the pairs found, or, when a chunk ran out of room, the room that would hold them all."""
    m = len(F)
    cap = 10 * m + 1_000 if cap is None else cap
    caps = np.full(chunks, max(cap // chunks, 1), np.int64)
    i, j, d, counts, ok = kernels.sweep(
        F, role, src, query, mode, P.gate_chi2,
        P.tdoa_slack_s if mode == 1 else P.arrival_slack_s, P.array_span_m,
        _reach2(F) if reach2 is None else reach2, P.link_scale_m, scale_s, radius, budget, caps,
        np.argsort(F[:, kernels.F_TLO], kind="stable"))
    over = bool((counts > caps).any())
    return i, j, d, int(counts.max()) * chunks if over else int(counts.sum()), ok


def _sweep_all(F, role, src, query, **kw):  # type: ignore[no-untyped-def]
    """:func:`_sweep`, run again with room for every pair when they exceed ``cap`` (as
    ``_cluster`` does)."""
    cap = 10 * len(F) + 1_000
    while True:
        i, j, d, n, ok = _sweep(F, role, src, query, cap=cap, **kw)
        if n <= cap:
            return i, j, d, n, ok
        cap = n


def _brute(F, role, src, query, local, mode=0, radius=P.pair_radius,  # type: ignore[no-untyped-def]
           scale_s=P.link_scale_s):
    """Every pair gated one by one: passes the gate, within ``radius`` of the normalised
    space-time, not two queries. ``local`` are the coordinates without a large offset (the
    kd-tree's prefilter only; the exact test reads ``F`` as the sweep does)."""
    mid = (F[:, kernels.F_TLO] + F[:, kernels.F_THI]) / 2
    z = np.column_stack([local / P.link_scale_m, mid / scale_s])
    fin = np.isfinite(z).all(axis=1) & np.isfinite(F[:, [kernels.F_MX, kernels.F_MY]]).all(1)
    idx = np.flatnonzero(fin)
    pr = cKDTree(z[idx]).query_pairs(radius * 1.01, output_type="ndarray")
    i, j = idx[pr[:, 0]], idx[pr[:, 1]]
    i, j = np.minimum(i, j), np.maximum(i, j)
    dx = F[i, kernels.F_MX] - F[j, kernels.F_MX]
    dy = F[i, kernels.F_MY] - F[j, kernels.F_MY]
    tm = F[:, kernels.F_TLO] + F[:, kernels.F_THI]
    dt = (tm[i] - tm[j]) / (2.0 * scale_s)
    near = (dx * dx + dy * dy) / P.link_scale_m**2 + dt * dt <= radius * radius
    near &= ~(query[i] & query[j])
    i, j = i[near], j[near]
    d = kernels.gate_pairs(F, role, src, i, j, mode, P.gate_chi2,
                           P.tdoa_slack_s if mode == 1 else P.arrival_slack_s, P.array_span_m)
    ok = d <= 1.0
    return i[ok], j[ok], d[ok]


def _as_set(i, j):  # type: ignore[no-untyped-def]
    return set(zip(i.tolist(), j.tolist(), strict=True))


@pytest.mark.parametrize("off", [
    (0.0, 0.0),
    (-7.5e6, -9.1e6),       # negative cells
    (3.3e13, -3.3e13),      # |cell| > 2**31: ``gx << 32`` overflows the square's key
    (1e18, 1e18),           # cell index near 2**46, hash products wrap
])
def test_sweep_equals_the_brute_force_reference_at_any_offset_and_chunk_count(off):
    F, role, src, query, local = _located_scene(2_600, 1, off)
    wi, wj, wd = _brute(F, role, src, query, local)
    assert len(wi) > 2_000  # a crowded scene
    first = None
    for chunks in (1, 2, 3):
        i, j, d, n, ok = _sweep(F, role, src, query, chunks=chunks)
        assert ok and n == len(i)
        assert (i < j).all()
        assert len(_as_set(i, j)) == len(i)  # each pair once
        assert _as_set(i, j) == _as_set(wi, wj)
        np.testing.assert_array_equal(np.sort(d), np.sort(wd))
        if first is None:
            first = (i, j, d)
        else:  # not only the same pairs: the same arrays, in the same order
            for a, b in zip(first, (i, j, d), strict=True):
                np.testing.assert_array_equal(a, b)


def test_sweep_with_seven_chunks_over_runs_of_equal_window_starts():
    F, role, src, query, local = _located_scene(7_200, 2)
    F[:, kernels.F_TLO] = np.round(F[:, kernels.F_TLO] / 600.0) * 600.0  # few distinct starts
    F[:, kernels.F_THI] = F[:, kernels.F_TLO] + 300.0
    want = _as_set(*_brute(F, role, src, query, local)[:2])
    for chunks in (1, 4, 7, 64):
        i, j, _, _, ok = _sweep_all(F, role, src, query, chunks=chunks)
        assert ok and _as_set(i, j) == want


def test_sweep_of_bare_arrivals_equals_the_brute_force_reference():
    """Mode 1 (TDOA gate), with the radius and time scale ``_arrival_units`` uses."""
    rng = np.random.default_rng(3)
    m = 2_400
    ox = rng.choice([-20e3, 0.0, 15e3], m) + rng.normal(0, 4_000, m)
    oy = rng.choice([-5e3, 9e3], m) + rng.normal(0, 4_000, m)
    arr = rng.integers(0, 900, m) * 1.0 + rng.choice([0.0, 0.3], m)
    c = 335.0 + rng.uniform(0, 5, m)
    wmax = 1.03 * P.array_span_m / c.min() + P.tdoa_slack_s
    zero = np.zeros(m)
    F = _packed(ox, oy, zero, zero, zero, arr, arr + wmax, arr, ox, oy, c)
    role = np.full(m, ROLE_ANY, np.int8)
    src = rng.integers(0, 200, (m, 1)).astype(np.int64)
    query = np.zeros(m, bool)
    reach2 = np.full(m, P.array_span_m**2 / 2)
    scale_s = P.link_scale_m / 340.0
    wi, wj, wd = _brute(F, role, src, query, np.column_stack([ox, oy]), mode=1,
                        radius=P.search_radius, scale_s=scale_s)
    assert len(wi) > 1_000
    for chunks in (1, 2, 3):
        i, j, d, _, ok = _sweep_all(F, role, src, query, mode=1, chunks=chunks,
                                radius=P.search_radius, scale_s=scale_s, reach2=reach2)
        assert ok and _as_set(i, j) == _as_set(wi, wj)
        np.testing.assert_array_equal(np.sort(d), np.sort(wd))


@pytest.mark.parametrize("X", [1e20, -1e20, 1e24, 1e300, -1e300])
def test_units_at_one_astronomically_far_point_still_pair(X):
    """Past 2**63 squares ``floor(x / cell)`` saturates; identical units must still meet."""
    n = 3
    F = _packed(np.full(n, X), np.full(n, -X), np.full(n, 1e4), np.zeros(n), np.full(n, 1e4),
                np.zeros(n), np.full(n, 60.0), np.full(n, np.nan), np.full(n, np.nan),
                np.full(n, np.nan), np.full(n, 330.0))
    role = np.full(n, ROLE_ANY, np.int8)
    src = np.arange(n, dtype=np.int64)[:, None]
    i, j, _, _, ok = _sweep(F, role, src, np.zeros(n, bool))
    assert ok and _as_set(i, j) == {(0, 1), (0, 2), (1, 2)}


@pytest.mark.parametrize("m", [0, 1, 2])
def test_sweep_of_no_one_or_two_units(m):
    F = _packed(*(np.zeros(m) for _ in range(5)), np.zeros(m), np.full(m, 10.0),
                np.full(m, np.nan), np.full(m, np.nan), np.full(m, np.nan), np.full(m, 330.0))
    F[:, kernels.F_SXX] = F[:, kernels.F_SYY] = 1e4
    role = np.full(m, ROLE_ANY, np.int8)
    src = np.arange(m, dtype=np.int64)[:, None]
    for chunks in (1, 8):
        i, _, _, n, ok = _sweep(F, role, src, np.zeros(m, bool), chunks=chunks)
        assert ok and n == len(i) == (1 if m == 2 else 0)


def test_sweep_where_every_window_is_nan_or_infinite():
    m = 50
    F = _packed(np.zeros(m), np.zeros(m), np.full(m, 1e4), np.zeros(m), np.full(m, 1e4),
                np.where(np.arange(m) % 2, np.nan, -np.inf), np.full(m, np.inf),
                np.full(m, np.nan), np.full(m, np.nan), np.full(m, np.nan), np.full(m, 330.0))
    role = np.full(m, ROLE_ANY, np.int8)
    src = np.arange(m, dtype=np.int64)[:, None]
    i, _, _, n, ok = _sweep(F, role, src, np.zeros(m, bool))
    assert ok and n == len(i) == 0


def test_the_cap_overflow_count_is_enough_room_for_a_rerun():
    """Past ``cap`` the sweep returns no pairs and a count; run again with that much room,
    it returns every pair (``_cluster``'s loop)."""
    F, role, src, query, local = _located_scene(3_000, 4)
    want = _as_set(*_brute(F, role, src, query, local)[:2])
    for chunks in (1, 2, 3):
        cap = 10
        runs = 0
        while True:
            i, j, _, n, ok = _sweep(F, role, src, query, chunks=chunks, cap=cap)
            runs += 1
            assert ok
            if n <= cap:
                break
            assert len(i) == 0 and n >= len(want)
            cap = n
        assert runs == 2 and _as_set(i, j) == want


def _burst_after_quiet(n_quiet: int = 1_000, n_burst: int = 1_000):  # type: ignore[no-untyped-def]
    """``n_quiet`` units far apart in time, then a burst of ``n_burst`` mutually compatible
    units at one place and time: every gate check falls into the later time chunk."""
    m = n_quiet + n_burst
    t_lo = np.concatenate([-1e7 + 3_600.0 * np.arange(n_quiet), np.zeros(n_burst)])
    F = _packed(np.zeros(m), np.zeros(m), np.full(m, 250_000.0), np.zeros(m),
                np.full(m, 250_000.0), t_lo, t_lo + 60.0, np.full(m, np.nan),
                np.full(m, np.nan), np.full(m, np.nan), np.full(m, 330.0))
    role = np.full(m, ROLE_ANY, np.int8)
    src = np.arange(m, dtype=np.int64)[:, None]
    return F, role, src, np.zeros(m, bool)


# Regression (found in review): the budget was once split per chunk, so a burst in one time
# chunk took the bounded kNN path with two threads and not with one.
def test_the_budget_decision_does_not_depend_on_the_chunk_count():
    F, role, src, query = _burst_after_quiet()
    budget = 600_000  # the burst needs 1000 * 999 / 2 = 499,500 checks
    one = _sweep(F, role, src, query, chunks=1, budget=budget)
    assert one[4] and one[3] == 499_500
    two = _sweep(F, role, src, query, chunks=2, budget=budget)
    assert two[4] == one[4], "the budget fallback depends on the number of chunks"
    assert _as_set(two[0], two[1]) == _as_set(one[0], one[1])


# ------------------------------------------------------------------------------- grouping

BASE = {"source_type": "camera", "time_precision_s": 1.0, "fire_type": "explosion"}


def _point(r: Reports, ev: int, where: tuple[float, float], t: float, source: str,
           kind: str | None = "outgoing", sd: float = 500.0) -> None:
    r.add(ev, id=f"{source}-{len(r.event)}", source_id=source, time_s=t, lon=where[0],
          lat=where[1], location_sd_m=sd, explosion_type=kind, **BASE)


def _gate_of_reports(b: FireBatch):  # type: ignore[no-untyped-def]
    """The gate view of single reports (no bare arrivals): the candidates as units."""
    cd = candidates(b, P)
    F = _packed(cd.mx, cd.my, cd.sxx, cd.sxy, cd.syy, b.t_lo, b.t_hi, b.arr, b.ox, b.oy, b.c)
    return F, np.ascontiguousarray(b.role, np.int8), np.ascontiguousarray(b.source[:, None])


def _assert_every_pair_in_a_group_passes(b: FireBatch, labels) -> None:  # type: ignore[no-untyped-def]
    F, role, src = _gate_of_reports(b)
    order = np.argsort(labels, kind="stable")
    cuts = np.flatnonzero(np.diff(labels[order])) + 1
    for rows in np.split(order, cuts):
        if len(rows) < 2:
            continue
        ii, jj = np.triu_indices(len(rows), 1)
        d = kernels.gate_pairs(F, role, src, rows[ii], rows[jj], 0, P.gate_chi2,
                               P.arrival_slack_s, P.array_span_m)
        assert (d <= 1.0).all(), f"group of {len(rows)} holds a pair that fails the gate"


def _assert_dense_in_first_order(labels) -> None:  # type: ignore[no-untyped-def]
    if not len(labels):
        return
    _, first = np.unique(labels, return_index=True)
    assert np.array_equal(np.unique(labels), np.arange(labels.max() + 1))
    assert (np.diff(first) > 0).all()  # numbered in order of each group's first row


def _chain(n: int, seed: int) -> Reports:
    """``n`` point reports 400 m apart on a line, all at once, most of either role, a few
    origins and impacts, some sources twice: one connected component far larger than
    ``SMALL`` and no clique."""
    rng = np.random.default_rng(seed)
    r = Reports()
    start = (36.2, 47.6)
    for k in range(n):
        kind = rng.choice(["impact", "outgoing", None], p=[0.1, 0.1, 0.8])
        _point(r, k, offset(*start, 70.0, 400.0 * k), float(rng.uniform(0, 3)),
               f"s{rng.integers(0, 3 * n // 4)}", kind=kind, sd=300.0)
    return r


@pytest.mark.parametrize("max_component", [3_000, 200])
def test_a_component_larger_than_small_is_cut_so_every_pair_passes(max_component):
    r = _chain(700, 5)
    b = r.batch()
    F, role, src = _gate_of_reports(b)
    i, j, _, _, ok = _sweep_all(F, role, src, np.zeros(len(b), bool))
    _, comp = kernels.components(len(b), i, j)
    assert ok and np.bincount(comp).max() > SMALL  # this goes to ``split_large``
    p = GroupingParams(max_component=max_component)
    labels = group(b, p)
    _assert_dense_in_first_order(labels)
    size = np.bincount(labels)
    assert (size >= 2).sum() > 150  # linked, not left as singletons
    _assert_every_pair_in_a_group_passes(b, labels)


def _mixed_scene(n_events: int, seed: int) -> Reports:
    rng = np.random.default_rng(seed)
    r = Reports()
    sensors = [offset(37.2, 48.2, az, 1_500) for az in (0, 120, 240)] + [(37.2, 48.2)]
    for e in range(n_events):
        target = (37.0 + rng.uniform(0, 0.5), 48.0 + rng.uniform(0, 0.4))
        t = rng.uniform(0, 3 * 3_600)
        for k, post in enumerate(posts_around(target, int(rng.integers(1, 4)), rng)):
            bearing_report(r, e, post, target, t + rng.uniform(0, 60), 3.0, rng,
                           source=f"m{k}_{e % 7}",
                           band=(2_000, 10_000) if rng.random() < 0.5 else None)
        if rng.random() < 0.4:
            for k, s in enumerate(sensors[: int(rng.integers(1, 5))]):
                arrival_report(r, e, s, target, t, 0.01, rng, source=f"s{k}")
    return r


@TWO_THREADS
def test_grouping_and_fixes_are_identical_for_one_and_two_threads():
    """The record's replay must re-derive identical findings on any machine."""
    b = _mixed_scene(650, 6).batch()
    assert np.isfinite(b.brg).sum() > 1_000  # the sweep cuts its units into two chunks
    out = []
    for th in (1, 2):
        with _threads(th):
            out.append((group(b), fuse_batch(b, None)))
    (l1, f1), (l2, f2) = out
    np.testing.assert_array_equal(l1, l2)
    np.testing.assert_array_equal(f1.labels, f2.labels)
    for name in ("x", "y", "t0", "cov", "located", "method", "rms", "outlier"):
        np.testing.assert_array_equal(getattr(f1.fixes, name), getattr(f2.fixes, name))


def _burst_scene() -> Reports:
    """800 quiet reports an hour apart, then a burst of 1,200 compatible outgoing reports at one
    place, and between them two impact reports 600 m apart that only gate with each other."""
    r = Reports()
    where = (37.0, 48.0)
    for k in range(800):
        _point(r, k, offset(*where, (37.0 * k) % 360, 5_000.0 + k), -10_000.0 - 3_600.0 * k,
               f"q{k}")
    for k in range(1_200):
        _point(r, 10_000, where, 0.0, f"b{k}")
    for k, az in enumerate((270.0, 90.0)):
        _point(r, 20_000, offset(*where, az, 300.0), 0.0, f"x{k}", kind="impact")
    return r


# Regression (found in review), seen through ``group``: with a budget split per chunk, two
# threads took the kNN fallback near the budget where one thread did not, and the two impacts
# ended as two groups instead of one.
@TWO_THREADS
def test_group_labels_near_the_budget_do_not_depend_on_the_thread_count():
    b = _burst_scene().batch()
    out = []
    for th in (1, 2):
        with _threads(th):
            out.append(group(b))
    assert out[0][-1] == out[0][-2]  # one thread: the impacts pair (the gate passes)
    np.testing.assert_array_equal(out[0], out[1])


def test_a_dense_burst_past_the_budget_takes_the_bounded_path_with_a_vague_arrival():
    """1,500 compatible reports need more than ``64 n + 10**6`` gates: the kNN path
    (``candidate_edges``, ``_query_knn``), one component larger than ``SMALL`` (scipy's
    linkage); a lone arrival at the burst fits that one group only and joins it."""
    r = Reports()
    where = (37.0, 48.0)
    for k in range(1_500):
        _point(r, 0, where, 0.0, f"b{k}")
    r.add(0, id="lone", source_id="sensor-1", source_type="sensor", time_s=10.0,
          time_precision_s=1.0, fire_type="explosion", explosion_type="outgoing",
          observer_lon=where[0], observer_lat=where[1], arrival_s=10.0)
    b = r.batch()
    F, role, src = _gate_of_reports(b)
    m = len(b)
    assert not _sweep(F, role, src, np.arange(m) == m - 1, budget=64 * m + 1_000_000)[4]
    labels = group(b)
    assert (labels == 0).all()


def test_the_bounded_path_of_a_mixed_burst_still_cuts_every_group_to_pass_the_gate():
    """1,800 reports within 800 m, roles mixed, sources repeated: past the budget, so
    ``candidate_edges``' kNN graph, then the split of components large and small."""
    rng = np.random.default_rng(9)
    r = Reports()
    for _ in range(1_800):
        _point(r, 0, offset(37.0, 48.0, rng.uniform(0, 360), rng.uniform(0, 800)),
               float(rng.uniform(0, 5)), f"s{rng.integers(0, 1_200)}",
               kind=rng.choice(["impact", "outgoing", None]), sd=300.0)
    b = r.batch()
    F, role, src = _gate_of_reports(b)
    m = len(b)
    assert not _sweep(F, role, src, np.zeros(m, bool), budget=64 * m + 1_000_000)[4]
    labels = group(b)
    _assert_dense_in_first_order(labels)
    _assert_every_pair_in_a_group_passes(b, labels)


def _two_arrivals_of_one_sensor() -> Reports:
    r = Reports()
    sensor = (37.0, 48.0)
    _point(r, 0, offset(*sensor, 90.0, 2_000.0), 100.0, "m1", kind="impact", sd=300.0)
    for k, a in enumerate((100.0, 101.0)):  # two shells of a salvo, heard one second apart
        r.add(k, id=f"s1-{k}", source_id="s1", source_type="sensor", time_s=a,
              time_precision_s=1.0, fire_type="explosion", explosion_type="impact",
              observer_lon=sensor[0], observer_lat=sensor[1], arrival_s=a)
    return r


# Regression (found in review): vague arrival groups were once checked only against the
# sources their group already held, so two one-arrival groups of one sensor joined one group.
def test_two_vague_arrivals_of_one_sensor_never_join_one_group():
    b = _two_arrivals_of_one_sensor().batch()
    labels = group(b)
    for g in np.unique(labels):
        s = b.source[labels == g]
        assert len(s) == len(np.unique(s)), f"group {g} holds one source twice"


def test_no_group_holds_one_source_twice_in_a_mixed_scene():
    b = _mixed_scene(300, 7).batch()
    labels = group(b)
    key = labels * (int(b.source.max()) + 1) + b.source
    assert len(np.unique(key)) == len(key)


HERE = (37.0, 48.0)
SENSOR = {"source_type": "sensor", "observer_lon": HERE[0], "observer_lat": HERE[1]}
ONE_KIND = {
    "point": {"lon": HERE[0], "lat": HERE[1]},
    "bearing": {"observer_lon": HERE[0], "observer_lat": HERE[1], "bearing_deg": 90.0},
    "band": {"observer_lon": HERE[0], "observer_lat": HERE[1], "bearing_deg": 90.0,
             "distance_min_m": 1_000.0, "distance_max_m": 3_000.0},
    "arrival": {**SENSOR, "arrival_s": 0.0},
    "nothing": {},
}
ODD = {
    "NaN lon": {"lon": np.nan, "lat": HERE[1]},
    "inf lon": {"lon": np.inf, "lat": HERE[1]},
    "lat beyond the globe": {"lon": HERE[0], "lat": 1e6},
    "other hemisphere": {"lon": -120.0, "lat": -60.0},
    "pole": {"lon": HERE[0], "lat": 90.0},
    "inf observer": {"observer_lon": np.inf, "observer_lat": HERE[1], "bearing_deg": 90.0},
    "inf bearing": {"observer_lon": HERE[0], "observer_lat": HERE[1], "bearing_deg": np.inf},
    "inverted band": {"observer_lon": HERE[0], "observer_lat": HERE[1], "bearing_deg": 90.0,
                      "distance_min_m": 5_000.0, "distance_max_m": 1_000.0},
    "inf location sd": {"lon": HERE[0], "lat": HERE[1], "location_sd_m": np.inf},
    "NaN time": {"lon": HERE[0], "lat": HERE[1], "time_s": np.nan},
    "inf time": {"lon": HERE[0], "lat": HERE[1], "time_s": np.inf},
    "inverted window": {"lon": HERE[0], "lat": HERE[1], "time_precision_s": -1e4},
    "inf arrival": {**SENSOR, "arrival_s": np.inf},
    "NaN arrival, inf time": {**SENSOR, "arrival_s": np.nan, "time_s": np.inf},
}
EDGE_CASES = (["empty"] + [f"one {k}" for k in ONE_KIND] + [f"five identical {k}" for k in ONE_KIND]
              + list(ODD))


def _edge_batch(name: str) -> FireBatch:
    if name == "empty":
        return FireBatch.from_columns({"id": [], "source_id": []}, projection(), EPOCH)
    r = Reports()
    if name.startswith("one "):
        kw = ONE_KIND[name[4:]]
        r.add(0, id="a", source_id="a", time_s=0.0, explosion_type="outgoing", **{**BASE, **kw})
    elif name.startswith("five identical "):
        kw = ONE_KIND[name[15:]]
        for k in range(5):  # identical in time and position, five sources
            r.add(0, id=f"a{k}", source_id=f"s{k}", time_s=0.0, explosion_type="outgoing",
                  **{**BASE, **kw})
    else:
        for k in range(4):  # two odd reports and two ordinary ones, all of one moment
            extra = ODD[name] if k in (0, 3) else {"lon": HERE[0], "lat": HERE[1]}
            r.add(0, id=f"a{k}", source_id=f"s{k}", explosion_type="outgoing",
                  **{**BASE, "time_s": 0.0, **extra})
    return r.batch()


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("name", EDGE_CASES)
def test_edge_inputs_group_and_locate_without_error(name):
    b = _edge_batch(name)
    labels = group(b)
    assert len(labels) == len(b)
    _assert_dense_in_first_order(labels)
    res = fuse_batch(b, None)
    G = res.n_groups
    assert len(res.labels) == len(b) and len(res.fixes.x) == G
    fx = res.fixes
    # located means a finite fix and covariance
    assert np.isfinite(fx.x[fx.located]).all() and np.isfinite(fx.cov[fx.located]).all()
    # a report with no usable position or window is a group of its own
    cd = candidates(b, P)
    for row in np.flatnonzero(~cd.ok):
        assert (labels == labels[row]).sum() == 1


def test_identical_reports_of_distinct_sources_are_one_group_and_one_source_never():
    r = Reports()
    for k in range(6):
        _point(r, 0, (37.0, 48.0), 0.0, f"s{k}")
    for _ in range(4):
        _point(r, 1, (37.5, 48.5), 0.0, "same")
    labels = group(r.batch())
    assert len(set(labels[:6].tolist())) == 1
    assert len(set(labels[6:].tolist())) == 4


# -------------------------------------------------------------------------------- locate

def _degenerate() -> tuple[FireBatch, np.ndarray]:
    r = Reports()
    o = (37.0, 48.0)
    obs = {"observer_lon": o[0], "observer_lat": o[1]}
    for k in range(3):  # 0: three identical bearings from one spot, no band
        r.add(0, id=f"a{k}", source_id=f"a{k}", time_s=0.0, bearing_deg=45.0,
              explosion_type="outgoing", **BASE, **obs)
    r.add(1, id="n", source_id="n", time_s=0.0, explosion_type="outgoing", **BASE)  # no rows
    for k in range(4):  # 2: four arrivals at one sensor position at one time
        r.add(2, id=f"s{k}", source_id=f"s{k}", time_s=0.0, arrival_s=5.0,
              explosion_type="outgoing", **{**BASE, "source_type": "sensor"}, **obs)
    # (3: no report at all) 4: bearings pointing away from each other
    far = offset(*o, 90.0, 5_000.0)
    r.add(4, id="b0", source_id="b0", time_s=0.0, bearing_deg=270.0,
          explosion_type="outgoing", **BASE, **obs)
    for k in (1, 2):
        r.add(4, id=f"b{k}", source_id=f"b{k}", time_s=0.0, bearing_deg=90.0,
              observer_lon=far[0], observer_lat=far[1], explosion_type="outgoing", **BASE)
    # 5: a band at the observer and a point on the observer
    r.add(5, id="c0", source_id="c0", time_s=0.0, bearing_deg=10.0, distance_min_m=0.0,
          distance_max_m=10.0, explosion_type="outgoing", **BASE, **obs)
    r.add(5, id="c1", source_id="c1", time_s=0.0, lon=o[0], lat=o[1], location_sd_m=1.0,
          explosion_type="outgoing", **BASE)
    # 6: two arrivals and two identical bearings from one sensor position
    for k in range(2):
        r.add(6, id=f"d{k}", source_id=f"d{k}", time_s=0.0, arrival_s=1.0, bearing_deg=30.0,
              explosion_type="outgoing", **{**BASE, "source_type": "sensor"}, **obs)
    return r.batch(), np.array(r.event, np.int64)


@pytest.mark.filterwarnings("error")
def test_locate_degenerate_groups_and_a_group_with_no_rows():
    b, labels = _degenerate()
    cd = candidates(b, P)
    out = []
    for th in (1, 2) if numba.config.NUMBA_NUM_THREADS >= 2 else (1,):
        with _threads(th):
            out.append(locate(b, labels, cd))
    fx = out[0]
    assert len(fx.x) == 7
    assert not fx.located[[0, 1, 2, 3, 4, 6]].any()
    assert np.isfinite(fx.x[fx.located]).all()
    assert np.isfinite(fx.cov[fx.located]).all()
    for other in out[1:]:
        for name in ("x", "y", "t0", "cov", "located", "rms", "outlier"):
            np.testing.assert_array_equal(getattr(fx, name), getattr(other, name))


def test_locate_with_no_rows_at_all():
    b = FireBatch.from_columns({"id": [], "source_id": []}, projection(), EPOCH)
    fx = locate(b, np.zeros(0, np.int64), candidates(b, P))
    assert len(fx.x) == 0 and len(fx.located) == 0
