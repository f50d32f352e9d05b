"""Attribution: integrate the location's uncertainty over the areas of control; calibrated."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm

from tests.fusion.synth import LINE_LON, Reports, bearing_report, geometry, offset, posts_around
from truceline.core.fusion import fuse_batch
from truceline.core.fusion.attribution import AttributionParams, attribute, normal_points
from truceline.core.geo import GEOD


@pytest.fixture(scope="module")
def geom():
    return geometry()


def _at(geom, offsets_m: np.ndarray, sigma: float, lat: float = 48.5):
    lon, lat_, _ = GEOD.fwd(np.full(len(offsets_m), LINE_LON), np.full(len(offsets_m), lat),
                            np.where(offsets_m >= 0, 90.0, 270.0), np.abs(offsets_m))
    x, y = geom.projection.forward(lon, lat_)
    cov = np.tile(np.eye(2) * sigma**2, (len(x), 1, 1))
    t = np.full(len(x), np.datetime64("2025-03-27T12:00", "ns"))
    return attribute(geom, x, y, cov, t)


def test_an_origin_on_the_line_is_a_coin_toss_and_far_inside_is_certain(geom):
    p = _at(geom, np.array([0.0, 30_000.0, -30_000.0]), 500.0)
    east = geom.spec.parties.index("east")
    assert abs(p[0, east] - 0.5) < 0.02
    assert p[1, east] == 1.0 and p[2, east] == 0.0
    np.testing.assert_allclose(p.sum(axis=1), 1.0)


def test_probability_follows_the_normal_cdf_of_distance_over_sigma(geom):
    d = np.linspace(-2_000, 2_000, 41)
    p = _at(geom, d, 800.0)[:, geom.spec.parties.index("east")]
    np.testing.assert_allclose(p, norm.cdf(d / 800.0), atol=0.03)
    assert (np.diff(p) >= 0).all()


def test_nothing_to_attribute_without_a_covariance(geom):
    x = np.array([0.0])
    p = attribute(geom, x, x, np.full((1, 2, 2), np.nan), np.array(["2025-01-01"], "M8[ns]"))
    assert p.tolist() == [[0.0, 0.0]]


def test_the_sample_is_deterministic_and_balanced():
    z = normal_points(AttributionParams().samples, AttributionParams().seed)
    assert np.array_equal(z, normal_points(128, AttributionParams().seed))
    np.testing.assert_allclose(z.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(np.cov(z.T), np.eye(2), atol=0.1)


def _trials(n: int, seed: int):
    """Origins up to 10 km either side of the line, 2-4 bearings of 2-5 degrees error."""
    rng = np.random.default_rng(seed)
    r = Reports()
    side, dist, n_brg = [], [], []
    for e in range(n):
        d = rng.uniform(-10_000, 10_000)
        lat = rng.uniform(47.0, 50.0)
        target = offset(LINE_LON, lat, 90.0 if d >= 0 else 270.0, abs(d))
        side.append(d >= 0)
        dist.append(abs(d))
        k_posts = int(rng.integers(2, 5))
        n_brg.append(k_posts)
        sd = float(rng.uniform(2, 5))
        for k, post in enumerate(posts_around(target, k_posts, rng, dist=(3_000, 12_000))):
            bearing_report(r, e, post, target, e * 7_200.0, sd, rng, source=f"p{k}")
    return r, np.array(side), np.array(dist), np.array(n_brg)


def test_attribution_is_calibrated_and_accurate_on_simulated_trials(geom):
    r, east_truth, dist, n_brg = _trials(4_000, 99)
    res = fuse_batch(r.batch(), geom)
    assert res.n_groups == 4_000 and res.fixes.located.all()
    east = res.prob[:, geom.spec.parties.index("east")]
    # reliability: within each decile of the stated probability, the observed frequency
    bins = np.minimum((east * 10).astype(int), 9)
    for k in range(10):
        sel = bins == k
        if sel.sum() >= 80:
            assert abs(east[sel].mean() - east_truth[sel].mean()) < 0.05, k
    brier = np.mean((east - east_truth) ** 2)
    assert brier < 0.06
    # accuracy for origins 2 km or more from the line with three or more bearings
    sel = (dist >= 2_000) & (n_brg >= 3)
    assert np.mean((east[sel] > 0.5) == east_truth[sel]) >= 0.97


def _every_point_tested(geom, x, y, cov, time, p):
    """Attribution as it was before a box's answer stood for its points: the box fast path,
    then every point of every other origin tested against every area in force."""
    from truceline.core.fusion.attribution import _active

    n, n_parties = len(x), len(geom.spec.parties)
    prob = np.zeros((n, n_parties))
    idx = np.flatnonzero(np.isfinite(x) & np.isfinite(y) & np.isfinite(cov).all(axis=(1, 2)))
    c = cov[idx]
    hx = p.box_sigma * np.sqrt(np.maximum(c[:, 0, 0], 0.0))
    hy = p.box_sigma * np.sqrt(np.maximum(c[:, 1, 1], 0.0))
    inside = np.full(len(idx), -1)
    touched = np.zeros((len(idx), n_parties), bool)
    for party, start, end, poly in geom.control:
        a = np.flatnonzero(_active(time[idx], start, end))
        hit, full = poly.boxes(x[idx][a] - hx[a], y[idx][a] - hy[a], x[idx][a] + hx[a],
                               y[idx][a] + hy[a])
        touched[a[hit], party] = True
        inside[a[full]] = party
    fast = (inside >= 0) & (touched.sum(axis=1) == 1)
    prob[idx[fast], inside[fast]] = 1.0
    slow = idx[~fast]
    z = normal_points(p.samples, p.seed)
    c = cov[slow]
    l11 = np.sqrt(np.maximum(c[:, 0, 0], 0.0))
    l21 = np.where(l11 > 0, c[:, 1, 0] / np.where(l11 > 0, l11, 1.0), 0.0)
    l22 = np.sqrt(np.maximum(c[:, 1, 1] - l21 * l21, 0.0))
    sx = (x[slow, None] + l11[:, None] * z[None, :, 0]).ravel()
    sy = (y[slow, None] + l21[:, None] * z[None, :, 0] + l22[:, None] * z[None, :, 1]).ravel()
    st = np.repeat(time[slow], p.samples)
    owner = np.full(len(sx), -1)
    disputed = np.zeros(len(sx), bool)
    for party, start, end, poly in geom.control:
        a = np.flatnonzero(_active(st, start, end))
        a = a[poly(sx[a], sy[a])]
        disputed[a] |= (owner[a] >= 0) & (owner[a] != party)
        owner[a] = party
    owner[disputed] = -1
    grid = owner.reshape(len(slow), p.samples)
    for k in range(n_parties):
        prob[slow, k] = (grid == k).mean(axis=1)
    return prob


def test_a_box_answer_stands_for_its_points_exactly():
    """Where an origin's points all lie in its box, an area the box misses or holds properly
    answers for them without a test each: the same probabilities, bit for bit, as testing
    every point, on the March 2025 agreement's areas (points along their borders, ellipses of
    1 m to 20 km, any orientation, times before and in force)."""
    import shapely

    from truceline.adapters.agreement_files import load_agreement_file
    from truceline.services.context import context_for_doc

    geom = context_for_doc(load_agreement_file("march2025")[1]).geometry
    rng = np.random.default_rng(21)
    edge = np.concatenate([shapely.get_coordinates(shapely.segmentize(m.geom.boundary, 500.0))
                           for _, _, _, m in geom.control])
    n = 20_000
    k = rng.integers(0, len(edge), n)
    x = edge[k, 0] + rng.normal(0.0, 3_000.0, n)
    y = edge[k, 1] + rng.normal(0.0, 3_000.0, n)
    sd = 10.0 ** rng.uniform(0.0, 4.3, (n, 2))
    rho = rng.uniform(-0.95, 0.95, n)
    cov = np.empty((n, 2, 2))
    cov[:, 0, 0], cov[:, 1, 1] = sd[:, 0] ** 2, sd[:, 1] ** 2
    cov[:, 0, 1] = cov[:, 1, 0] = rho * sd[:, 0] * sd[:, 1]
    cov[rng.random(n) < 0.02] = np.eye(2)  # a region cell's
    t = np.where(rng.random(n) < 0.1, np.datetime64("2025-02-01", "ns"),
                 np.datetime64("2025-03-27T12:00", "ns"))
    p = AttributionParams()
    got = attribute(geom, x, y, cov, t, p)
    np.testing.assert_array_equal(got, _every_point_tested(geom, x, y, cov, t, p))
    assert ((got > 0) & (got < 1)).any() and (got == 1).any()
