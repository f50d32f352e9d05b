"""Grouping's shortcuts give what the longer way gives: the arrays' near sensors without a
tree, a fit given the rows its caller built, and the arrival groups the arrays' split fitted
and left whole keeping that fit instead of a second one on the same rows."""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from tests.fusion.synth import Reports, arrival_report, offset
from truceline.core.fusion import kernels
from truceline.core.fusion.arrival_groups import arrival_fit_params, max_at, split_mixed
from truceline.core.fusion.batch import ROLE_ANY, GroupingParams, candidates
from truceline.core.fusion.graph import _Units, near_pairs
from truceline.core.fusion.grouping import (
    _arrival_scale_s,
    _arrival_units,
    _cluster,
    _distinct,
)
from truceline.core.fusion.locate import LocateParams, locate, measurement_rows


def test_near_pairs_are_the_kd_trees_pairs_within_each_group():
    """As the tree found them: the group a third coordinate far beyond ``r``, pairs within
    ``r`` (the boundary included: 3-4-5 triangles land exactly on it)."""
    rng = np.random.default_rng(5)
    r = 5_000.0
    g = rng.integers(0, 40, 400)
    x, y = rng.uniform(0, 20_000, 400), rng.uniform(0, 20_000, 400)
    x[:3], y[:3], g[:3] = [0.0, 3_000.0, 0.0], [0.0, 4_000.0, -5_000.0], 41  # both at r
    ei, ej = near_pairs(g, x, y, r)
    tree = cKDTree(np.column_stack([x, y, g * 4.0 * r])).query_pairs(r, output_type="ndarray")
    assert {(0, 1), (0, 2)} <= set(zip(ei.tolist(), ej.tolist(), strict=True))
    assert sorted(zip(ei.tolist(), ej.tolist(), strict=True)) == sorted(map(tuple, tree.tolist()))
    assert (ei < ej).all()
    # and the same components as scipy's, numbered alike (by first member)
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = len(g)
    _, want = connected_components(coo_matrix((np.ones(len(tree)), (tree[:, 0], tree[:, 1])),
                                              shape=(n, n)), directed=False)
    assert (kernels.components(n, ei, ej)[1] == want).all()


def test_max_at_and_distinct_give_numpys_bits():
    """``max_at`` as ``np.maximum.at`` (NaN wins, ties take the new value: signed zeros
    show it) and ``_distinct`` as ``np.unique``, empty inputs included."""
    rng = np.random.default_rng(3)
    for _ in range(200):
        k, n = int(rng.integers(1, 12)), int(rng.integers(0, 60))
        at = rng.integers(0, k, n)
        v = rng.choice([np.nan, -0.0, 0.0, np.inf, -1.0, 0.5, 2.0], n)
        init = rng.choice([0.0, -0.0, np.nan, -np.inf, 1.0], k)
        want = init.copy()
        with np.errstate(invalid="ignore"):
            np.maximum.at(want, at, v)
        assert max_at(init.copy(), at, v).tobytes() == want.tobytes()
        keys = rng.integers(-5, 20, n)
        assert np.array_equal(_distinct(keys), np.unique(keys))


def _arrays_hearing(n_bangs: int) -> Reports:
    """Two arrays 14 km apart (three sensors at A, two at B) hear ``n_bangs`` bangs between
    them a minute apart, and a launch by A with its burst by B (two sounds in one group)."""
    rng = np.random.default_rng(31)
    r = Reports()
    a = (38.28, 48.79)
    b = offset(*a, 290.0, 14_000.0)
    for e in range(n_bangs):
        bang = offset(*a, 290.0 + rng.uniform(-20, 20), rng.uniform(4_000, 10_000))
        for k, (c, az) in enumerate(((a, 0.0), (a, 120.0), (a, 240.0), (b, 60.0), (b, 240.0))):
            arrival_report(r, e, offset(*c, az, 900.0), bang, 1_000.0 + 60.0 * e, 0.01, rng,
                           source=f"s{k}")
    launch, burst = offset(*a, 175.0, 15_000.0), offset(*b, 10.0, 1_500.0)
    t = 1_000.0 + 60.0 * n_bangs
    for k, az in enumerate((0.0, 120.0, 240.0)):
        arrival_report(r, n_bangs, offset(*a, az, 900.0), launch, t, 0.01, rng, source=f"s{k}")
    for k, az in enumerate((60.0, 240.0)):
        arrival_report(r, n_bangs + 1, offset(*b, az, 900.0), burst, t + 50.0, 0.01, rng,
                       source=f"s{k + 3}")
    return r


def test_locate_given_its_rows_fits_as_when_it_builds_them():
    b = _arrays_hearing(6).batch()
    p = GroupingParams()
    lab = np.arange(len(b)) // 5
    cd = candidates(b, p)
    want = locate(b, lab, cd, LocateParams())
    got = locate(b, lab, cd, LocateParams(), rows=measurement_rows(b, lab))
    for name in ("x", "y", "t0", "cov", "located", "rms"):
        assert np.array_equal(getattr(got, name), getattr(want, name), equal_nan=True)


def test_arrival_groups_the_split_left_whole_keep_its_fit_which_a_second_fit_repeats():
    """The bangs' groups span both arrays and fit: the split leaves them whole, and their
    units (position, window) and fixed flags are what a fresh fit of every group of three or
    more arrivals gives, as before the shortcut; the launch's and burst's group is split."""
    b = _arrays_hearing(6).batch()
    p = GroupingParams()
    cd = candidates(b, p)
    rows = np.arange(len(b))
    lab, units, fixed = _arrival_units(b, p, rows)
    au_lab = _cluster(_bare_arrivals(b, p), 1, p)[0]
    new, fitted = split_mixed(b.take(rows, numbers_only=True), p, au_lab)
    assert np.array_equal(new, lab) and fitted is not None and len(fitted[0]) == 6
    assert len(set(lab[-5:].tolist())) == 2  # the launch and the burst, apart
    G = int(lab.max()) + 1
    big = np.bincount(lab, minlength=G) >= 3
    keep = np.flatnonzero(big[lab])
    fx = locate(b.take(keep, numbers_only=True), (np.cumsum(big) - 1)[lab[keep]],
                cd.take(keep), arrival_fit_params(p))
    assert np.array_equal(fixed[big], fx.located)
    assert np.array_equal(units.mx[big], fx.x) and np.array_equal(units.my[big], fx.y)
    mid = (units.t_lo + units.t_hi) / 2
    assert np.allclose(mid[big][fx.located], fx.t0[fx.located], rtol=0, atol=1e-9)


def _bare_arrivals(b, p):  # type: ignore[no-untyped-def]
    """The bare arrivals as :func:`_arrival_units` first clusters them (mode 1)."""
    m = len(b)
    wmax = min(1.03 * p.array_span_m / float(b.c.min()) + p.tdoa_slack_s,
               p.search_radius * _arrival_scale_s(p))
    z = np.zeros(m)
    return _Units.of(b.ox, b.oy, z, z, z, b.arr, b.arr + wmax, np.full(m, ROLE_ANY, np.int8),
                     b.source[:, None], b.arr, b.ox, b.oy, b.c)
