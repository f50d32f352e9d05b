"""Geometry outside the agreement's area of interest is rejected, never silently used.

The real case: DeepStateMap's 2025 snapshot carries satirical "occupied" polygons far outside
Ukraine (Karelia, East Prussia, the Kuril islands ...) beside real positions in Ukraine.
"""

from __future__ import annotations

import json
from pathlib import Path

import shapely
from shapely.geometry import shape

from truceline.adapters.agreement_files import load_agreement_file
from truceline.adapters.store.sqlite import SQLiteStore
from truceline.core.agreement_geometry import geometry_spec
from truceline.services.ingest import ingest
from truceline.services.record import initialize_store


def test_deepstate_satirical_polygons_are_rejected(tmp_path: Path, data_dir: Path) -> None:
    ag, doc = load_agreement_file("march2025")
    store = SQLiteStore(tmp_path / "t.db", create=True)
    initialize_store(store, doc)
    src = json.loads(
        (data_dir / "deepstate/history/deepstate_20250803_1754251105.geojson").read_text(
            encoding="utf-8"
        )
    )
    recs, names = [], {}
    for n, f in enumerate(src["features"], 1):
        p = shape(f["geometry"]).representative_point()
        oid = f"ds-{n}"
        if f["geometry"]["type"] != "Point":  # the satirical "territories" are polygons
            names[oid] = f["properties"].get("name", "")
        recs.append(
            (
                n,
                {
                    "id": oid,
                    "kind": "presence",
                    "presence_category": "unit",
                    "time": "2025-08-03T12:00:00Z",
                    "source_id": "deepstate",
                    "source_type": "open_source",
                    "lon": p.x,
                    "lat": p.y,
                },
            )
        )
    rep = ingest(store, recs, on_invalid="skip")
    rejected = {r.id for r in rep.rejected}
    assert rep.added + len(rejected) == len(recs)
    for label in ("Karelia", "East Prussia", "Kuril", "Petsamo", "Abkhazia", "Ichkeria"):
        hit = [oid for oid, name in names.items() if label in name]  # polygons only
        assert hit and set(hit) <= rejected, label
    assert all(r.field == "lon" and "area of interest" in r.reason for r in rep.rejected)
    # independently: everything rejected lies outside the area, everything kept inside
    aoi = geometry_spec(ag).area_of_interest
    stored = {o.id: o for o in store.observations()}
    for oid, o in stored.items():
        assert shapely.contains_xy(aoi, o.lon, o.lat), oid
    for _, rec in recs:
        if rec["id"] in rejected:
            assert not shapely.contains_xy(aoi, rec["lon"], rec["lat"]), rec["id"]
    assert rep.added > 300  # the real positions in and around Ukraine are kept
