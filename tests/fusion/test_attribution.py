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
