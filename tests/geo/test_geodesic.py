"""Exact geodesic distances and the refinement that makes threshold verdicts exact."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from truceline.core.classify import classify
from truceline.core.geo import (
    GEOD,
    geodesic_distance_to_line,
    refine_near_threshold,
)
from truceline.errors import ValidationError


def _perpendicular_points(coords: np.ndarray, seg: np.ndarray, dist: np.ndarray, side: np.ndarray):
    """Points at exactly ``dist`` (geodesic) from segment ``seg``, perpendicular at its middle."""
    a, b = coords[seg], coords[seg + 1]
    az, _, length = GEOD.inv(a[:, 0], a[:, 1], b[:, 0], b[:, 1])
    mlon, mlat, baz = GEOD.fwd(a[:, 0], a[:, 1], az, np.asarray(length) / 2)
    heading = np.asarray(baz) + 180.0  # the segment's azimuth at its middle
    lon, lat, _ = GEOD.fwd(mlon, mlat, heading + 90.0 * side, dist)
    return np.asarray(lon), np.asarray(lat)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 837), st.floats(0.0, 90_000.0), st.sampled_from([-1.0, 1.0]))
def test_distance_to_one_segment_is_exact(front_line, seg, dist, side):
    coords = np.asarray(front_line.coords)
    lon, lat = _perpendicular_points(coords, np.array([seg]), np.array([dist]), np.array([side]))
    got = geodesic_distance_to_line(coords[seg : seg + 2], lon, lat)
    assert got[0] == pytest.approx(dist, abs=1e-6)


def test_pruned_search_equals_all_segments(front_line):
    coords = np.asarray(front_line.coords)
    rng = np.random.default_rng(3)
    k = rng.integers(0, len(coords), 40)
    lon, lat, _ = GEOD.fwd(coords[k, 0], coords[k, 1], rng.uniform(0, 360, 40),
                           rng.uniform(0, 80e3, 40))
    pruned = geodesic_distance_to_line(front_line, lon, lat)
    every = np.tile(np.arange(len(coords) - 1), (40, 1))
    full = geodesic_distance_to_line(front_line, lon, lat, seg_hint=every)
    np.testing.assert_allclose(pruned, full, atol=1e-9)


def test_refine_near_threshold_only_touches_the_band():
    line = np.array([[30.0, 49.5], [30.0, 50.5]])
    lon, lat, _ = GEOD.fwd([30.0] * 3, [50.0] * 3, [90.0] * 3, [24_990.0, 25_004.0, 5_000.0])
    planar = np.array([25_001.0, 24_999.0, 5_000.0])  # wrong side of 25 km for the first two
    dist, refined = refine_near_threshold(planar, [25_000.0], 12.0, line, lon, lat)
    assert refined.tolist() == [True, True, False]
    np.testing.assert_allclose(dist, [24_990.0, 25_004.0, 5_000.0], atol=1e-6)
    assert ((dist <= 25_000) == [True, False, True]).all()


def test_verdicts_at_25_km_match_geodesic_truth(front_line, real_geometry):
    """Points 25 km +- a few metres from the real line: classify's verdicts equal the truth."""
    coords = np.asarray(front_line.coords)
    rng = np.random.default_rng(2025)
    n = 1_000
    seg = rng.integers(0, len(coords) - 1, n)
    target = 25_000.0 + rng.uniform(-6.0, 6.0, n)
    side = rng.choice([-1.0, 1.0], n)
    # Walk out perpendicular to a segment; where the line bends, another segment is nearer, so
    # two secant steps on the walked distance bring the true distance to the target.
    walk = target.copy()
    for _ in range(2):
        lon, lat = _perpendicular_points(coords, seg, walk, side)
        truth = geodesic_distance_to_line(front_line, lon, lat)
        walk = np.clip(walk + (target - truth), 0.0, 60_000.0)
    lon, lat = _perpendicular_points(coords, seg, walk, side)
    truth = geodesic_distance_to_line(front_line, lon, lat)
    t = np.full(n, np.datetime64("2025-04-02"))
    c = classify(real_geometry, lon, lat, t)
    d = c.dist_m["contact"]
    close = np.abs(truth - 25_000.0) <= 6.0
    assert close.sum() > 150
    assert c.refined[close].mean() > 0.5  # the margin is ~11 m at 25 km for this projection
    np.testing.assert_array_equal(d <= 25_000.0, truth <= 25_000.0)
    np.testing.assert_allclose(d[c.refined], truth[c.refined], atol=1e-6)
    # the planar distances alone would have got some of these wrong
    x, y = real_geometry.projection.forward(lon, lat)
    planar = real_geometry.lines["contact"].index.query(x, y).dist
    assert ((planar <= 25_000.0) != (truth <= 25_000.0)).any()


def test_geodesic_rejects_bad_hints():
    with pytest.raises(ValidationError) as e:
        geodesic_distance_to_line(np.array([[30.0, 50.0], [31.0, 50.0]]), [30.5], [50.1], [[5]])
    assert e.value.field == "seg_hint"
