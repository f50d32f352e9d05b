"""Real geometry for the geo tests, loaded once per session from ``tests/data``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import shapely
from shapely.geometry import shape

from truceline.core.classify import (
    CompiledGeometry,
    ControlPeriod,
    GeometrySpec,
    SectorSpec,
    ZoneSpec,
    compile_geometry,
)
from truceline.core.geo import LineIndex, Projection, choose_projection

FRONTLINE = "frontline/frontline_20250401.geojson"
OCCUPIED = "deepstate/monthly/deepstatemap_data_20250402.geojson"


@pytest.fixture(scope="session")
def front_line(data_dir: Path) -> shapely.LineString:
    """Part 0 of the 2025-04-01 line of contact (1,262 km, 839 vertices), lon/lat."""
    features = json.loads((data_dir / FRONTLINE).read_text())["features"]
    part0 = next(f for f in features if f["properties"]["part"] == 0)
    return shape(part0["geometry"])


@pytest.fixture(scope="session")
def occupied(data_dir: Path) -> shapely.MultiPolygon:
    """DeepState's occupied area on 2025-04-02 (one MultiPolygon), lon/lat."""
    return shape(json.loads((data_dir / OCCUPIED).read_text())["features"][0]["geometry"])


@pytest.fixture(scope="session")
def projection(front_line: shapely.LineString) -> Projection:
    return choose_projection(front_line.bounds)


@pytest.fixture(scope="session")
def line_xy(front_line: shapely.LineString, projection: Projection) -> np.ndarray:
    c = np.asarray(front_line.coords)
    return np.column_stack(projection.forward(c[:, 0], c[:, 1]))


@pytest.fixture(scope="session")
def line_index(line_xy: np.ndarray) -> LineIndex:
    return LineIndex([line_xy])


@pytest.fixture(scope="session")
def real_spec(front_line: shapely.LineString, occupied: shapely.MultiPolygon) -> GeometrySpec:
    """Two parties, the real line, the occupied area as RU's area of control, 100 km sectors."""
    aoi = shapely.box(*front_line.bounds).buffer(1.0, join_style="mitre")
    return GeometrySpec(
        parties=("UA", "RU"),
        lines={"contact": front_line},
        reference_lines={"UA": "contact", "RU": "contact"},
        control=(ControlPeriod("RU", occupied),),
        zones=(ZoneSpec("ua-25", line="contact", within_km=25, party_side="UA"),),
        sectors=tuple(
            SectorSpec(f"s{k}", "contact", 100.0 * k, 100.0 * (k + 1)) for k in range(13)
        ),
        area_of_interest=aoi,
    )


@pytest.fixture(scope="session")
def real_geometry(real_spec: GeometrySpec) -> CompiledGeometry:
    return compile_geometry(real_spec, thresholds_km=(15, 25, 35, 70))
