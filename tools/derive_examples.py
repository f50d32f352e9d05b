"""Derive the example geometry shipped in src/truceline/examples/geometry from ../shared/data.

Run from the repository root: ``python tools/derive_examples.py``. Each output records its source
in the FeatureCollection's ``properties``; see src/truceline/examples/geometry/SOURCES.md.
"""

from __future__ import annotations

import json
from pathlib import Path

import shapely
from shapely.geometry import mapping, shape

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
OUT = ROOT / "src" / "truceline" / "examples" / "geometry"


def write(name: str, features: list[dict], props: dict) -> None:
    fc = {"type": "FeatureCollection", "properties": props, "features": features}
    (OUT / name).write_text(json.dumps(fc, ensure_ascii=False, separators=(",", ":")) + "\n")


def rounded(geom) -> dict:
    g = shapely.make_valid(geom)
    try:
        return mapping(shapely.set_precision(g, 1e-5))
    except shapely.errors.GEOSException:
        return mapping(g)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    fl = json.loads((SHARED / "frontline/frontline_20250401.geojson").read_text())
    write(
        "frontline_20250401.geojson",
        fl["features"],
        {
            "source": "owlmaps/map-data data/20250401.json key 'frontline' via ../shared/data/frontline",
            "note": "part 0 is the main line (1,262.5 km); part 1 the Kursk/Sumy sector",
        },
    )
    occ = json.loads((SHARED / "deepstate/monthly/deepstatemap_data_20250402.geojson").read_text())
    geom = shape(occ["features"][0]["geometry"])
    write(
        "occupied_20250402.geojson",
        [
            {
                "type": "Feature",
                "properties": {"party": "RU", "date": "2025-04-02"},
                "geometry": rounded(geom),
            }
        ],
        {
            "source": "cyterat/deepstate-map-data data/ (DeepStateMap), 2025-04-02, GPL-3.0",
            "note": "Territory of Ukraine held by Russian forces, as one MultiPolygon",
        },
    )
    dl = json.loads(
        (
            SHARED / "frontline/donbas_contact_line_2015_2022_DERIVED_from_deepstate_ordlo.geojson"
        ).read_text()
    )
    write(
        "donbas_contact_line_2015_2022.geojson",
        dl["features"],
        {
            "source": "../shared/data/frontline/donbas_contact_line_2015_2022_DERIVED_from_deepstate_ordlo.geojson",
            "note": "feature 0: the contact line (421 km, approximate); feature 1: the ORDLO polygon",
        },
    )
    ob = json.loads((SHARED / "admin/UA_FULL_Ukraine.geojson").read_text())
    feats = []
    for f in ob["features"]:
        p = f["properties"]
        g = shape(f["geometry"]).simplify(0.003, preserve_topology=True)
        name = p.get("name:en") or p.get("name")
        name = name.replace(" Oblast", "").replace(" oblast", "")
        # one spelling, the national system of 2010 (as core/data/places.csv), not OSM's name:en
        name = {"Kiev": "Kyiv", "Odessa": "Odesa", "Zaporizhia": "Zaporizhzhia"}.get(name, name)
        feats.append(
            {
                "type": "Feature",
                "properties": {"name": name, "iso": p.get("iso3166-2")},
                "geometry": rounded(g),
            }
        )
    write(
        "ukraine_oblasts.geojson",
        feats,
        {
            "source": "EugeneBorshch/ukraine_geojson UA_FULL_Ukraine.geojson (OpenStreetMap 2013, ODbL)",
            "note": "simplified to 0.003 degrees; names from name:en, Kyiv, Odesa and "
            "Zaporizhzhia in the 2010 national romanisation",
        },
    )
    outline = shapely.union_all([shape(f["geometry"]) for f in feats]).buffer(0)
    write(
        "ukraine_outline.geojson",
        [{"type": "Feature", "properties": {"name": "Ukraine"}, "geometry": rounded(outline)}],
        {"source": "union of ukraine_oblasts.geojson"},
    )


if __name__ == "__main__":
    main()
