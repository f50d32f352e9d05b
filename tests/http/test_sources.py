"""``GET /sources``: the last check's estimates per source, for analysts only."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from tests.http.conftest import ROLES, World, sample_records
from truceline.adapters.store import open_store
from truceline.services.sources import SOURCES_META


def test_analysts_see_every_source_with_its_estimates(world: World, client: TestClient) -> None:
    r = client.get("/sources", headers=world.headers("analyst"))
    assert r.status_code == 200, r.text
    body = r.json()
    ids = {s["source_id"] for s in body["sources"]}
    with_bearing = {
        o["source_id"] for o in sample_records() if o["kind"] == "fire" and "bearing_deg" in o
    }
    assert with_bearing and with_bearing <= ids
    for s in body["sources"]:
        assert s["bearings"] >= s["reports_used"] >= 0
        assert s["flagged"] is False  # one sample week: no source shares enough events
    assert body["flagged"] == 0
    only = client.get("/sources?flagged=true", headers=world.headers("analyst")).json()
    assert only == {"sources": [], "flagged": 0}


def test_no_other_role_learns_a_source_id(world: World, client: TestClient) -> None:
    ids = {o["source_id"] for o in sample_records()}
    for role in ROLES:
        if role == "analyst":
            continue
        r = client.get("/sources", headers=world.headers(role))
        assert r.status_code in (401, 403), (role, r.status_code)
        assert r.json()["code"] in ("unauthenticated", "forbidden")
        assert not any(i in r.text for i in ids), role


def test_before_any_check_it_is_404_naming_the_check(
    world: World, make_client: Callable[..., TestClient], fresh_db
) -> None:
    store = open_store(str(fresh_db))
    store.delete_meta(SOURCES_META)
    store.close()
    r = make_client().get("/sources", headers=world.headers("analyst"))
    assert r.status_code == 404
    assert "truceline check" in r.json()["message"]
