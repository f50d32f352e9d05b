"""The coverage model on the real 2025 front line: known answers computed by hand.

The straightest 30 km of the line (found from its own geometry) stands in for a straight line;
a post ``h`` km behind it with visual range ``r`` then covers, on its own side, the disc minus
the circular segment across the line, ``pi r^2 - (r^2 acos(h/r) - h sqrt(r^2 - h^2))``, and on
the other side that segment. A share is that area over the side's area in the band (the grid's
own cell count, so the hand value is checked to the discretisation of 250 m cells).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest

from truceline.adapters.agreement_files import load_agreement_file
from truceline.core.classify import CompiledGeometry
from truceline.core.coverage import Coverage
from truceline.core.coverage_inputs import coverage_from_observations
from truceline.core.geo import GEOD
from truceline.core.observations import Observation, parse_observation
from truceline.errors import ValidationError
from truceline.services.context import context_for_doc

T0 = datetime(2025, 3, 20, 19, 30, tzinfo=UTC)
DAY = timedelta(days=1)
VISUAL = frozenset({"weapon_sighting"})
CELL = 250.0


@pytest.fixture(scope="module")
def march() -> tuple[Any, CompiledGeometry]:
    ag, doc = load_agreement_file("march2025")
    geom = context_for_doc(doc).geometry
    assert geom is not None
    return ag, geom


def _straight_spot(geom: CompiledGeometry) -> tuple[float, float, float, float]:
    """The middle of the straightest 24 km of the line (x, y, unit tangent): the vertices
    within 12 km of it along the line deviate least from the chord."""
    idx = geom.lines["front_2025"].index
    c = idx.chain0
    best, at = math.inf, (0.0, 0.0, 0.0, 0.0)
    for k in range(len(c)):
        if c[k] < 20_000 or c[k] > idx.length_m - 20_000:
            continue
        near = np.flatnonzero(np.abs(c - c[k]) <= 12_000)
        a, b = near[0], near[-1]
        ax, ay = idx.ax[a], idx.ay[a]
        bx, by = idx.ax[b] + idx.dx[b], idx.ay[b] + idx.dy[b]
        length = math.hypot(bx - ax, by - ay)
        ux, uy = (bx - ax) / length, (by - ay) / length
        dev = float(np.abs((idx.ax[near] - ax) * uy - (idx.ay[near] - ay) * ux).max())
        if dev < best:
            best, at = dev, ((ax + bx) / 2, (ay + by) / 2, ux, uy)
    assert best < 50.0, best  # straight to 50 m over 24 km
    return at


def _post(geom: CompiledGeometry, depth_m: float, side: int) -> tuple[float, float, str]:
    """A point ``depth_m`` off the straight spot on the left (+1) or right (-1), and who holds
    that side."""
    x, y, ux, uy = _straight_spot(geom)
    px, py = x - uy * depth_m * side, y + ux * depth_m * side
    lon, lat = geom.projection.inverse(np.array([px]), np.array([py]))
    cl = geom.lines["front_2025"]
    party = geom.spec.parties[cl.left_party if side > 0 else cl.right_party]
    return float(lon[0]), float(lat[0]), party


def _monitoring(sid: str, lon: float, lat: float, start: datetime, end: datetime | None,
                status: str = "active", asset: str = "post", **kw: Any) -> Observation:
    rec: dict[str, Any] = {
        "id": f"m-{sid}-{start.isoformat()}-{status}", "kind": "monitoring",
        "time": start.isoformat(), "source_id": sid, "observer_lon": lon, "observer_lat": lat,
        "asset_type": asset, "asset_status": status, **kw}
    if end is not None:
        rec["end_time"] = end.isoformat()
    return parse_observation(rec)


def _disc_on_side(r: float, h: float) -> tuple[float, float]:
    """(own side, other side) area of a disc of radius r centred h from a straight line."""
    seg = r * r * math.acos(h / r) - h * math.sqrt(r * r - h * h)
    return math.pi * r * r - seg, seg


def _side_km2(cov: Coverage, party: str) -> float:
    cells = (cov.grid.party == cov.parties.index(party)).sum()
    return float(cells) * (cov.grid.cell_m / 1000.0) ** 2


def test_one_post_with_10_km_visual_range_covers_the_disc_on_a_straight_stretch(
    march: tuple[Any, CompiledGeometry],
) -> None:
    ag, geom = march
    lon, lat, own = _post(geom, 3_000.0, +1)
    other = next(p for p in geom.spec.parties if p != own)
    obs = [_monitoring("op-1", lon, lat, T0, T0 + DAY, range_m=10_000.0)]
    cov = coverage_from_observations(geom, ag, obs, cell_m=CELL)
    mine, theirs = _disc_on_side(10.0, 3.0)  # 272.6 and 41.6 km2
    got_own = cov.share(own, T0, T0 + DAY, VISUAL) * _side_km2(cov, own)
    got_other = cov.share(other, T0, T0 + DAY, VISUAL) * _side_km2(cov, other)
    assert got_own == pytest.approx(mine, rel=0.02)
    assert got_other == pytest.approx(theirs, rel=0.05)
    # half the window manned: half the share; end=None is the latest record's end
    assert cov.share(own, T0, T0 + 2 * DAY, VISUAL) == pytest.approx(
        cov.share(own, T0, T0 + DAY, VISUAL) / 2)
    assert cov.share(own, T0, None, VISUAL) == cov.share(own, T0, T0 + DAY, VISUAL)
    # fire (mortar) is heard 7 km away by default: the disc of 7 km, 3 km off the line
    assert cov.share(own, T0, T0 + DAY, frozenset({"fire"})) * _side_km2(cov, own) == (
        pytest.approx(_disc_on_side(7.0, 3.0)[0], rel=0.02))
    # the same post seen through the public summary: shares by sector, no position
    s = cov.summary(T0, T0 + DAY, VISUAL)
    assert "lon" not in str(s) and s["parties"][own] > 0


def test_a_restriction_removes_the_post_for_the_rest_of_its_reporting_period(
    march: tuple[Any, CompiledGeometry],
) -> None:
    ag, geom = march
    lon, lat, own = _post(geom, 3_000.0, +1)
    base = [_monitoring("op-1", lon, lat, T0, T0 + DAY, range_m=10_000.0)]
    stop = parse_observation({
        "id": "r-1", "kind": "restriction", "time": (T0 + DAY / 4).isoformat(),
        "source_id": "op-1", "observer_lon": lon, "observer_lat": lat,
        "restriction_type": "checkpoint"})
    full = coverage_from_observations(geom, ag, base, cell_m=CELL).share(own, T0, T0 + DAY, VISUAL)
    cov = coverage_from_observations(geom, ag, [*base, stop], cell_m=CELL)
    # T0 is 21:30 local (EET): stopped at 03:30 local, the period ends at 19:30 local, then
    # the post is back (its record runs to 21:30): 6 h + 2 h observed of 24 h
    assert cov.share(own, T0, T0 + DAY, VISUAL) == pytest.approx(full * 8 / 24)
    # a denied area of 20 km around the post takes everything it could see for its duration
    deny = parse_observation({
        "id": "r-2", "kind": "restriction", "time": T0.isoformat(),
        "end_time": (T0 + DAY).isoformat(), "source_id": "someone-else", "observer_lon": lon,
        "observer_lat": lat, "restriction_type": "denial_of_access", "denied_radius_m": 20_000})
    cov = coverage_from_observations(geom, ag, [*base, deny], cell_m=CELL)
    assert cov.share(own, T0, T0 + DAY, VISUAL) == 0.0


def test_a_camera_sees_its_field_of_view_and_nothing_while_down(
    march: tuple[Any, CompiledGeometry],
) -> None:
    ag, geom = march
    lon, lat, own = _post(geom, 12_000.0, +1)
    blon, blat, _ = _post(geom, 30_000.0, +1)
    away = float(GEOD.inv(lon, lat, blon, blat)[0]) % 360.0  # true azimuth away from the line
    cam = _monitoring("cam-1", lon, lat, T0, None, asset="camera", facing_deg=away, fov_deg=90.0,
                      range_m=2_500.0)
    cov = coverage_from_observations(geom, ag, [cam], as_of=T0 + DAY, cell_m=CELL)
    quarter = math.pi * 2.5**2 / 4  # the 90 degree wedge, wholly on its own side
    assert cov.share(own, T0, T0 + DAY, VISUAL) * _side_km2(cov, own) == pytest.approx(
        quarter, rel=0.08)
    down = _monitoring("cam-1", lon, lat, T0 + DAY / 2, T0 + DAY, status="down",
                       asset="camera")
    cov2 = coverage_from_observations(geom, ag, [cam, down], as_of=T0 + DAY, cell_m=CELL)
    assert cov2.share(own, T0, T0 + DAY, VISUAL) == pytest.approx(
        cov.share(own, T0, T0 + DAY, VISUAL) / 2)
    assert cov2.share(own, T0 + DAY / 2, T0 + DAY, VISUAL) == 0.0
    # turned to face the line instead, the wedge covers a different place (the same area)
    toward = (away + 180.0) % 360.0
    cam3 = _monitoring("cam-1", lon, lat, T0, None, asset="camera", facing_deg=toward,
                       fov_deg=90.0, range_m=2_500.0)
    cov3 = coverage_from_observations(geom, ag, [cam3], as_of=T0 + DAY, cell_m=CELL)
    a, b = cov.covered_fraction(T0, T0 + DAY, VISUAL), cov3.covered_fraction(T0, T0 + DAY, VISUAL)
    assert not np.any((a > 0) & (b > 0))


def test_kinds_need_every_kind_and_unknown_ones_are_refused(
    march: tuple[Any, CompiledGeometry],
) -> None:
    ag, geom = march
    lon, lat, own = _post(geom, 3_000.0, +1)
    obs = [_monitoring("ac-1", lon, lat, T0, T0 + DAY, asset="acoustic_array")]
    cov = coverage_from_observations(geom, ag, obs, cell_m=1000.0)
    assert cov.share(own, T0, T0 + DAY, frozenset({"fire:mlrs"})) > cov.share(
        own, T0, T0 + DAY, frozenset({"fire"})) > 0
    assert cov.share(own, T0, T0 + DAY, frozenset({"fire", "presence"})) == 0.0  # arrays hear
    with pytest.raises(ValidationError) as e:
        cov.share(own, T0, T0 + DAY, frozenset({"smell"}))
    assert e.value.field == "kinds"
    gaps = cov.gaps(T0, T0 + DAY, frozenset({"fire"}), party=own)
    assert sum(g.length_km for g in gaps) > 0.9 * cov.grid.line_length_m / 1000.0


@pytest.mark.parametrize("cell_m", [500.0, 1_000.0])
def test_grid_within_matches_a_kd_tree(march: tuple[Any, CompiledGeometry], cell_m: float
                                       ) -> None:
    """The grid's lattice lookup finds exactly the cells a k-d tree finds, for one radius and
    for one radius per point (0, small, ranges, larger than the grid; points off the band,
    on cell centres, NaN)."""
    from scipy.spatial import cKDTree

    from truceline.core.coverage_grid import band_grid

    _, geom = march
    grid = band_grid(geom, None, 15_000.0, cell_m)
    rng = np.random.default_rng(7)
    k = rng.integers(0, len(grid), 300)
    px = np.concatenate([grid.x[k] + rng.normal(0, 20_000, 300), grid.x[k[:20]],
                         [np.nan, 0.0]])
    py = np.concatenate([grid.y[k] + rng.normal(0, 20_000, 300), grid.y[k[:20]],
                         [0.0, np.nan]])
    radii = np.concatenate([rng.choice([0.0, 300.0, 5_000.0, 25_000.0], 320), [1e3, 1e3]])
    tree = cKDTree(np.column_stack([grid.x, grid.y]))
    for r in (7_000.0, radii):
        row, cell = grid.within(px, py, r)
        rs = np.broadcast_to(r, px.shape)
        want = sorted((p, int(c)) for p in range(len(px)) if np.isfinite(px[p] + py[p])
                      for c in tree.query_ball_point([px[p], py[p]], rs[p]))
        assert np.all(np.diff(row) >= 0)  # sorted by point
        assert sorted(zip(row.tolist(), cell.tolist(), strict=True)) == want
    assert grid.within(px[:3], py[:3], np.inf)[0].size == 3 * len(grid)
