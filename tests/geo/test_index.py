"""LineIndex against shapely (same projection), the side rule, and the projection bound."""

from __future__ import annotations

import numpy as np
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from truceline.core.geo import (
    GEOD,
    LineIndex,
    choose_projection,
    distance_margin,
    geodesic_distance_to_line,
)


def _band_points(line_xy: np.ndarray, n: int, max_off: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    line = shapely.LineString(line_xy)
    base = shapely.line_interpolate_point(line, rng.uniform(0, line.length, n))
    r = rng.uniform(0, max_off, n)
    a = rng.uniform(0, 2 * np.pi, n)
    x, y = shapely.get_x(base), shapely.get_y(base)
    return np.column_stack([x + r * np.cos(a), y + r * np.sin(a)])


def test_distance_equals_shapely_near_and_far(line_xy, line_index):
    line = shapely.LineString(line_xy)
    rng = np.random.default_rng(7)
    near = _band_points(line_xy, 20_000, 30_000.0, 1)
    band = _band_points(line_xy, 20_000, 150_000.0, 2)
    far = rng.uniform(-1.5e6, 1.5e6, (5_000, 2))  # many beyond the grid: the tree path
    for pts in (near, band, far):
        hit = line_index.query(pts[:, 0], pts[:, 1])
        expected = shapely.distance(line, shapely.points(pts))
        np.testing.assert_allclose(hit.dist, expected, rtol=0, atol=1e-6)
        # the reported segment really is at that distance
        seg = shapely.linestrings(np.stack([line_xy[hit.seg], line_xy[hit.seg + 1]], axis=1))
        np.testing.assert_allclose(shapely.distance(seg, shapely.points(pts)), hit.dist, atol=1e-6)


@settings(max_examples=200, deadline=None)
@given(
    st.floats(0.0, 1.0),
    st.floats(-400_000.0, 400_000.0),
    st.floats(-400_000.0, 400_000.0),
)
def test_distance_property(line_xy, line_index, frac, dx, dy):
    line = shapely.LineString(line_xy)
    p = shapely.line_interpolate_point(line, frac * line.length)
    x, y = shapely.get_x(p) + dx, shapely.get_y(p) + dy
    hit = line_index.query(np.array([x]), np.array([y]))
    assert abs(hit.dist[0] - shapely.distance(line, shapely.Point(x, y))) <= 1e-6


def test_chainage_matches_line_locate_point(line_xy, line_index):
    line = shapely.LineString(line_xy)
    pts = _band_points(line_xy, 5_000, 2_000.0, 3)
    hit = line_index.query(pts[:, 0], pts[:, 1])
    expected = shapely.line_locate_point(line, shapely.points(pts))
    # equal except where two far-apart stretches are equidistant (none this close to the line)
    np.testing.assert_allclose(hit.chainage, expected, atol=1e-6)


def test_side_agrees_with_occupied_area(line_xy, line_index, occupied, projection):
    """Points 2-8 km either side of the line, where the occupied area's edge runs between them.

    The owlmaps line and DeepState's polygon are different sources (median 0.5 km apart, more
    in the north-east), so we test where the polygon's edge is locally the line: one of the
    pair inside, the other not. There the side must say which one is occupied.
    """
    rng = np.random.default_rng(11)
    line = shapely.LineString(line_xy)
    s = rng.uniform(0, line.length, 20_000)
    p0 = shapely.line_interpolate_point(line, s)
    p1 = shapely.line_interpolate_point(line, s + 1.0)
    tx, ty = shapely.get_x(p1) - shapely.get_x(p0), shapely.get_y(p1) - shapely.get_y(p0)
    off = rng.uniform(2_000, 8_000, len(s)) / np.hypot(tx, ty)
    occ = shapely.transform(occupied, lambda c: np.column_stack(projection.forward(*c.T)))
    hits, inside = [], []
    for sign in (1.0, -1.0):  # left, then right of the direction of travel
        x = shapely.get_x(p0) - sign * ty * off
        y = shapely.get_y(p0) + sign * tx * off
        hits.append(line_index.query(x, y))
        inside.append(shapely.intersects_xy(occ, x, y))
    local = (np.abs(hits[0].chainage - s) < 10e3) & (np.abs(hits[1].chainage - s) < 10e3)
    straddle = local & (inside[0] != inside[1])
    assert straddle.mean() > 0.6
    for h, ins in zip(hits, inside, strict=True):
        agree = (h.side[straddle] == 1) == ins[straddle]  # the occupied side is the left one
        assert agree.mean() > 0.98, agree.mean()
    # offsets from a wiggle can cross the line, but nearly all stay on their side
    assert (hits[0].side[local] == 1).mean() > 0.9
    assert (hits[1].side[local] == -1).mean() > 0.9


def _graph_line(ys: list[float]) -> np.ndarray:
    return np.column_stack([np.arange(len(ys)) * 1000.0, np.asarray(ys) * 1000.0])


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.floats(-3, 3), min_size=3, max_size=12),
    st.lists(st.tuples(st.floats(0.05, 0.95), st.floats(-4000, 4000)), min_size=1, max_size=50),
)
def test_side_at_sharp_vertices(ys, pts):
    """A graph y = f(x) run eastwards: left (+1) is above. Zig-zags make sharp vertices."""
    xy = _graph_line(ys)
    idx = LineIndex([xy], cell_m=500.0, reach_m=10_000.0)
    x = np.array([p[0] for p in pts]) * xy[-1, 0]
    y = np.array([p[1] for p in pts])
    f = np.interp(x, xy[:, 0], xy[:, 1])
    keep = np.abs(y - f) > 1e-6
    hit = idx.query(x[keep], y[keep])
    np.testing.assert_array_equal(hit.side, np.where(y[keep] > f[keep], 1, -1))
    rev = LineIndex([xy[::-1]], cell_m=500.0, reach_m=10_000.0).query(x[keep], y[keep])
    np.testing.assert_array_equal(rev.side, -hit.side)


def test_outside_of_a_bend_is_the_right_side():
    """The nearest segment's own sign is wrong here; the vertex pseudo-normal is right."""
    idx = LineIndex([np.array([[0.0, 0.0], [1000.0, 0.0], [0.0, 100.0]])])  # hairpin left turn
    hit = idx.query(np.array([1100.0, 1100.0, 500.0]), np.array([60.0, -60.0, 45.0]))
    assert hit.t[:2].tolist() in ([1.0, 1.0], [0.0, 0.0])  # nearest feature: the tip vertex
    assert hit.side.tolist() == [-1, -1, 1]  # outside the left turn is right; inside is left


def test_multipart_lines_keep_parts_apart():
    parts = [np.array([[0.0, 0.0], [1000.0, 0.0]]), np.array([[2000.0, 0.0], [3000.0, 0.0]])]
    hit = LineIndex(parts).query(np.array([1500.0, 2500.0]), np.array([-100.0, 100.0]))
    assert hit.dist.round(6).tolist() == [round(float(np.hypot(500, 100)), 6), 100.0]
    assert hit.seg.tolist() == [0, 1]
    assert hit.side.tolist() == [-1, 1]
    assert hit.chainage.tolist() == [1000.0, 1500.0]


def test_projection_bound_holds_against_geodesic(front_line, projection, line_index):
    rng = np.random.default_rng(5)
    c = np.asarray(front_line.coords)
    k = rng.integers(0, len(c) - 1, 150)
    lon, lat, _ = GEOD.fwd(c[k, 0], c[k, 1], rng.uniform(0, 360, 150), rng.uniform(0, 120e3, 150))
    x, y = projection.forward(lon, lat)
    planar = line_index.query(x, y).dist
    exact = geodesic_distance_to_line(front_line, lon, lat)
    bound = distance_margin(planar, projection.scale_error_bound(lon, lat), 1.0)
    assert np.all(np.abs(planar - exact) <= bound)
    # and the bound is not vacuous: the error is a sizeable part of it somewhere
    assert np.max(np.abs(planar - exact) / bound) > 0.1


def test_projection_is_centred_and_round_trips():
    p = choose_projection((31.5, 46.5, 38.3, 50.5))
    assert 0 < p.max_scale_error < 5e-4
    lon = np.array([31.5, 35.0, 38.3])
    lat = np.array([46.5, 48.0, 50.5])
    back = p.inverse(*p.forward(lon, lat))
    np.testing.assert_allclose(back, (lon, lat), atol=1e-9)
    assert np.all(p.scale_error_at(lon, lat) <= p.max_scale_error)
