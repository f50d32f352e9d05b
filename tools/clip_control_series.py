"""Cut a series of monthly DeepStateMap occupied areas to a box around Pokrovsk for the tests.

Run from the repository root: ``python tools/clip_control_series.py [SHARED]`` (default
``../shared``). Writes ``tests/data/deepstate/monthly_pokrovsk/``: for each monthly file from
2025-01-02 to 2026-01-01, the file's one MultiPolygon intersected with :data:`BOX` (vertices inside
the box unchanged; new vertices only where the polygon crosses the box's edges), in a
FeatureCollection that keeps the source's name and CRS member. Deterministic.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import shapely
from shapely.geometry import mapping, shape

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "tests" / "data" / "deepstate" / "monthly_pokrovsk"
#: [min_lon, min_lat, max_lon, max_lat]: Pokrovsk, Myrnohrad, Selydove, Kurakhove's north
BOX = (36.8, 47.95, 37.75, 48.6)
DATES = (
    "20250102", "20250201", "20250301", "20250402", "20250501", "20250601", "20250701",
    "20250801", "20250901", "20251001", "20251101", "20251201", "20260101",
)


def main(shared: Path) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    box = shapely.box(*BOX)
    for d in DATES:
        src = json.loads((shared / f"data/deepstate/monthly/deepstatemap_data_{d}.geojson")
                         .read_text())
        (feat,) = src["features"]
        geom = shape(feat["geometry"]).intersection(box)
        out = {
            "type": "FeatureCollection",
            "name": src.get("name"),
            "crs": src.get("crs"),
            "properties": {"clipped_to": list(BOX)},
            "features": [{"type": "Feature", "properties": feat.get("properties") or {},
                          "geometry": mapping(geom)}],
        }
        (OUT / f"deepstatemap_data_{d}.geojson").write_text(
            json.dumps(out, separators=(",", ":")) + "\n"
        )


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared")
