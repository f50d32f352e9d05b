"""OGC API - Features conformance, checked from the standards' abstract test suites.

No maintained conformance checker installs from the package registries and runs offline (the
OGC's executable suite, ets-ogcapi-features10, is a Java TEAM Engine service; ``cite-runner``
on PyPI only drives such a service), so each test here is one ATS test, named by its id:
Part 1 (OGC 17-069r4, Annex A: ``/conf/core/...``, ``/conf/geojson/...``), Part 2 (OGC
18-058r1, ``/conf/crs/...``) and Part 3 (OGC 19-079r2, ``/conf/queryables/...``).
They run against the real app over the base store of the HTTP tests.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.http.conftest import World
from truceline.adapters.http.ogc_params import CRS84, EPSG4326, MAX_LIMIT

CORE = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core"
ITEMS = "/ogc/collections/incidents/items"


def _rels(links: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {ln["rel"]: ln for ln in links}


def test_root_op_and_success(client: TestClient) -> None:
    """/conf/core/root-op, /conf/core/root-success: links service-desc, conformance, data."""
    r = client.get("/ogc")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    rels = _rels(r.json()["links"])
    assert {"self", "service-desc", "conformance", "data"} <= set(rels)
    for rel in ("service-desc", "conformance", "data"):
        assert client.get(rels[rel]["href"]).status_code == 200


def test_api_definition(client: TestClient) -> None:
    """/conf/core/api-definition-op, /conf/oas30/oas-definition-1: an OpenAPI 3.0 document
    that defines every query parameter of the items resource (limit with its range)."""
    r = client.get("/ogc/api")
    assert r.status_code == 200 and "openapi" in r.headers["content-type"]
    doc = r.json()
    assert doc["openapi"].startswith("3.")
    params = {
        p["name"]: p
        for p in doc["paths"]["/ogc/collections/{collection_id}/items"]["get"]["parameters"]
    }
    assert {"limit", "bbox", "bbox-crs", "datetime", "crs", "cursor"} <= set(params)
    limit = params["limit"]["schema"]
    assert (limit["minimum"], limit["maximum"]) == (1, MAX_LIMIT) and limit["default"] >= 1


def test_conformance_declares_what_is_implemented(client: TestClient) -> None:
    """/conf/core/conformance-op, /conf/core/conformance-success."""
    conf = set(client.get("/ogc/conformance").json()["conformsTo"])
    assert {
        CORE,
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
        "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
        "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    } <= conf
    # filtering (CQL2) and queryables as query parameters are not implemented: not declared
    assert not any("/conf/filter" in c or "queryables-query-parameters" in c for c in conf)


def test_collections_metadata(client: TestClient) -> None:
    """/conf/core/fc-md-op, fc-md-success, fc-md-links, fc-md-items, fc-md-items-links,
    fc-md-extent; /conf/crs/fc-md-crs-list, /conf/crs/fc-md-storageCrs."""
    body = client.get("/ogc/collections").json()
    assert "self" in _rels(body["links"])
    assert body["collections"]
    for c in body["collections"]:
        assert c["id"] and "items" in _rels(c["links"])
        w, s, e, n = c["extent"]["spatial"]["bbox"][0]
        assert -180 <= w <= e <= 180 and -90 <= s <= n <= 90
        assert CRS84 in c["crs"] and EPSG4326 in c["crs"] and c["storageCrs"] == CRS84
        one = client.get(f"/ogc/collections/{c['id']}")  # /conf/core/sfc-md-op, -success
        assert one.status_code == 200 and one.json()["id"] == c["id"]


@pytest.mark.parametrize("collection", ["incidents", "findings", "zones", "lines", "coverage_gaps"])
def test_items_response(client: TestClient, collection: str) -> None:
    """/conf/core/fc-op, fc-response, fc-links, fc-timeStamp, fc-numberMatched,
    fc-numberReturned; /conf/geojson/content; /conf/crs/ogc-crs-header."""
    r = client.get(f"/ogc/collections/{collection}/items?limit=1000")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/geo+json")
    assert r.headers["content-crs"] == f"<{CRS84}>"
    body = r.json()
    assert body["type"] == "FeatureCollection" and body["timeStamp"].endswith("Z")
    assert body["numberReturned"] == len(body["features"]) <= body["numberMatched"]
    assert _rels(body["links"])["self"]["type"] == "application/geo+json"
    for f in body["features"]:
        assert f["type"] == "Feature" and isinstance(f["properties"], dict)
        assert f["geometry"] is None or {"type", "coordinates"} <= set(f["geometry"])


def test_unknown_query_parameter_is_400_naming_it(client: TestClient) -> None:
    """/conf/core/query-param-unknown (every OGC resource)."""
    for path in (
        "/ogc",
        "/ogc/conformance",
        "/ogc/collections",
        "/ogc/collections/incidents",
        ITEMS,
        "/ogc/collections/incidents/queryables",
    ):
        r = client.get(path + "?offset=3")
        assert r.status_code == 400, (path, r.text)
        assert r.json()["field"] == "offset" and r.json()["code"] == "invalid_query_parameter"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=abc", "limit"),
        ("limit=0", "limit"),
        ("limit=-5", "limit"),
        ("limit=2.5", "limit"),
        ("bbox=1,2,3", "bbox"),
        ("bbox=a,b,c,d", "bbox"),
        ("bbox=37,49,38,48", "bbox"),
        ("bbox=37,48,38,95", "bbox"),
        ("bbox=1,2,3,nan", "bbox"),
        ("datetime=yesterday", "datetime"),
        ("datetime=2025-03-29T00:00:00Z/2025-03-01T00:00:00Z", "datetime"),
        ("datetime=/", "datetime"),
        ("crs=http://www.opengis.net/def/crs/EPSG/0/3857", "crs"),
        ("bbox=37,48,38,49&bbox-crs=EPSG:32637", "bbox-crs"),
        ("cursor=not-a-cursor", "cursor"),
        ("f=html", "f"),
        ("limit=5&limit=6", "limit"),
    ],
)
def test_invalid_query_parameter_is_400_naming_it(
    client: TestClient, query: str, field: str
) -> None:
    """/conf/core/query-param-invalid; /conf/crs/fc-crs-valid-value (an unsupported crs or
    bbox-crs is a 400)."""
    r = client.get(f"{ITEMS}?{query}")
    assert r.status_code == 400, r.text
    assert r.json()["field"] == field and r.json()["message"]


def test_limit_is_honoured_and_clamped(world: World, client: TestClient) -> None:
    """/conf/core/fc-limit-definition, /conf/core/fc-limit-response: never more than asked;
    above the maximum the maximum is used, not an error (17-069r4 §7.15.4)."""
    h = world.headers("analyst")
    total = client.get(f"{ITEMS}?limit=1", headers=h).json()["numberMatched"]
    assert total > 3
    for n in (1, 3, total):
        assert client.get(f"{ITEMS}?limit={n}", headers=h).json()["numberReturned"] == n
    r = client.get(f"{ITEMS}?limit={MAX_LIMIT * 100}", headers=h)
    assert r.status_code == 200 and r.json()["numberReturned"] == total


def test_default_limit_applies(client: TestClient) -> None:
    """/conf/core/fc-limit-definition: with no limit the default page size applies."""
    body = client.get("/ogc/collections/zones/items").json()
    assert body["numberReturned"] == min(100, body["numberMatched"])


def _point_in(box: tuple[float, float, float, float], xy: list[float]) -> bool:
    return box[0] <= xy[0] <= box[2] and box[1] <= xy[1] <= box[3]


def test_bbox_response(world: World, client: TestClient) -> None:
    """/conf/core/fc-bbox-definition, /conf/core/fc-bbox-response; /conf/crs/fc-bbox-crs-action:
    the same box given as EPSG:4326 (lat,lon) selects the same features."""
    h = world.headers("analyst")
    every = client.get(f"{ITEMS}?limit=1000", headers=h).json()["features"]
    box = (37.0, 48.0, 38.5, 49.0)
    inside = client.get(f"{ITEMS}?limit=1000&bbox=" + ",".join(map(str, box)), headers=h).json()[
        "features"
    ]
    expect = {
        f["id"] for f in every if f["geometry"] and _point_in(box, f["geometry"]["coordinates"])
    }
    assert {f["id"] for f in inside} == expect and 0 < len(expect) < len(every)
    as_4326 = client.get(
        f"{ITEMS}?limit=1000&bbox=48,37,49,38.5&bbox-crs={EPSG4326}", headers=h
    ).json()["features"]
    assert {f["id"] for f in as_4326} == expect


def test_datetime_response(world: World, client: TestClient) -> None:
    """/conf/core/fc-datetime-definition, /conf/core/fc-datetime-response."""
    h = world.headers("analyst")
    every = client.get(f"{ITEMS}?limit=1000", headers=h).json()["features"]
    times = sorted(f["properties"]["time"] for f in every)
    mid = times[len(times) // 2]
    after = client.get(f"{ITEMS}?limit=1000&datetime={mid}/..", headers=h).json()["features"]
    assert {f["id"] for f in after} == {f["id"] for f in every if f["properties"]["time"] >= mid}
    exact = client.get(f"{ITEMS}?limit=1000&datetime={mid}", headers=h).json()["features"]
    assert exact and all(f["properties"]["time"] == mid for f in exact)


def test_crs_action_swaps_axes_for_4326(world: World, client: TestClient) -> None:
    """/conf/crs/fc-crs-action, /conf/crs/ogc-crs-header: EPSG:4326 is latitude first, and the
    response says so in Content-Crs (items and one feature)."""
    h = world.headers("analyst")
    base = client.get(f"{ITEMS}?limit=1000", headers=h).json()["features"]
    r = client.get(f"{ITEMS}?limit=1000&crs={EPSG4326}", headers=h)
    assert r.headers["content-crs"] == f"<{EPSG4326}>"
    swapped = {f["id"]: f["geometry"] for f in r.json()["features"]}
    located = [f for f in base if f["geometry"]]
    assert located
    for f in located:
        lon, lat = f["geometry"]["coordinates"][:2]
        assert swapped[f["id"]]["coordinates"][:2] == [lat, lon]
    one = client.get(f"{ITEMS}/{located[0]['id']}?crs={EPSG4326}", headers=h)
    assert one.headers["content-crs"] == f"<{EPSG4326}>"
    assert one.json()["geometry"] == swapped[located[0]["id"]]
    zones = client.get(f"/ogc/collections/zones/items?crs={EPSG4326}")  # polygons too
    ring = zones.json()["features"][0]["geometry"]["coordinates"]
    while isinstance(ring[0][0], list):
        ring = ring[0]
    assert all(44 < y < 53 and 22 < x < 41 for y, x in ring)  # (lat, lon) in Ukraine


def test_feature_op_success_links(client: TestClient) -> None:
    """/conf/core/f-op, /conf/core/f-success, /conf/core/f-links; a missing one is a 404."""
    first = client.get(f"{ITEMS}?limit=1").json()["features"][0]
    r = client.get(f"{ITEMS}/{first['id']}")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/geo+json")
    assert r.headers["content-crs"] == f"<{CRS84}>"
    body = r.json()
    assert body["type"] == "Feature" and body["id"] == first["id"]
    assert {"self", "collection"} <= set(_rels(body["links"]))
    assert client.get(f"{ITEMS}/no-such-feature").status_code == 404


def test_queryables(world: World, client: TestClient) -> None:
    """/conf/queryables/get-queryables-uri, /conf/queryables/get-queryables-response: linked
    from the collection, JSON Schema 2020-12 with $id, each feature property listed."""
    h = world.headers("analyst")
    links = _rels(client.get("/ogc/collections/incidents", headers=h).json()["links"])
    link = links["http://www.opengis.net/def/rel/ogc/1.0/queryables"]
    r = client.get(link["href"], headers=h)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/schema+json")
    schema = r.json()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == link["href"] and schema["type"] == "object"
    assert schema["properties"]["geometry"]["format"] == "geometry-point"
    seen = {
        k
        for f in client.get(f"{ITEMS}?limit=1000", headers=h).json()["features"]
        for k in f["properties"]
    }
    assert set(schema["properties"]) - {"geometry"} == seen
    obs = client.get("/ogc/collections/observations/queryables", headers=h).json()
    assert {"kind", "time", "source_id", "weapon_class"} <= set(obs["properties"])
    assert obs["properties"]["time"]["format"] == "date-time"


@pytest.mark.parametrize("role", ["anon", "public", "party_UA", "guarantor_US"])
def test_paging_crs_and_queryables_reveal_no_more(
    world: World, client: TestClient, role: str
) -> None:
    """Outside the mission, a one-feature-a-page walk in EPSG:4326 gives the same redacted
    features as one page in CRS84 (grid-cell centres, no exact position), and the queryables
    name only properties those features carry (never an observer field)."""
    from truceline.adapters.http.redaction import coarsen

    h = world.headers(role)
    for name in ("incidents", "findings"):
        whole = client.get(f"/ogc/collections/{name}/items?limit=1000", headers=h).json()
        url: str | None = f"/ogc/collections/{name}/items?limit=1&crs={EPSG4326}"
        walked: dict[str, Any] = {}
        while url:
            page = client.get(url, headers=h).json()
            walked |= {f["id"]: f for f in page["features"]}
            url = next((ln["href"] for ln in page["links"] if ln["rel"] == "next"), None)
        assert set(walked) == {f["id"] for f in whole["features"]}
        for f in whole["features"]:
            assert walked[f["id"]]["properties"] == f["properties"]
            if f["geometry"]:
                lon, lat = f["geometry"]["coordinates"]
                assert coarsen(lon, lat) == (lon, lat)  # a cell centre
                assert walked[f["id"]]["geometry"]["coordinates"] == [lat, lon]
        props = set(
            client.get(f"/ogc/collections/{name}/queryables", headers=h).json()["properties"]
        ) - {"geometry"}
        assert props == {k for f in whole["features"] for k in f["properties"]}
        assert not props & {"observer_lon", "observer_lat", "bearing_deg", "signature"}
