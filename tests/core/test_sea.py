"""Water and third countries are no party's (issue 12, item 5), on the shipped March 2025 example.

Its Russian-held border strip (60 km beyond Ukraine's outline) used to cover the Dnipro-Buh
estuary, the Sea of Azov and Taganrog Bay, and DeepStateMap's occupied area reaches into the
Black Sea by the Kinburn and Tendra spits, so fire located there was charged to Russia. Every
water position below is water in Natural Earth's 1:10m land polygons (checked when the test was
written), and outside Ukraine's outline (checked here).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import shapely
from shapely.geometry import shape

from truceline.adapters.agreement_files import load_agreement_file
from truceline.adapters.store.sqlite import SQLiteStore
from truceline.core.agreement_geometry import geometry_spec
from truceline.core.classify import classify, compile_geometry
from truceline.core.findings import Finding, Verdict
from truceline.services.check import run_check
from truceline.services.ingest import ingest
from truceline.services.record import initialize_store

T = "2025-03-25T21:00:00+02:00"
WATER = {
    "dnipro-buh-estuary": (31.95, 46.58),
    "sea-of-azov": (37.0, 46.7),
    "taganrog-bay": (38.5, 47.05),
    "black-sea-tendra": (31.779, 46.2672),  # inside DeepStateMap's occupied polygon, 3 km out
}
LAND = {
    "belgorod": ((36.59, 50.60), "RU"),  # Russia, in the border strip
    "yeysk": ((38.27, 46.70), "RU"),  # Russia's Azov coast, in the strip
    "donetsk": ((37.80, 48.00), "RU"),  # occupied
    "kharkiv": ((36.23, 49.99), "UA"),
}


@pytest.fixture(scope="module")
def spec_and_geom():
    ag, _ = load_agreement_file("march2025")
    spec = geometry_spec(ag)
    return spec, compile_geometry(spec, ag.thresholds_km())


def test_water_points_are_outside_ukraines_outline(examples: Path) -> None:
    gj = json.loads((examples / "geometry/ukraine_outline.geojson").read_text())
    ua = shape(gj["features"][0]["geometry"])
    for name, (lon, lat) in WATER.items():
        assert not shapely.contains_xy(ua, lon, lat), name


def test_water_is_no_partys_and_land_keeps_its_holder(spec_and_geom) -> None:
    spec, geom = spec_and_geom
    names = [*WATER, *LAND]
    pts = [*WATER.values(), *(p for p, _ in LAND.values())]
    t = np.array(["2025-03-25"] * len(pts), dtype="datetime64[ns]")
    c = classify(geom, [p[0] for p in pts], [p[1] for p in pts], t)
    got = {n: spec.parties[k] if k >= 0 else None for n, k in zip(names, c.control.tolist(),
                                                                     strict=True)}
    assert got == {**dict.fromkeys(WATER), **{n: party for n, (_, party) in LAND.items()}}
    assert c.in_aoi.all()  # still in the area of interest: reported, just not attributed


@pytest.fixture(scope="module")
def findings(tmp_path_factory: pytest.TempPathFactory) -> list[Finding]:
    _, doc = load_agreement_file("march2025")
    store = SQLiteStore(tmp_path_factory.mktemp("sea") / "s.db", create=True)
    initialize_store(store, doc)
    recs = [
        {"id": f"outgoing-{name}", "kind": "fire", "time": T, "source_id": "op-1",
         "lon": lon, "lat": lat, "location_uncertainty_m": 200,
         "fire_type": "explosion", "explosion_type": "outgoing"}
        for name, (lon, lat) in [*WATER.items(), ("belgorod", LAND["belgorod"][0])]
    ]
    ingest(store, enumerate(recs, 1))
    return [f for f in run_check(store).findings if f.provision_id == "M25-ceasefire"]


@pytest.mark.parametrize("name", list(WATER))
def test_fire_from_water_is_charged_to_no_party(findings: list[Finding], name: str) -> None:
    (f,) = [f for f in findings if f"outgoing-{name}" in f.evidence]
    assert (f.verdict, f.party) == (Verdict.INSUFFICIENT_EVIDENCE, None)
    assert "no party's area of control" in f.explanation


def test_fire_from_russian_land_is_still_russias(findings: list[Finding]) -> None:
    (f,) = [f for f in findings if "outgoing-belgorod" in f.evidence]
    assert (f.verdict, f.party) == (Verdict.VIOLATION, "RU")
