"""Terrain line of sight: a synthetic ridge hides and a lower one does not, the earth's curvature
hides what lies beyond the closed-form horizon, a GeoTIFF read through the adapter gives the
same mask, and the plan's coverage drops where a DEM hides demand (unchanged without one)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine

from truceline.adapters.dem import read_dem
from truceline.core.coverage_footprints import CAMERA, POST, Assets, CoverageParams, footprints
from truceline.core.coverage_grid import band_grid
from truceline.core.geo import GEOD
from truceline.core.planning.force import default_force_model
from truceline.core.terrain import Dem, horizon_m, visible
from truceline.errors import ValidationError
from truceline.services.context import AgreementContext
from truceline.services.planning import PlanOptions, plan

PIX = 0.001  # degrees, about 70 m x 111 m at 50 N
LON0, LAT0 = 30.0, 50.0


def _grid(n_lon: int = 600, n_lat: int = 100) -> tuple[np.ndarray, tuple]:
    """Flat ground at 100 m on a lon/lat grid whose north-west corner is (30, 50.05)."""
    z = np.full((n_lat, n_lon), 100.0)
    west, north = LON0, LAT0 + n_lat / 2 * PIX
    return z, (PIX, 0.0, west, 0.0, -PIX, north)


def _ridge(height: float) -> Dem:
    """A north-south wall ``height`` m above the plain, 0.5 km east of the observer."""
    z, t = _grid()
    col = round(0.007 / PIX)  # lon 30.007
    z[:, col:col + 3] += height
    return Dem(z, t, "EPSG:4326", "ridge")


def _targets() -> tuple[np.ndarray, np.ndarray]:
    """Targets east of the wall at 1, 2 and 3 km, on the observer's parallel."""
    lon, _, _ = GEOD.fwd(np.full(3, LON0 + 0.0005), np.full(3, LAT0), np.full(3, 90.0),
                         np.array([1000.0, 2000.0, 3000.0]))
    return np.asarray(lon), np.full(3, LAT0)


def test_a_ridge_hides_and_a_lower_one_does_not() -> None:
    lon, lat = _targets()
    o = (LON0 + 0.0005, LAT0)
    assert not visible(_ridge(30.0), *o, lon, lat).any()
    assert visible(_ridge(1.0), *o, lon, lat).all()  # 1 m: below a 2 m eye and a 2 m flash
    assert visible(_ridge(0.0), *o, lon, lat).all()
    # the 5 m camera mast sees over a 3 m wall at 1 km only when the target stands high enough
    assert not visible(_ridge(3.0), *o, lon[:1], lat[:1], observer_h_m=2.0).all()


def test_curvature_hides_beyond_the_refracted_horizon() -> None:
    """Flat ground, 2 m eye and 2 m flash: the horizon is 3.57 (sqrt 2 + sqrt 2) km / sqrt(0.87)
    = 10.8 km; at 30 km the target is hidden, just inside the horizon it is seen."""
    h = horizon_m(2.0, 2.0)
    assert h == pytest.approx(3570.0 * 2 * np.sqrt(2.0) / np.sqrt(1 - 0.13), rel=2e-3)
    z = np.full((20, 2000), 100.0)
    dem = Dem(z, (0.0003, 0.0, LON0, 0.0, -0.0003, LAT0 + 0.003), "EPSG:4326", "flat")
    d = np.array([0.9 * h, 0.97 * h, 1.03 * h, 1.1 * h, 30_000.0])
    lon, _, _ = GEOD.fwd(np.full(5, LON0 + 0.0001), np.full(5, LAT0), np.full(5, 90.0), d)
    vis = visible(dem, LON0 + 0.0001, LAT0, lon, np.full(5, LAT0), max_samples=4096)
    assert vis.tolist() == [True, True, False, False, False]
    # without refraction the horizon is nearer: 0.97 of the refracted one is already hidden
    assert not visible(dem, LON0 + 0.0001, LAT0, lon[1:2], [LAT0], k=0.0,
                       max_samples=4096)[0]


def test_off_the_dem_is_range_only_and_bad_dems_are_named() -> None:
    lon, lat = _targets()
    assert visible(_ridge(30.0), 10.0, 10.0, lon, lat).all()  # observer off the grid
    with pytest.raises(ValidationError) as e:
        Dem(np.zeros((2, 2)), (0.0, 0.0, 0.0, 0.0, 0.0, 0.0), "EPSG:4326")
    assert e.value.field == "dem.transform"
    with pytest.raises(ValidationError) as e:
        Dem(np.zeros(4), (1.0, 0.0, 0.0, 0.0, -1.0, 0.0), "EPSG:4326")
    assert e.value.field == "dem.z"


def _write_tif(path: Path, dem: Dem, crs: str = "EPSG:4326") -> None:
    a, _, c, _, e, f = dem.transform
    with rasterio.open(path, "w", driver="GTiff", height=dem.z.shape[0], width=dem.z.shape[1],
                       count=1, dtype="float32", crs=crs, nodata=-9999.0,
                       transform=Affine(a, 0.0, c, 0.0, e, f)) as dst:
        dst.write(dem.z.astype("float32"), 1)


def test_a_geotiff_read_through_the_adapter_gives_the_same_mask(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    z, t = _grid()
    z += rng.uniform(0, 4, z.shape)  # rough ground: some targets seen, some not
    dem = Dem(z, t, "EPSG:4326", "rough")
    _write_tif(tmp_path / "rough.tif", dem)
    got = read_dem(tmp_path / "rough.tif")
    assert got.source == "rough.tif"
    lon = LON0 + 0.2 + rng.uniform(-0.03, 0.03, 200)
    lat = LAT0 + rng.uniform(-0.04, 0.04, 200)
    want = visible(dem, LON0 + 0.2, LAT0, lon, lat)
    assert 0 < want.sum() < len(want)
    assert np.array_equal(visible(got, LON0 + 0.2, LAT0, lon, lat), want)


def test_a_projected_geotiff_and_a_bad_file(tmp_path: Path) -> None:
    """A ridge in UTM 36N hides the same targets as in lon/lat; a non-raster is named."""
    from pyproj import Transformer

    tr = Transformer.from_crs("EPSG:4326", "EPSG:32636", always_xy=True)
    x0, y0 = tr.transform(LON0 - 0.01, LAT0 + 0.03)
    xr, _ = tr.transform(LON0 + 0.007, LAT0)
    z = np.full((100, 700), 100.0)
    col = int((xr - x0) // 50)
    z[:, col:col + 2] += 30.0
    dem = Dem(z, (50.0, 0.0, x0, 0.0, -50.0, y0), "EPSG:32636", "utm")
    _write_tif(tmp_path / "utm.tif", dem, "EPSG:32636")
    lon, lat = _targets()
    assert not visible(read_dem(tmp_path / "utm.tif"), LON0 + 0.0005, LAT0, lon, lat).any()
    (tmp_path / "bad.tif").write_text("not a raster")
    with pytest.raises(ValidationError) as e:
        read_dem(tmp_path / "bad.tif")
    assert e.value.field == "dem"


def _corrugated() -> Dem:
    """Ridges 150 m high every ~3 km east-west over the whole line (a test terrain)."""
    west, east, south, north = 30.0, 41.0, 45.5, 52.5
    px = 0.004
    lon = west + (np.arange(int((east - west) / px)) + 0.5) * px
    lat = north - (np.arange(int((north - south) / px)) + 0.5) * px
    ridge = 150.0 * np.abs(np.sin(np.pi * lon / 0.04))[None, :] ** 8
    return Dem(np.broadcast_to(100.0 + ridge, (len(lat), len(lon))).copy(),
               (px, 0.0, west, 0.0, -px, north), "EPSG:4326", "ridges.tif")


def test_flat_terrain_changes_no_footprint(march: AgreementContext) -> None:
    """Within 5 km, flat ground hides nothing from a 2 m eye (horizon 10.8 km): the terrain path
    gives the range-only footprints exactly."""
    geom = march.geometry
    assert geom is not None
    line = march.agreement.geography.line_of_contact  # type: ignore[union-attr]
    grid = band_grid(geom, line, 15_000.0, 2_000.0)
    lon = np.array([37.6, 37.7, 37.8, 37.9])
    lat = np.array([47.9, 48.0, 48.1, 48.2])
    a = Assets.of(["p1", "p2", "c1", "c2"], [POST, POST, CAMERA, CAMERA], lon, lat,
                  facing_deg=[np.nan, np.nan, 90.0, 270.0])
    flat = Dem(np.zeros((500, 500)), (0.01, 0.0, 35.0, 0.0, -0.01, 50.0), "EPSG:4326")
    p = CoverageParams()
    base, withf = footprints(geom, grid, a, p), footprints(geom, grid, a, p, flat)
    assert len(base.cell) > 0
    for f in ("asset", "cell", "bits"):
        assert np.array_equal(getattr(base, f), getattr(withf, f))


def test_a_dem_lowers_the_plans_coverage(march: AgreementContext) -> None:
    """Sightings (``weapon_sighting``: the visual column) behind ridges are not covered: the
    plan covers less with the DEM, and without one it states range-only visibility."""
    fm = default_force_model()
    opts = PlanOptions(mission="unarmed", time_limit_s=30, kind="weapon_sighting", spacing_km=8.0)
    without = plan(march, fm, [3000], opts)
    with_dem = plan(march, fm, [3000], replace(opts, terrain=_corrugated()))
    assert without["coverage_model"]["terrain"] == (
        "visibility: range only (no elevation model given)")
    assert with_dem["coverage_model"]["terrain"].startswith("visibility: terrain from ridges.tif")
    a, b = without["layouts"][0], with_dem["layouts"][0]
    assert b["covered"]["line_share"] < 0.9 * a["covered"]["line_share"]
    assert b["placement"]["exact"]["value"] < a["placement"]["exact"]["value"]


def test_plan_command_reads_a_dem_and_says_so(tmp_path: Path) -> None:
    """``truceline plan --dem`` reads the GeoTIFF and states terrain visibility in plan.md and
    plan.json; a file that is not a raster is named as ``dem``."""
    from click.testing import CliRunner

    from truceline.adapters.cli.main import cli

    _write_tif(tmp_path / "ridges.tif", _corrugated())
    out = tmp_path / "plan"
    args = ["plan", "--agreement", "march2025", "--personnel", "2000", "--days", "0",
            "--out", str(out), "--time-limit", "10", "--spacing-km", "8"]
    res = CliRunner().invoke(cli, [*args, "--dem", str(tmp_path / "ridges.tif")],
                             catch_exceptions=False)
    assert res.exit_code == 0, res.output
    body = json.loads((out / "plan.json").read_text())
    assert body["coverage_model"]["terrain"].startswith("visibility: terrain from ridges.tif")
    assert "visibility: terrain from ridges.tif" in (out / "plan.md").read_text()
    res = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert "visibility: range only (no elevation model given)" in (out / "plan.md").read_text()
    (tmp_path / "bad.tif").write_text("no raster")
    res = CliRunner().invoke(cli, [*args, "--dem", str(tmp_path / "bad.tif")])
    assert res.exit_code != 0 and "dem:" in res.output
