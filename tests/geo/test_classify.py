"""classify: control by date, zones, sectors, sides of parties, and input errors."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from shapely import LineString, box

from truceline.core.classify import (
    AreaMask,
    ControlPeriod,
    GeometrySpec,
    SectorSpec,
    ZoneSpec,
    classify,
    compile_geometry,
)
from truceline.core.geo import GEOD
from truceline.errors import ValidationError

D = np.datetime64


def _spec(**kw):
    base = dict(
        parties=("west", "east"),
        lines={"contact": LineString([(30.0, 49.5), (30.0, 50.5)])},  # northward: left is west
        reference_lines={"west": "contact", "east": "contact"},
        control=(ControlPeriod("west", box(29.0, 49.0, 30.0, 51.0)),),
        area_of_interest=box(29.0, 49.0, 31.0, 51.0),
    )
    base.update(kw)
    return GeometrySpec(**base)


def _times(*days: str) -> np.ndarray:
    return np.array(days, dtype="datetime64[s]")


def test_control_switches_by_date_and_overlaps_are_disputed():
    jan = box(30.0, 49.9, 30.3, 50.1)  # east of the line, taken in January, lost in March
    spec = _spec(control=(
        ControlPeriod("west", box(29.0, 49.0, 30.0, 51.0)),
        ControlPeriod("west", jan, D("2025-01-01"), D("2025-03-01")),
        ControlPeriod("east", box(30.0, 49.0, 31.0, 51.0), D("2025-02-01"), None),
    ))
    g = compile_geometry(spec)
    lon = np.full(5, 30.1)
    lat = np.full(5, 50.0)
    t = np.array(["2024-12-31", "2025-01-15", "2025-02-15", "2025-03-01", "NaT"], "datetime64[D]")
    c = classify(g, lon, lat, t)
    # Dec: nobody; Jan: west; Feb: west and east both claim it (disputed); Mar: east; NaT: unknown
    assert c.control.tolist() == [-1, 0, -1, 1, -1]
    # the open-ended base area holds at any time, NaT included
    c2 = classify(g, np.array([29.5, 29.5]), np.array([50.0, 50.0]),
                  np.array(["1990-01-01", "NaT"], "datetime64[D]"))
    assert c2.control.tolist() == [0, 0]


def test_zone_by_line_and_side_and_by_polygon():
    spec = _spec(zones=(
        ZoneSpec("west-10", line="contact", within_km=10, party_side="west"),
        ZoneSpec("both-10", line="contact", within_km=10),
        ZoneSpec("square", polygon=box(30.1, 49.9, 30.2, 50.1)),
    ))
    g = compile_geometry(spec)
    lon, lat, _ = GEOD.fwd([30.0] * 4, [50.0] * 4, [270.0, 90.0, 90.0, 270.0],
                           [9_000.0, 9_000.0, 11_000.0, 10_000.0])
    c = classify(g, lon, lat, _times(*["2025-01-01"] * 4))
    assert c.side_party["contact"].tolist() == [0, 1, 1, 0]
    assert c.zone["west-10"].tolist() == [True, False, False, True]  # 10 km exactly: inside
    assert c.zone["both-10"].tolist() == [True, True, False, True]
    assert c.zone["square"].tolist() == [False, True, True, False]
    assert c.refined[3]  # the zone width is a threshold too
    assert c.dist_m["contact"][3] == pytest.approx(10_000.0, abs=1e-6)


def test_zone_on_a_side_nobody_holds_is_an_error():
    spec = _spec(control=(), zones=(ZoneSpec("z", line="contact", within_km=5, party_side="east"),))
    with pytest.raises(ValidationError) as e:
        compile_geometry(spec)
    assert e.value.field == "zones[0].party_side" and "'z'" in e.value.message


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"parties": ()}, "parties"),
        ({"reference_lines": {"west": "nope"}}, "reference_lines.west"),
        ({"zones": (ZoneSpec("z"),)}, "zones[0]"),
        ({"sectors": (SectorSpec("s", "contact", 5, 5),)}, "sectors[0]"),
        ({"control": (ControlPeriod("north", box(0, 0, 1, 1)),)}, "control[0].party"),
        ({"area_of_interest": LineString([(0, 0), (1, 1)])}, "area_of_interest"),
    ],
)
def test_bad_specs_name_the_field(kw, field):
    with pytest.raises(ValidationError) as e:
        compile_geometry(_spec(**kw))
    assert e.value.field == field


def test_nan_and_shape_errors_name_the_field():
    g = compile_geometry(_spec())
    t = _times("2025-01-01", "2025-01-01", "2025-01-01")
    with pytest.raises(ValidationError) as e:
        classify(g, [30.0, 30.1, 30.2], [50.0, 50.0, np.nan], t)
    assert e.value.field == "lat[2]"
    with pytest.raises(ValidationError) as e:
        classify(g, [30.0, np.inf, 30.2], [50.0, 50.0, 50.0], t)
    assert e.value.field == "lon[1]"
    with pytest.raises(ValidationError) as e:
        classify(g, [30.0], [50.0, 50.0], t)
    assert e.value.field == "lat"
    with pytest.raises(ValidationError) as e:
        classify(g, [30.0], [50.0], np.array([1.0]))
    assert e.value.field == "time"


def test_real_line_parties_sides_and_sectors(front_line, real_geometry):
    cl = real_geometry.lines["contact"]
    assert (cl.left_party, cl.right_party) == (1, 0)  # RU holds the left of this line's direction
    coords = np.asarray(front_line.coords)
    seg_len = np.asarray(GEOD.inv(coords[:-1, 0], coords[:-1, 1], coords[1:, 0], coords[1:, 1])[2])
    chain0 = np.concatenate([[0.0], np.cumsum(seg_len)])
    rng = np.random.default_rng(8)
    k = rng.integers(0, len(coords) - 1, 2_000)
    frac = rng.uniform(0.0, 1.0, 2_000)
    az, _, _ = GEOD.inv(coords[k, 0], coords[k, 1], coords[k + 1, 0], coords[k + 1, 1])
    lon, lat, _ = GEOD.fwd(coords[k, 0], coords[k, 1], az, frac * seg_len[k])  # on the line
    c = classify(real_geometry, lon, lat, np.full(2_000, D("2025-04-02")))
    chain = chain0[k] + frac * seg_len[k]
    assert np.abs(c.chainage_m["contact"] - chain).max() < 2.0
    clear = np.abs(chain / 100e3 - np.round(chain / 100e3)) * 100e3 > 5.0  # not at a km post
    np.testing.assert_array_equal(c.sector[clear], np.floor(chain[clear] / 100e3).astype(int))
    assert c.dist_m["contact"].max() < 1.0
    # sectors stop at 100 km from the line, and points far outside are flagged, not dropped
    far = classify(real_geometry, np.array([36.0, 31.0]), np.array([49.0, 61.0]),
                   np.full(2, D("2025-04-02")))
    assert far.sector[1] == -1 and not far.in_aoi[1]
    assert far.dist_m["contact"][1] > 1_000_000


def test_real_control_and_zone(real_geometry, occupied):
    rng = np.random.default_rng(4)
    lon = rng.uniform(33.0, 38.0, 5_000)
    lat = rng.uniform(46.5, 49.5, 5_000)
    c = classify(real_geometry, lon, lat, np.full(5_000, D("2025-04-02")))
    # polygon edges are straight in the projection rather than in degrees: metres apart
    assert np.mean((c.control == 1) == shapely.intersects_xy(occupied, lon, lat)) > 0.999
    assert set(np.unique(c.control)) == {-1, 1}  # no areas given for UA
    ua25 = c.zone["ua-25"]
    expected = (c.dist_to_ref_m["UA"] <= 25e3) & (c.side_party["contact"] == 0)
    np.testing.assert_array_equal(ua25, expected)
    assert set(np.unique(c.side["contact"])) <= {-1, 1}


def test_area_mask_equals_shapely(occupied, projection):
    occ = shapely.transform(occupied, lambda c: np.column_stack(projection.forward(*c.T)))
    mask = AreaMask(occ, cell_m=2_000.0)
    rng = np.random.default_rng(9)
    b = occ.bounds
    x = rng.uniform(b[0] - 50e3, b[2] + 50e3, 200_000)
    y = rng.uniform(b[1] - 50e3, b[3] + 50e3, 200_000)
    np.testing.assert_array_equal(mask(x, y), shapely.intersects_xy(occ, x, y))


def test_area_mask_boxes_equal_shapely(occupied, projection):
    """The raster answers most boxes; every answer equals GEOS's, including boxes astride the
    boundary, beyond the grid, and degenerate (zero-width) ones."""
    occ = shapely.transform(occupied, lambda c: np.column_stack(projection.forward(*c.T)))
    mask = AreaMask(occ, cell_m=2_000.0)
    rng = np.random.default_rng(10)
    b = occ.bounds
    n = 20_000
    cx = rng.uniform(b[0] - 50e3, b[2] + 50e3, n)
    cy = rng.uniform(b[1] - 50e3, b[3] + 50e3, n)
    hx = np.where(rng.random(n) < 0.05, 0.0, rng.uniform(10.0, 30e3, n))
    hy = rng.uniform(10.0, 30e3, n)
    hit, full = mask.boxes(cx - hx, cy - hy, cx + hx, cy + hy)
    boxes = shapely.box(cx - hx, cy - hy, cx + hx, cy + hy)
    np.testing.assert_array_equal(hit, shapely.intersects(occ, boxes))
    np.testing.assert_array_equal(full, shapely.contains_properly(occ, boxes))
    assert full.mean() > 0.05 and (~hit).mean() > 0.05  # both shortcuts are exercised


def test_area_mask_small_boxes_equal_shapely(occupied, projection):
    """Boxes of a few metres (a region cell's, ``cell_sides``) in the cells the boundary
    touches: those the fine map of the boundary clears are answered by their corner, and every
    answer equals GEOS's, at and near the boundary, degenerate boxes included."""
    occ = shapely.transform(occupied, lambda c: np.column_stack(projection.forward(*c.T)))
    mask = AreaMask(occ)
    rng = np.random.default_rng(11)
    edge = shapely.get_coordinates(shapely.segmentize(occ.boundary, 50.0))
    k = rng.integers(0, len(edge), 100_000)
    cx = edge[k, 0] + rng.normal(0.0, 300.0, len(k)) * (rng.random(len(k)) < 0.9)
    cy = edge[k, 1] + rng.normal(0.0, 300.0, len(k)) * (rng.random(len(k)) < 0.9)
    hx = np.where(rng.random(len(k)) < 0.1, 0.0, rng.uniform(0.0, 80.0, len(k)))
    hy = rng.uniform(0.0, 80.0, len(k))
    hit, full = mask.boxes(cx - hx, cy - hy, cx + hx, cy + hy)
    boxes = shapely.box(cx - hx, cy - hy, cx + hx, cy + hy)
    np.testing.assert_array_equal(hit, shapely.intersects(occ, boxes))
    np.testing.assert_array_equal(full, shapely.contains_properly(occ, boxes))
    clear = mask._clear(cx - hx, cy - hy, cx + hx, cy + hy)
    assert 0.1 < clear.mean() < 0.9  # the fine map answers many, GEOS the boxes astride
    assert (hit & ~full & clear).sum() == 0  # a cleared box is wholly in or out
