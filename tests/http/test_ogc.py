"""OGC API - Features read by real clients: GDAL's OAPIF driver (ogrinfo) and OWSLib.

The server runs for real (uvicorn on a free loopback port, in a thread) over a copy of the
base store; the clients see what a QGIS user would.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator

import httpx
import pytest

from tests.http.conftest import World
from tests.served import serve


@pytest.fixture(scope="module")
def server(world: World, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    db = tmp_path_factory.mktemp("ogc") / "ogc.db"
    shutil.copyfile(world.db, db)
    with serve(db) as url:
        yield url


def _count(base: str, collection: str, headers: dict[str, str] | None = None) -> int:
    r = httpx.get(f"{base}/ogc/collections/{collection}/items?limit=1", headers=headers)
    return int(r.json()["numberMatched"])


def _ogrinfo(*args: str) -> str:
    if shutil.which("ogrinfo") is None:
        pytest.fail("ogrinfo is missing: apt-get install gdal-bin")
    out = subprocess.run(["ogrinfo", *args], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_gdal_lists_the_public_layers(server: str) -> None:
    out = _ogrinfo("-ro", "-q", f"OAPIF:{server}/ogc")
    layers = set(re.findall(r"^\d+: (\w+)", out, flags=re.M))
    assert layers == {"incidents", "findings", "zones", "lines", "coverage_gaps"}


@pytest.mark.parametrize("layer", ["incidents", "findings", "zones", "lines"])
def test_gdal_reads_each_layer_and_its_count(server: str, layer: str) -> None:
    out = _ogrinfo("-ro", "-so", f"OAPIF:{server}/ogc", layer)
    n = int(re.search(r"Feature Count: (\d+)", out).group(1))  # type: ignore[union-attr]
    assert n == _count(server, layer) and n > 0


def test_gdal_pages_through_every_feature_once(server: str) -> None:
    out = _ogrinfo("-ro", "-al", "-oo", "PAGE_SIZE=4", f"OAPIF:{server}/ogc", "incidents")
    ids = re.findall(r"^\s+id \(String\) = (\S+)", out, flags=re.M)
    assert len(ids) == len(set(ids)) == _count(server, "incidents")


def test_gdal_with_a_key_sees_what_the_key_allows(world: World, server: str) -> None:
    h = world.headers("analyst")
    out = _ogrinfo("--config", "GDAL_HTTP_HEADERS", h["Authorization"].join(
        ["Authorization: ", ""]), "-ro", "-so", f"OAPIF:{server}/ogc", "observations")
    n = int(re.search(r"Feature Count: (\d+)", out).group(1))  # type: ignore[union-attr]
    assert n == _count(server, "observations", h) >= 23


def test_owslib_reads_collections_and_items(world: World, server: str) -> None:
    from owslib.ogcapi.features import Features

    assert {c["id"] for c in Features(f"{server}/ogc").collections()["collections"]} == {
        "incidents", "findings", "zones", "lines", "coverage_gaps"}
    # a guarantor sees the incidents behind the findings on its provisions (the public: only
    # those behind published findings)
    api = Features(f"{server}/ogc", headers=world.headers("guarantor_US"))
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in \
        api.conformance()["conformsTo"]
    items = api.collection_items("incidents", limit=5)
    assert items["numberReturned"] == 5 and items["type"] == "FeatureCollection"
    assert api.collection_item("incidents", items["features"][0]["id"])["type"] == "Feature"


@pytest.mark.parametrize("query", ["", "&bbox=37,48,38.5,49", "&datetime=2025-03-27T00:00:00Z/..",
                                   "&datetime=../2025-03-28T00:00:00Z"])
def test_next_links_visit_every_item_exactly_once(world: World, server: str, query: str) -> None:
    url: str | None = f"{server}/ogc/collections/incidents/items?limit=3{query}"
    seen: list[str] = []
    matched = None
    while url:
        r = httpx.get(url, headers=world.headers("analyst"))
        assert r.headers["content-type"].startswith("application/geo+json")
        page = r.json()
        matched = page["numberMatched"]
        assert page["numberReturned"] == len(page["features"])
        seen += [f["id"] for f in page["features"]]
        url = next((ln["href"] for ln in page["links"] if ln["rel"] == "next"), None)
    assert len(seen) == len(set(seen)) == matched


def test_filters_select_what_they_say(world: World, server: str) -> None:
    base = f"{server}/ogc/collections/incidents/items?limit=1000"
    h = world.headers("analyst")
    every = httpx.get(base, headers=h).json()["features"]
    box = (37.0, 48.0, 38.5, 49.0)
    inside = httpx.get(base + "&bbox=" + ",".join(map(str, box)), headers=h).json()["features"]
    expect = {f["id"] for f in every if f["geometry"] and box[0] <= f["geometry"]["coordinates"][0]
              <= box[2] and box[1] <= f["geometry"]["coordinates"][1] <= box[3]}
    assert {f["id"] for f in inside} == expect and 0 < len(expect) < len(every)
    t = every[0]["properties"]["time"]
    instant = httpx.get(base + f"&datetime={t}", headers=h).json()["features"]
    assert instant and all(f["properties"]["time"] == t for f in instant)


def test_item_not_found_is_404_envelope(server: str) -> None:
    r = httpx.get(f"{server}/ogc/collections/incidents/items/nope")
    assert r.status_code == 404 and r.json()["code"] == "not_found"
