"""Derive the land of Russia near Ukraine for the March 2025 example's border strip.

Run from the repository root with the ``world-atlas`` npm package unpacked somewhere
(``npm pack world-atlas@2.0.2 && tar xzf world-atlas-2.0.2.tgz``)::

    python tools/derive_land_mask.py path/to/package/countries-10m.json

world-atlas 2.0.2 redistributes Natural Earth 4.1.0 Admin 0 countries at 1:10m as TopoJSON
(Natural Earth: public domain; world-atlas: ISC, Copyright 2013-2019 Michael Bostock). This
decodes the TopoJSON (quantised, delta-encoded arcs), takes the feature with ISO 3166-1 numeric
id 643 (Russia), keeps what lies within 80 km of Ukraine's outline and in the box of the strip
(:data:`BOX`), and writes ``src/truceline/examples/geometry/russia_land_near_ukraine.geojson``.
Only land is in a country polygon: seas, bays and estuaries are not. Deterministic.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon, mapping, shape

ROOT = Path(__file__).resolve().parents[1]
GEOM = ROOT / "src" / "truceline" / "examples" / "geometry"
#: the March 2025 example's strip box, [min_lon, min_lat, max_lon, max_lat]
BOX = (31.8, 46.5, 41.0, 53.0)


def _arcs(topo: dict[str, Any]) -> list[np.ndarray]:
    scale = np.asarray(topo["transform"]["scale"], float)
    translate = np.asarray(topo["transform"]["translate"], float)
    out = []
    for arc in topo["arcs"]:
        q = np.cumsum(np.asarray(arc, float), axis=0)  # delta-encoded
        out.append(q * scale + translate)
    return out


def _ring(arcs: list[np.ndarray], idx: list[int]) -> np.ndarray:
    pts: list[np.ndarray] = []
    for i in idx:
        a = arcs[i] if i >= 0 else arcs[~i][::-1]
        pts.append(a if not pts else a[1:])  # consecutive arcs share their end point
    return np.concatenate(pts)


def _geometry(arcs: list[np.ndarray], g: dict[str, Any]) -> Any:
    if g["type"] == "Polygon":
        polys = [g["arcs"]]
    elif g["type"] == "MultiPolygon":
        polys = g["arcs"]
    else:
        raise ValueError(f"unexpected geometry type {g['type']}")
    parts = []
    for rings in polys:
        shell, *holes = (_ring(arcs, r) for r in rings)
        parts.append(Polygon(shell, holes))
    return shapely.make_valid(MultiPolygon(parts))


def main(countries: Path) -> None:
    topo = json.loads(countries.read_text())
    arcs = _arcs(topo)
    (ru,) = [g for g in topo["objects"]["countries"]["geometries"] if str(g.get("id")) == "643"]
    russia = _geometry(arcs, ru)
    outline = json.loads((GEOM / "ukraine_outline.geojson").read_text())
    ua = shape(outline["features"][0]["geometry"])
    near = ua.buffer(0.8 / np.cos(np.radians(49.0)))  # generous: >= 80 km in every direction
    land = russia.intersection(near).intersection(shapely.box(*BOX))
    land = shapely.set_precision(land, 1e-5)
    fc = {
        "type": "FeatureCollection",
        "properties": {
            "source": "Natural Earth 4.1.0 Admin 0 countries 1:10m (public domain), via the "
            "world-atlas 2.0.2 npm package countries-10m.json (ISC, Copyright 2013-2019 Michael "
            "Bostock); tools/derive_land_mask.py",
            "note": "Russia (ISO 3166-1 643) land within ~80 km of Ukraine's outline, clipped to "
            f"{list(BOX)}: land only, no sea",
        },
        "features": [{"type": "Feature", "properties": {"name": "Russia", "iso": "RU"},
                      "geometry": mapping(land)}],
    }
    (GEOM / "russia_land_near_ukraine.geojson").write_text(
        json.dumps(fc, ensure_ascii=False, separators=(",", ":")) + "\n"
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]))
