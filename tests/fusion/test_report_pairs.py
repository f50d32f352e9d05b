"""The reports' pairs swept ahead (:mod:`truceline.core.fusion.report_pairs`) are the one
sweep's: the same pairs with the same distances, the same verdict on the budget, and the same
labels from ``group``."""

from __future__ import annotations

from dataclasses import replace

import numba
import numpy as np

from tests.fusion.synth import Reports, arrival_report, bearing_report, offset, posts_around
from truceline.core.fusion import kernels, report_pairs
from truceline.core.fusion.batch import ROLE_ANY, GroupingParams, candidates
from truceline.core.fusion.far_reach import reaches
from truceline.core.fusion.graph import report_columns, split_queries
from truceline.core.fusion.grouping import group

P = GroupingParams()


def _units(seed: int, R: int = 3_000, A: int = 400, Q: int = 150):  # type: ignore[no-untyped-def]
    """``R`` reports, then ``A`` arrival fixes (undetermined role, up to four sources) and
    ``Q`` queries, crowded into 60 km and an hour; window starts on a grid of 30 s, so that
    many tie, reports with arrival units too."""
    rng = np.random.default_rng(seed)
    m = R + A + Q
    F = np.full((m, kernels.N_F), np.nan)
    F[:, kernels.F_MX] = rng.uniform(0, 60_000, m)
    F[:, kernels.F_MY] = rng.uniform(0, 20_000, m)
    s = rng.uniform(200.0, 3_000.0, m) ** 2
    F[:, kernels.F_SXX], F[:, kernels.F_SYY] = s, s * rng.uniform(0.2, 1.0, m)
    F[:, kernels.F_SXY] = rng.uniform(-0.3, 0.3, m) * np.sqrt(s * F[:, kernels.F_SYY])
    F[:, kernels.F_TLO] = np.round(rng.uniform(0, 3_600, m) / 30.0) * 30.0
    F[:, kernels.F_THI] = F[:, kernels.F_TLO] + rng.choice([30.0, 60.0, 360.0, 900.0], m)
    F[:, kernels.F_C] = 335.0
    F[rng.random(m) < 0.01, kernels.F_MX] = np.nan  # never swept
    role = rng.choice(np.array([0, 1, ROLE_ANY], np.int8), m, p=[0.45, 0.45, 0.1])
    role[R:] = ROLE_ANY
    src = np.full((m, 4), -1, np.int64)
    src[:, 0] = rng.integers(0, 400, m)  # shared sources: the cannot-link rule bites
    for u in range(R, m):
        k = int(rng.integers(1, 5))
        src[u, :k] = rng.choice(400, k, replace=False)
    query = np.arange(m) >= R + A
    reach2 = kernels.reach2(F, P.gate_chi2)
    return F, role, src, query, reach2, R


def _one_sweep(F, role, src, query, reach2, budget):  # type: ignore[no-untyped-def]
    """The one sweep's pairs as ``_cluster`` takes them (main pairs, query pairs parted,
    components), or ``None`` beyond the budget."""
    caps = np.full(2, 10**6, np.int64)  # room for every pair
    i, j, d, _, ok = kernels.sweep(F, role, src, query, 0, P.gate_chi2, P.arrival_slack_s,
                                   P.array_span_m, reach2, P.link_scale_m, P.link_scale_s,
                                   P.pair_radius, budget, caps,
                                   np.argsort(F[:, kernels.F_TLO], kind="stable"))
    if not ok:
        return None
    nm = int(np.argmax(query)) if query.any() else len(F)
    i, j, d, qi, qj = split_queries(i, j, d, nm)
    return (i, j, d, qi, qj, *kernels.components(nm, i, j))


def _ahead(F, role, src, query, reach2, R, budget):  # type: ignore[no-untyped-def]
    """The same through the thread, which packs the reports' rows from their columns (here
    every other report's, to check it packs the rows it is given)."""
    rows = np.arange(R) * 2
    cols = tuple(np.repeat(np.ascontiguousarray(F[:R, k]), 2) for k in range(kernels.N_F))
    G = F.copy()
    G[:R] = -1.0  # the thread's to fill
    a = report_pairs.start(rows, cols, G[:R], role[:R], src[:R, :1], P.gate_chi2,
                           P.arrival_slack_s, P.array_span_m, P.link_scale_m, P.link_scale_s,
                           P.pair_radius, budget + 1_000)
    nm = int(np.argmax(query)) if query.any() else len(F)
    got = report_pairs.finish(a, G, role, src[R:], nm, reach2[R:], P.gate_chi2,
                              P.arrival_slack_s, P.array_span_m, P.link_scale_m,
                              P.link_scale_s, P.pair_radius, budget)
    assert (G[:R] == -1.0).all()  # the reports' rows: written only where asked
    a.rows(G)
    assert np.array_equal(G, F, equal_nan=True)  # the rows it packed
    return got


def _sorted(i, j, d=None):  # type: ignore[no-untyped-def]
    o = np.lexsort((j, i))
    return (i[o], j[o]) if d is None else (i[o], j[o], d[o])


def test_the_pairs_swept_ahead_are_the_one_sweeps():
    for seed in (1, 2, 3):
        F, role, src, query, reach2, R = _units(seed)
        want = _one_sweep(F, role, src, query, reach2, 10**9)
        got = _ahead(F, role, src, query, reach2, R, 10**9)
        assert want is not None and got is not None
        assert len(want[0]) > 2_000
        w, g = _sorted(*want[:3]), _sorted(*got[:3])
        # arrival units paired with reports, both ways round in window start
        cross = (w[0] < R) & (w[1] >= R)
        assert cross.sum() > 200
        for a, b in zip(w, g, strict=True):
            assert np.array_equal(a, b)  # distances bit for bit: the gate called alike
        wq, gq = _sorted(*want[3:5]), _sorted(*got[3:5])
        assert len(wq[0]) > 100  # queries paired with reports and with arrival units
        assert np.array_equal(wq[0], gq[0]) and np.array_equal(wq[1], gq[1])
        # the components continue the reports' own (found in the thread): the same labels
        assert want[5] == got[5] and np.array_equal(want[6], got[6])
        assert want[5] < R + 300  # pairs across the reports and the arrival units join some


def test_the_pairs_are_joined_alike_without_room_after_the_reports():
    rng = np.random.default_rng(7)
    R, nm, m = 50, 60, 70  # reports, then arrival units, then queries
    ri = np.sort(rng.integers(0, R, (2, 40)), axis=0)
    ai = np.sort(rng.integers(0, m - R, (2, 15)), axis=0)
    ai = ai[:, (ai[0] < ai[1]) & (ai[0] + R < nm)]  # two queries are never paired
    xj = rng.integers(R, m, 20)
    xi = rng.integers(0, R, 20)
    parent = np.arange(R)
    kernels.union(parent, ri[0], ri[1])
    room = [np.concatenate([a, np.full(100, -7, a.dtype)]) for a in (ri[0], ri[1], ri[0] * 0.5)]
    got = [report_pairs._join(*r, 40, parent, ai[0], ai[1], ai[0] * 0.25, xi, xj, xi * 0.125,
                              R, nm) for r in (room, (ri[0], ri[1], ri[0] * 0.5))]
    for a, b in zip(got[0], got[1], strict=True):
        assert np.array_equal(a, b)
    pairs = np.concatenate([ri, ai + R, [xi, xj]], axis=1)
    main = pairs[1] < nm
    assert np.array_equal(got[0][0], pairs[0, main]) and len(got[0][3]) == (~main).sum()
    assert np.array_equal(got[0][6], kernels.components(nm, *pairs[:, main])[1])


def test_the_budget_is_judged_alike():
    F, role, src, query, reach2, R = _units(4)
    lo, hi = 0, 10**7  # the fewest gated pairs the one sweep allows: it gates exactly that many
    while lo < hi:
        mid = (lo + hi) // 2
        lo, hi = ((lo, mid) if _one_sweep(F, role, src, query, reach2, mid) is not None
                  else (mid + 1, hi))
    for budget in (lo - 1, lo, lo + 1):
        assert (_ahead(F, role, src, query, reach2, R, budget) is not None) == (budget >= lo)


def _batch(seed: int):  # type: ignore[no-untyped-def]
    """Bearing reports and arrays' arrivals of events crowded into 50 km and two hours."""
    rng = np.random.default_rng(seed)
    r = Reports()
    arrays = [[offset(37.0 + 0.15 * a, 48.15, 90.0 * s, 1_500.0) for s in range(4)]
              for a in range(5)]
    for e in range(350):
        target = (37.0 + rng.uniform(0, 0.6), 48.0 + rng.uniform(0, 0.3))
        t = rng.uniform(0, 7_200)
        kind = str(rng.choice(["outgoing", "impact", "undetermined"], p=[0.45, 0.45, 0.1]))
        for k, post in enumerate(posts_around(target, int(rng.integers(1, 5)), rng)):
            bearing_report(r, e, post, target, t + rng.uniform(0, 90), 3.0, rng,
                           source=f"e{e}m{k}", band=(2_000, 10_000), explosion_type=kind)
        if rng.random() < 0.4:  # two to four sensors of an array heard it
            a = int(rng.integers(0, len(arrays)))
            for s in rng.choice(4, int(rng.integers(2, 5)), replace=False):
                arrival_report(r, e, arrays[a][s], target, t, 0.01, rng, source=f"a{a}s{s}")
    return r.batch()


def test_group_gives_the_same_labels_ahead_or_not():
    threads = numba.get_num_threads()
    try:
        for seed in (5, 6):
            b = _batch(seed)
            want = group(b, P, ahead=False)
            assert len(np.unique(want)) < 0.8 * len(b)
            for n in {1, threads}:
                numba.set_num_threads(n)
                assert np.array_equal(group(b, P, ahead=True), want)
    finally:
        numba.set_num_threads(threads)


def test_the_thread_computes_join_fars_reaches_as_far_reach_does():
    """The thread's :func:`.far_reach.reaches` of the reports, from the rows it packs: the
    same reaches and windows bit for bit where finite, the same rows finite (one covariance
    and one candidate made ``nan`` here: the thread reads ``inf``, not finite alike)."""
    b = _batch(5)
    cd = candidates(b, P)
    sxx, mx = cd.sxx.copy(), cd.mx.copy()
    rows = np.flatnonzero(cd.ok & ~(np.isfinite(b.arr) & ~np.isfinite(b.brg)))
    sxx[rows[3]], mx[rows[7]] = np.nan, np.nan
    cd = replace(cd, sxx=sxx, mx=mx)
    R = len(rows)
    a = report_pairs.start(rows, report_columns(b, cd), np.empty((R, kernels.N_F)),
                           np.zeros(R, np.int8), np.arange(R)[:, None], P.gate_chi2,
                           P.arrival_slack_s, P.array_span_m, P.link_scale_m, P.link_scale_s,
                           P.pair_radius, 10**9)
    got, want = a.result()["far"], reaches(b, cd, rows, P)
    assert R > 500 and not want[3][[3, 7]].any() and want[3].sum() == R - 2
    assert np.array_equal(got[3], want[3])
    for g, w in zip(got[:3], want[:3], strict=True):
        assert np.array_equal(g[want[3]], w[want[3]])


def test_a_burst_over_the_budget_gives_the_same_labels_ahead_or_not():
    """3,000 reports of 100 events within a minute in a few kilometres, each placed to 1 km:
    more pairs to gate than the sweep's budget, so grouping takes the bounded path, which
    reads the reports' float rows the thread packed only in window-start order
    (:meth:`.report_pairs.Ahead.rows`)."""
    rng = np.random.default_rng(13)
    r = Reports()
    for e in range(100):
        target = (37.0 + rng.uniform(0, 0.06), 48.0 + rng.uniform(0, 0.04))
        for k in range(30):
            where = offset(*target, rng.uniform(0, 360), abs(rng.normal(0, 100)))
            r.add(e, id=f"e{e}-m{k}", source_id=f"e{e}m{k}", source_type="monitor",
                  time_s=rng.uniform(0, 60), time_precision_s=60.0, fire_type="explosion",
                  explosion_type="impact", lon=where[0], lat=where[1], location_sd_m=1_000.0)
    b = r.batch()
    assert np.array_equal(group(b, P, ahead=True), group(b, P, ahead=False))
