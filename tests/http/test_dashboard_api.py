"""The dashboard's own routes over the HTTP tests' base store: roles, redaction, bad input."""

from __future__ import annotations

import math

import numpy as np
from fastapi.testclient import TestClient

from tests.http.conftest import F_PUBLISHED, F_RU, World
from truceline.adapters.http import dashboard_layers as layers


def test_page_and_vendored_libraries_are_served(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and "leaflet-1.9.4/leaflet.js" in page.text
    js = client.get("/dashboard/static/vendor/leaflet-1.9.4/leaflet.js")
    assert js.status_code == 200 and js.text.startswith("/* @preserve\n * Leaflet 1.9.4")
    assert client.get("/dashboard/static/vendor/noble-ed25519-2.3.0/LICENSE").status_code == 200
    for bad in ("../routes_dashboard.py", "..%2F..%2Fsettings.py", "nope.js"):
        r = client.get(f"/dashboard/static/{bad}")
        assert r.status_code == 404, bad
        assert r.json()["code"]


def test_config_says_who_and_the_grid(client: TestClient, world: World) -> None:
    pub = client.get("/dashboard/config").json()
    assert (pub["role"], pub["grid"]) == ("public", 0.05)
    assert pub["period"] == {"start": "2025-03-20", "end": "2025-04-19"}  # 30-day ceasefire
    an = client.get("/dashboard/config", headers=world.headers("analyst")).json()
    assert (an["role"], an["grid"]) == ("analyst", None)
    ru = client.get("/dashboard/config", headers=world.headers("party_RU")).json()
    assert (ru["role"], ru["bound"]) == ("party", "RU")


def test_layers_hold_the_agreements_geometry(client: TestClient) -> None:
    ly = client.get("/dashboard/layers").json()
    assert [f["properties"]["id"] for f in ly["lines"]] == ["front_2025"]
    assert {f["properties"]["party"] for f in ly["control"]} == {"RU", "UA"}
    assert {f["properties"]["id"] for f in ly["zones"]} == {"pullback_ua", "pullback_ru"}
    assert len(ly["sectors"]) == 5
    base = client.get("/dashboard/basemap").json()
    names = {f["properties"]["name"] for f in base["places"]["features"]}
    assert {"Kyiv", "Donetsk", "Zaporizhzhia"} <= names
    assert len(base["oblasts"]["features"]) >= 24


def test_public_incidents_only_behind_published_findings_on_the_grid(
        client: TestClient, world: World) -> None:
    everything = client.get("/dashboard/incidents?zoom=14",
                            headers=world.headers("analyst")).json()
    public = client.get("/dashboard/incidents?zoom=14").json()
    assert 1 == public["total"] < everything["total"]
    (mark,) = public["marks"]
    loc = mark["incident"]["impact"] or mark["incident"]["location"] or \
        mark["incident"]["origin"]
    for v in (loc["lon"], loc["lat"]):
        k = v / 0.05 - 0.5
        assert math.isclose(k, round(k), abs_tol=1e-6)
    assert mark["incident"]["details"] == {}
    # clusters for the public are at grid cell centres too, at every zoom
    for z in range(3, 14):
        for m in client.get(f"/dashboard/incidents?zoom={z}").json()["marks"]:
            if "lon" in m:
                k = m["lon"] / 0.05 - 0.5
                assert math.isclose(k, round(k), abs_tol=1e-6), (z, m)


def test_bad_incident_queries_name_the_field(client: TestClient) -> None:
    for q, field in (("bbox=1,2,3", "bbox"), ("bbox=5,0,1,1", "bbox"), ("start=yesterday", "start"),
                     ("start=2025-03-20T00:00:00Z&end=2025-03-19T00:00:00Z", "end"),
                     ("start=2025-01-01T00:00:00Z&end=2025-06-01T00:00:00Z", "end")):
        r = client.get(f"/dashboard/incidents?{q}")
        assert r.status_code == 422, q
        assert r.json()["field"] == field, q


def test_record_location_only_for_findings_the_key_may_see(client: TestClient,
                                                           world: World) -> None:
    assert client.get(f"/dashboard/record/{F_RU}").status_code == 404
    assert client.get(f"/dashboard/record/{F_RU}",
                      headers=world.headers("party_UA")).status_code == 404
    mine = client.get(f"/dashboard/record/{F_RU}", headers=world.headers("party_RU")).json()
    pub = client.get(f"/dashboard/record/{F_PUBLISHED}").json()
    assert pub["opening"]["value"] == F_PUBLISHED and mine["opening"]["value"] == F_RU
    cp = client.get(f"/dashboard/checkpoint?size={pub['size']}").json()
    assert cp["note"].split("\n")[1] == str(pub["size"])
    assert client.get("/dashboard/checkpoint?size=999999").status_code == 404
    latest = client.get("/dashboard/checkpoint").json()
    assert latest["size"] == client.get("/record/checkpoints").json()[-1]["size"]


def test_published_lists_only_what_the_key_sees(client: TestClient, world: World) -> None:
    assert client.get("/dashboard/published").json() == {"published": [F_PUBLISHED]}
    an = client.get("/dashboard/published", headers=world.headers("analyst")).json()
    assert an == {"published": [F_PUBLISHED]}


def test_clusters_add_up_and_respect_the_box() -> None:
    rng = np.random.default_rng(3)
    recs = [{"id": f"i{i}", "kind": "fire", "fire_type": "explosion" if i % 3 else "mlrs",
             "count": 1 + i % 4, "time": "2025-03-21T00:00:00Z",
             "location": {"lon": float(36 + rng.random()), "lat": float(48 + rng.random())}}
            for i in range(2000)]
    ix = layers.index_incidents(recs)
    total, marks = layers.cluster(ix, 8, None)
    assert total == 2000
    assert sum(m["n"] for m in marks) == 2000
    assert sum(m["count"] for m in marks) == sum(r["count"] for r in recs)
    assert sum(m["kinds"].get("mlrs", 0) for m in marks) == len(range(0, 2000, 3))
    inside, _ = layers.cluster(ix, 8, None, (36.0, 48.0, 36.5, 48.5))
    want = sum(1 for r in recs if r["location"]["lon"] <= 36.5 and r["location"]["lat"] <= 48.5)
    assert inside == want
    # zoomed far in, lone incidents come back as themselves
    _, fine = layers.cluster(ix, 16, None)
    assert any("incident" in m for m in fine)
