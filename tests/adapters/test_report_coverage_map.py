"""The report's map shades the stretches the mission could not observe, where ``gaps`` says.

A real SQLite store holds the March 2025 example (its real 1,264 km line), its sample, and a
mission of posts covering only the north of the line (``tests/partial_mission.py``). The
figure's artists are read back (not its pixels): every gap of the coverage model is drawn,
on its party's side, between its chainages; covered stretches are not shaded.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pytest
import shapely
from matplotlib.patches import PathPatch
from pyproj import Geod

from tests.http.conftest import sample_records
from tests.partial_mission import DAY, chainage_km, line_lonlat, mission_records, point_beside
from truceline.adapters.agreement_files import load_agreement_file
from truceline.adapters.render.mapfig import UNCOVERED_GID, map_figure
from truceline.adapters.render.report import write_report
from truceline.adapters.store import open_store
from truceline.core.coverage_map import line_stretch
from truceline.core.reporting import DailyReport, reporting_period
from truceline.services.check import derive_coverage, run_check
from truceline.services.context import load_context
from truceline.services.ingest import ingest
from truceline.services.record import initialize_store
from truceline.services.report import daily_report

_GEOD = Geod(ellps="WGS84")


@pytest.fixture(scope="module")
def store_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("covmap") / "mission.db"
    _, doc = load_agreement_file("march2025")
    store = open_store(str(db), create=True)
    initialize_store(store, doc)
    rep = ingest(store, list(enumerate(sample_records() + mission_records())))
    assert not rep.rejected
    run_check(store)
    store.close()
    return db


@pytest.fixture(scope="module")
def report(store_path: Path) -> DailyReport:
    store = open_store(str(store_path))
    try:
        return daily_report(store, DAY)
    finally:
        store.close()


@pytest.fixture(scope="module")
def shaded(report: DailyReport) -> dict[str, Any]:
    """The figure's "not covered" artists: polygons (lon/lat) and stretch polylines."""
    fig = map_figure(report)
    try:
        ax = fig.axes[0]
        patches = [p for p in ax.patches if p.get_gid() == UNCOVERED_GID]
        lines = [ln for ln in ax.lines if ln.get_gid() == UNCOVERED_GID]
        polys = []
        for p in patches:
            assert isinstance(p, PathPatch)
            rings = [shapely.LinearRing(np.asarray(r)) for r in p.get_path().to_polygons()
                     if np.shape(r)[0] >= 4]
            polys.append(shapely.Polygon(rings[0], rings[1:]))
        _, labels = ax.get_legend_handles_labels()
        return {"area": shapely.union_all(polys), "lines": [ln.get_xydata() for ln in lines],
                "labels": labels}
    finally:
        plt.close(fig)


def _gaps(store_path: Path) -> list[Any]:
    store = open_store(str(store_path))
    try:
        ctx = load_context(store)
        cov = derive_coverage(ctx, store.observations())
        assert cov is not None
        start, end = reporting_period(date.fromisoformat(DAY), ctx.agreement.tz,
                                      ctx.agreement.reporting_period_start)
        return cov.gaps(start, end, frozenset({"fire"}))
    finally:
        store.close()


def _on_line(km: float) -> tuple[float, float]:
    """The point of the line at chainage ``km``, along the geodesic of its segment (computed
    here with pyproj, not with truceline's chainage)."""
    xy = line_lonlat()
    ch = chainage_km(xy)
    i = int(np.clip(np.searchsorted(ch, km, side="right") - 1, 0, len(xy) - 2))
    az, _, _ = _GEOD.inv(xy[i, 0], xy[i, 1], xy[i + 1, 0], xy[i + 1, 1])
    lon, lat, _ = _GEOD.fwd(xy[i, 0], xy[i, 1], az, (km - ch[i]) * 1e3)
    return float(lon), float(lat)


def test_legend_names_the_shading(shaded: dict[str, Any]) -> None:
    assert shaded["labels"].count("not covered") == 1


def test_every_gap_is_shaded_on_its_side_between_its_chainages(
        store_path: Path, report: DailyReport, shaded: dict[str, Any]) -> None:
    gaps = _gaps(store_path)
    assert gaps, "the mission covers only part of the line"
    assert [(u["party"], u["from_km"]) for u in report.uncovered] == [
        (g.party, g.from_km) for g in gaps]
    area = shaded["area"]
    for g in gaps:
        mid = (g.from_km + g.to_km) / 2
        inside = shapely.Point(point_beside(mid, g.party, 4_000.0))
        # 4 km from the line on the gap's side, in the middle of the stretch: shaded
        assert area.distance(inside) < 0.01, (g, inside)  # within ~1 km (one cell)
    # the long gaps beyond the mission: shaded on both sides, far from any post
    for km in (600.0, 1000.0):
        for side in ("UA", "RU"):
            assert area.contains(shapely.Point(point_beside(km, side, 5_000.0)))


def test_covered_stretches_are_not_shaded(store_path: Path, shaded: dict[str, Any]) -> None:
    gaps = _gaps(store_path)
    # posts every 8 km on both sides up to km 300, on UA's side to km 400
    for km, side in ((100.0, "UA"), (100.0, "RU"), (220.0, "UA"), (220.0, "RU"), (340.0, "UA")):
        if any(g.party == side and g.from_km <= km < g.to_km for g in gaps):
            continue  # a bend of the line left a short gap here: the gap test covers it
        assert not shaded["area"].contains(shapely.Point(point_beside(km, side, 4_000.0)))
    # km 340: RU's side is a gap, UA's is not; the shading is on RU's side only
    assert any(g.party == "RU" and g.from_km <= 340 < g.to_km for g in gaps)
    assert shaded["area"].contains(shapely.Point(point_beside(340.0, "RU", 4_000.0)))


def test_stretches_follow_the_line_between_the_gaps_chainages(
        store_path: Path, shaded: dict[str, Any]) -> None:
    gaps = _gaps(store_path)
    drawn = shaded["lines"]
    assert len(drawn) == len(gaps)  # the line is one part: one stretch per gap
    for g, xy in zip(gaps, drawn, strict=True):
        # its ends are the line's points at the gap's chainages (geodesic length of the
        # stretch = the gap's length; ends within a vertex spacing of pyproj's own chainage)
        _, _, seg = _GEOD.inv(xy[:-1, 0], xy[:-1, 1], xy[1:, 0], xy[1:, 1])
        assert abs(float(np.sum(seg)) / 1e3 - g.length_km) < 0.05 * g.length_km + 0.5
        for km, end in ((g.from_km, xy[0]), (g.to_km, xy[-1])):
            lon, lat = _on_line(km)
            _, _, d = _GEOD.inv(lon, lat, end[0], end[1])
            assert d < 100.0, (g, km, d)


def test_line_stretch_cuts_at_exact_chainage(store_path: Path) -> None:
    store = open_store(str(store_path))
    try:
        geom = load_context(store).geometry
    finally:
        store.close()
    assert geom is not None
    (part,) = line_stretch(geom, "front_2025", 100_000.0, 150_000.0)
    _, _, seg = _GEOD.inv(part[:-1, 0], part[:-1, 1], part[1:, 0], part[1:, 1])
    assert float(np.sum(seg)) == pytest.approx(50_000.0, rel=1e-3)
    assert line_stretch(geom, "front_2025", 2_000_000.0, 2_100_000.0) == []
    whole = line_stretch(geom, "front_2025", -1.0, 1e9)
    assert len(whole[0]) == len(line_lonlat())


def test_html_and_markdown_reports_say_what_the_map_shades(
        report: DailyReport, tmp_path: Path) -> None:
    (html,) = write_report(report, tmp_path / "r.html")
    text = html.read_text()
    assert "not covered: " in text
    g = report.agreement.geography
    assert g is not None
    sector = {s.id: s.name for s in g.sectors}  # named in words, not by their ids
    for u in report.uncovered:
        assert (f"{report.party_name(u['party'])}'s side, {sector[u['sector']]}, "
                f"km {u['from_km']:.0f}-") in text
    md, png = write_report(report, tmp_path / "r.md")
    assert png.stat().st_size > 10_000
    assert ("Russian Federation's side, Kostiantynivka - Pokrovsk - Kurakhove, km 400-1265"
            in md.read_text())
