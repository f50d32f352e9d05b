"""Paging the OGC ``observations`` collection in the store, on SQLite and on PostgreSQL.

A reader following ``next`` links gets every observation it may read exactly once, filtered
as asked, even while new observations arrive; a monitor's pages, counts and queryables hold
only its own source's; a cursor cannot be forged into another collection's or role's data.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.http.conftest import new_fire, sample_records
from tests.store import conftest as store_conftest
from truceline.adapters.agreement_files import load_agreement_file
from truceline.adapters.http import create_app
from truceline.adapters.http.auth import create_api_key
from truceline.adapters.http.ogc_params import EPSG4326, encode_cursor
from truceline.adapters.store import open_store
from truceline.services.ingest import ingest
from truceline.services.record import initialize_store
from truceline.settings import Settings

pg_server = store_conftest.pg_server
pg_url = store_conftest.pg_url

OBS = "/ogc/collections/observations/items"
N = 120  # per source, two sources


def _fires(source: str, start: int) -> list[dict[str, Any]]:
    out = []
    for i in range(start, start + N):
        r = new_fire(i, source)
        r.update(
            id=f"page-{source}-{i}",
            lat=48.2 + 0.002 * (i % 50),
            time=f"2025-03-{20 + i % 8:02d}T{i % 24:02d}:{i % 60:02d}:00+02:00",
        )
        out.append(r)
    return out


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[TestClient, dict]]:
    url = (
        str(request.getfixturevalue("pg_url"))
        if request.param == "postgres"
        else str(tmp_path / "store.db")
    )
    _, doc = load_agreement_file("march2025")
    store = open_store(url, create=True)
    try:
        initialize_store(store, doc)
        ingest(
            store,
            list(
                enumerate(sample_records() + _fires("smm-post-1", 0) + _fires("smm-post-9", 1000))
            ),
        )
        keys = {
            r: {"Authorization": "Bearer " + create_api_key(store, r, role, bound)}
            for r, role, bound in [
                ("analyst", "analyst", None),
                ("monitor", "monitor", "smm-post-1"),
                ("public", "public", None),
                ("guarantor", "guarantor", "US"),
            ]
        }
    finally:
        store.close()
    with TestClient(create_app(url, Settings(rate_limit_per_minute=100_000))) as c:
        yield c, {**keys, "url": url}


def _walk(c: TestClient, url: str, headers: dict[str, str]) -> tuple[list[dict], list[dict]]:
    """Every feature and every page body, following next links."""
    feats: list[dict] = []
    pages: list[dict] = []
    next_url: str | None = url
    while next_url:
        r = c.get(next_url, headers=headers)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["numberReturned"] == len(body["features"])
        pages.append(body)
        feats += body["features"]
        next_url = next((ln["href"] for ln in body["links"] if ln["rel"] == "next"), None)
    return feats, pages


def test_paging_visits_every_observation_once(app: tuple[TestClient, dict]) -> None:
    c, keys = app
    every = c.get("/observations?limit=10000", headers=keys["analyst"]).json()
    ids = {o["id"] for o in (every["observations"] if isinstance(every, dict) else every)}
    feats, pages = _walk(c, f"{OBS}?limit=37", keys["analyst"])
    got = [f["id"] for f in feats]
    assert len(got) == len(set(got)) and set(got) == ids and len(ids) > 2 * N
    assert pages[0]["numberMatched"] == len(ids)
    assert all("numberMatched" not in p for p in pages[1:])  # no count pass per page
    assert all(p["numberReturned"] == 37 for p in pages[:-1])


def test_filters_page_like_the_whole(app: tuple[TestClient, dict]) -> None:
    c, keys = app
    h = keys["analyst"]
    every, _ = _walk(c, f"{OBS}?limit=10000", h)
    box = (38.02, 48.25, 38.07, 48.3)
    lo, hi = "2025-03-22T00:00:00Z", "2025-03-25T12:00:00Z"
    feats, pages = _walk(c, f"{OBS}?limit=11&bbox={','.join(map(str, box))}&datetime={lo}/{hi}", h)

    def inside(f: dict) -> bool:
        from datetime import datetime

        t = datetime.fromisoformat(f["properties"]["time"])
        x, y = f["geometry"]["coordinates"] if f["geometry"] else (None, None)
        return (
            x is not None
            and box[0] <= x <= box[2]
            and box[1] <= y <= box[3]
            and datetime.fromisoformat(lo) <= t <= datetime.fromisoformat(hi)
        )

    expect = {f["id"] for f in every if inside(f)}
    assert [f["id"] for f in feats] and {f["id"] for f in feats} == expect
    assert len(feats) == len(expect) == pages[0]["numberMatched"] < len(every)
    as_4326, _ = _walk(
        c,
        f"{OBS}?limit=11&bbox={box[1]},{box[0]},{box[3]},{box[2]}"
        f"&bbox-crs={EPSG4326}&datetime={lo}/{hi}&crs={EPSG4326}",
        h,
    )
    by_id = {f["id"]: f["geometry"]["coordinates"] for f in feats}
    assert {f["id"]: f["geometry"]["coordinates"][::-1] for f in as_4326} == by_id


def test_a_new_observation_during_paging_is_seen_once(app: tuple[TestClient, dict]) -> None:
    c, keys = app
    h = keys["analyst"]
    first = c.get(f"{OBS}?limit=50", headers=h).json()
    rec = new_fire(7, "smm-post-9")
    rec["id"] = "page-late-arrival"
    store = open_store(keys["url"])  # another writer, as `truceline ingest` would be
    try:
        assert ingest(store, [(0, rec)]).added == 1
    finally:
        store.close()
    nxt = next(ln["href"] for ln in first["links"] if ln["rel"] == "next")
    rest, _ = _walk(c, nxt, h)
    ids = [f["id"] for f in first["features"] + rest]
    assert len(ids) == len(set(ids)) and ids[-1] == "page-late-arrival"


def test_a_monitor_pages_only_its_own(app: tuple[TestClient, dict]) -> None:
    c, keys = app
    mine, pages = _walk(c, f"{OBS}?limit=25&crs={EPSG4326}", keys["monitor"])
    assert mine and {f["properties"]["source_id"] for f in mine} == {"smm-post-1"}
    assert pages[0]["numberMatched"] == len(mine)
    other = "page-smm-post-9-1000"
    assert c.get(f"{OBS}/{other}", headers=keys["monitor"]).status_code == 404
    assert c.get(f"{OBS}/{other}", headers=keys["analyst"]).status_code == 200
    # a cursor taken from the analyst's walk leads the monitor to its own data only
    analyst_first = c.get(f"{OBS}?limit=5", headers=keys["analyst"]).json()
    nxt = next(ln["href"] for ln in analyst_first["links"] if ln["rel"] == "next")
    tail, _ = _walk(c, nxt, keys["monitor"])
    assert {f["properties"]["source_id"] for f in tail} <= {"smm-post-1"}
    extent = c.get("/ogc/collections/observations", headers=keys["monitor"]).json()["extent"]
    xs = [f["geometry"]["coordinates"][1] for f in mine if f["geometry"]]  # 4326: lat, lon
    assert extent["spatial"]["bbox"][0][0] == min(xs)


def test_outsiders_get_no_observations_by_any_route(app: tuple[TestClient, dict]) -> None:
    c, keys = app
    for who, status in (("public", 403), ("guarantor", 403)):
        h = keys[who]
        for path in (
            OBS,
            f"{OBS}?crs={EPSG4326}",
            "/ogc/collections/observations/queryables",
            f"{OBS}?cursor={encode_cursor('observations', '0')}",
        ):
            assert c.get(path, headers=h).status_code == status, (who, path)
    assert c.get(OBS).status_code == 401


def test_a_cursor_of_another_collection_is_refused(app: tuple[TestClient, dict]) -> None:
    c, keys = app
    for cursor in (encode_cursor("incidents", "5"), encode_cursor("observations", "x1"), "%%%"):
        r = c.get(f"{OBS}?cursor={cursor}", headers=keys["analyst"])
        assert r.status_code == 400 and r.json()["field"] == "cursor", cursor
