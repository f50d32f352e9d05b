"""The daily report's static map: zones as the checks decide them, a base of regions, towns
and a scale bar, and a legend for every symbol.

Real inputs: the March 2025 example (its 1,262 km front line and the 30 km pull-back zones on
each side) compiled as the checks compile it, and a real SQLite store holding its shipped
sample, checked. The figure's artists are read back, not its pixels.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pytest
import shapely
from matplotlib.patches import PathPatch
from pyproj import Geod

from truceline.adapters.agreement_files import load_agreement_file
from truceline.adapters.render.mapfig import map_figure, render_map_png
from truceline.adapters.store import open_store
from truceline.core.agreement_geometry import geometry_spec
from truceline.core.agreements import Agreement
from truceline.core.classify import CompiledGeometry, classify, compile_geometry
from truceline.core.places import PLACES
from truceline.core.reporting import DailyReport
from truceline.core.zone_map import SIMPLIFY_M, zone_shapes
from truceline.services.report import daily_report

DAY = "2025-03-28"


@pytest.fixture(scope="module")
def example() -> tuple[Agreement, CompiledGeometry]:
    ag, _ = load_agreement_file("march2025")
    return ag, compile_geometry(geometry_spec(ag), ag.thresholds_km())


@pytest.fixture(scope="module")
def report(sample_db: Path) -> DailyReport:
    store = open_store(str(sample_db))
    try:
        return daily_report(store, DAY)
    finally:
        store.close()


def _union(area: Any) -> Any:
    return shapely.union_all([shapely.Polygon(ring[0], ring[1:])
                              for ring in area["coordinates"]])


def test_zones_drawn_are_the_zones_the_checks_decide(
        example: tuple[Agreement, CompiledGeometry]) -> None:
    """Random points over the whole line: the drawing and classify() agree on every point
    except within the drawing's tolerance of the line or of the 30 km edge."""
    _, geom = example
    zones = zone_shapes(geom)
    assert [z.id for z in zones] == ["pullback_ua", "pullback_ru"]
    rng = np.random.default_rng(20250328)
    lon, lat = rng.uniform(31.5, 40.5, 30_000), rng.uniform(46.0, 51.0, 30_000)
    c = classify(geom, lon, lat, np.zeros(len(lon), "datetime64[s]"))
    pts = shapely.points(lon, lat)
    dist = c.dist_m["front_2025"]
    for z in zones:
        drawn = shapely.contains(_union(z.to_json()["area"]), pts)
        assert drawn.sum() > 1_000  # both sides of a 1,262 km line hold many points
        differ = drawn != c.zone[z.id]
        # the line thinned by 100 m, the outline by 200 m: disagreement only that close
        edge = np.minimum(dist, np.abs(dist - 30_000.0))
        assert (edge[differ] < 2 * SIMPLIFY_M).all(), edge[differ].max()


def test_a_zone_is_30_km_wide_on_the_ground_not_in_degrees(
        example: tuple[Agreement, CompiledGeometry]) -> None:
    """Walking north, south, east or west from the line into Ukraine's zone, the drawing ends
    where the check's distance reaches 30 km, whatever the direction (the old drawing in
    degrees ended ~24 km away north-south and ~16 km east-west)."""
    _, geom = example
    ua = next(z for z in zone_shapes(geom) if z.id == "pullback_ua")
    area = _union(ua.to_json()["area"])
    geod = Geod(ellps="WGS84")
    line = np.asarray(geom.spec.lines["front_2025"].coords)
    steps = np.arange(0.0, 45_000.0, 250.0)
    exits: dict[float, list[float]] = {0.0: [], 90.0: [], 180.0: [], 270.0: []}
    for lon0, lat0 in line[::25]:
        for az in exits:
            lon, lat, _ = geod.fwd(np.full(len(steps), lon0), np.full(len(steps), lat0),
                                   np.full(len(steps), az), steps)
            inside = shapely.contains(area, shapely.points(lon, lat))
            if not inside[4:8].all():
                continue  # not Ukraine's side in this direction
            k = 8 + int(np.argmin(inside[8:]))
            if inside[k]:
                continue
            d = classify(geom, lon[k - 1:k + 1], lat[k - 1:k + 1],
                         np.zeros(2, "datetime64[s]")).dist_m["front_2025"]
            if d[1] > 20_000.0:  # left the zone by distance, not by crossing a bend
                exits[az].append(float(d.mean()))
    assert exits[0.0] or exits[180.0]
    assert exits[90.0] or exits[270.0]
    for az, ds in exits.items():
        for d in ds:
            assert d == pytest.approx(30_000.0, abs=2 * SIMPLIFY_M + 250.0), az


def test_the_map_has_its_base_and_explains_every_symbol(report: DailyReport) -> None:
    fig = map_figure(report)
    try:
        ax = fig.axes[0]
        (legend,) = fig.legends
        labels = [t.get_text() for t in legend.get_texts()]
        texts = [t.get_text() for t in ax.texts]
        zones = [p for p in ax.patches if p.get_gid() == "zone"]
        x0, x1 = ax.get_xlim()
        y0, y1 = ax.get_ylim()
        aspect = ax.get_aspect()
    finally:
        plt.close(fig)
    # zones drawn, named in words; parties and the line by name, not by id
    assert zones and all(isinstance(p, PathPatch) for p in zones)
    assert "zone: Heavy-weapons pull-back, Ukrainian side (illustrative 30 km)" in labels
    assert "area held by Russian Federation" in labels and "area held by Ukraine" in labels
    assert "Front line, 1 April 2025 (main part, 1,262 km)" in labels
    assert not any("front_2025" in t or "march-2025" in t for t in labels + texts)
    # attributed and unattributed, origins linked to impacts, sectors, base layers
    for words in ("outline: attributed to Ukraine", "grey outline: unattributed",
                  "origin \u2192 impact (x)", "start of a sector", "town or city",
                  "region (oblast) border", "restriction of the monitors' movement"):
        assert words in labels, words
    # towns inside the extent are labelled; sectors by name; a scale bar
    inside = [p.name for p in PLACES if x0 < p.lon < x1 and y0 < p.lat < y1]
    assert len(inside) > 30 and set(inside) <= set(texts)
    assert any(t.startswith("1. Kharkiv - Kupiansk") for t in texts)
    assert "100 km" in texts
    # equal east-west and north-south kilometres at the centre latitude
    assert aspect == pytest.approx(1 / np.cos(np.radians((y0 + y1) / 2)))


def test_the_scale_bar_is_100_km_long(report: DailyReport) -> None:
    fig = map_figure(report)
    try:
        ax = fig.axes[0]
        bar = [ln.get_xydata() for ln in ax.lines if ln.get_linewidth() == 0.6
               and len(ln.get_xydata()) == 2 and ln.get_xydata()[0, 1] == ln.get_xydata()[1, 1]]
    finally:
        plt.close(fig)
    assert len(bar) == 1
    (a, b) = bar[0]
    _, _, d = Geod(ellps="WGS84").inv(a[0], a[1], b[0], b[1])
    assert d == pytest.approx(100_000.0, rel=1e-3)  # along the parallel: within 100 m


def test_the_png_is_the_same_bytes_every_time(report: DailyReport, tmp_path: Path) -> None:
    a, b = render_map_png(report), render_map_png(report)
    assert a == b
    assert b"Software" not in a and b"matplotlib" not in a.lower()
